//! JSON header (serialize type 0), as written by fastjson, ali-ons and the C++ client.
//!
//! Decoding is tolerant: `extFields` values may be numbers or booleans (ali-ons), numeric
//! fields may be strings, `language` may be a name or a number, and unknown keys are ignored.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use crate::error::ProtocolError;

/// Decodes a JSON header into a command with an empty body.
///
/// # Errors
/// [`ProtocolError::BadJsonHeader`] when the bytes are not a JSON object or `code` is missing.
pub fn decode(bytes: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let value: Value = crate::json::from_slice(bytes)
        .map_err(|e| ProtocolError::BadJsonHeader(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(ProtocolError::BadJsonHeader("header is not a JSON object".into()));
    };
    let int = |key: &str| -> Option<i64> {
        match map.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => crate::command::parse_long(s),
            _ => None,
        }
    };
    let code = int("code").ok_or_else(|| ProtocolError::BadJsonHeader("missing code".into()))?;
    let language = match map.get("language") {
        Some(Value::String(s)) => LanguageCode::from_name(s),
        Some(Value::Number(n)) => LanguageCode(n.as_u64().unwrap_or(7).min(255) as u8),
        _ => LanguageCode::OTHER,
    };
    let remark = match map.get("remark") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let mut ext_fields = ExtFields::new();
    if let Some(Value::Object(ext)) = map.get("extFields") {
        for (k, v) in ext {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            ext_fields.insert(k.clone(), s);
        }
    }
    Ok(RemotingCommand {
        code: clamp_i32(code),
        language,
        version: int("version").map(clamp_i32).unwrap_or(0),
        opaque: int("opaque").map(clamp_i32).unwrap_or(0),
        flag: int("flag").map(clamp_i32).unwrap_or(0),
        remark,
        ext_fields,
        serialize_type: SerializeType::Json,
        body: bytes::Bytes::new(),
    })
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeader<'a> {
    code: i32,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    serialize_type_current_r_p_c: &'static str,
    version: i32,
}

/// Appends the JSON header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let header = JsonHeader {
        code: cmd.code,
        ext_fields: &cmd.ext_fields,
        flag: cmd.flag,
        language: cmd.language.name(),
        opaque: cmd.opaque,
        remark: cmd.remark.as_deref(),
        serialize_type_current_r_p_c: "JSON",
        version: cmd.version,
    };
    // Serialising plain strings and integers into a Vec cannot fail.
    serde_json::to_writer(out, &header).expect("JSON header serialisation is infallible");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_ali_ons_numbers_and_booleans() {
        let raw = br#"{"code":15,"language":"JAVA","version":121,"opaque":5,"flag":0,
            "extFields":{"queueId":0,"commitOffset":12,"unitMode":false,"topic":"T","x":null}}"#;
        let cmd = decode(raw).unwrap();
        assert_eq!(cmd.code, 15);
        assert_eq!(cmd.ext("queueId"), Some("0"));
        assert_eq!(cmd.ext("commitOffset"), Some("12"));
        assert_eq!(cmd.ext("unitMode"), Some("false"));
        assert_eq!(cmd.ext("x"), None);
    }

    #[test]
    fn encodes_upstream_key_names() {
        let cmd = RemotingCommand::success().with_ext("offset", 5);
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""serializeTypeCurrentRPC":"JSON""#), "{text}");
        assert!(text.contains(r#""extFields":{"offset":"5"}"#), "{text}");
        let back = decode(text.as_bytes()).unwrap();
        assert_eq!(back.ext("offset"), Some("5"));
        assert!(back.is_response());
    }

    #[test]
    fn rejects_non_objects_and_missing_code() {
        assert!(decode(b"[1,2]").is_err());
        assert!(decode(b"{\"flag\":0}").is_err());
        assert!(decode(b"\xff\xfe").is_err());
    }
}
