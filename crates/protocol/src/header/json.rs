//! JSON header (serialize type 0), as written by fastjson, ali-ons and the C++ client.
//!
//! Decoding is tolerant: `extFields` values may be numbers or booleans (ali-ons), numeric
//! fields may be strings, `language` may be a name or a number, and unknown keys are ignored.

use std::collections::HashMap;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use crate::error::ProtocolError;

/// Decodes a JSON header into a command with an empty body.
///
/// Parsing goes straight into the command's fields (no intermediate JSON tree): this runs for
/// every request and response.
///
/// # Errors
/// [`ProtocolError::BadJsonHeader`] when the bytes are not a JSON object or `code` is missing.
pub fn decode(bytes: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    // serde would also accept an array for a struct (positionally); a header is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ProtocolError::BadJsonHeader(
            "header is not a JSON object".into(),
        ));
    }
    let raw: RawHeader = match serde_json::from_slice(bytes) {
        Ok(h) => h,
        Err(first) => {
            // fastjson-flavoured text (unquoted keys): normalise and retry once.
            let text = crate::json::normalize(bytes)
                .map_err(|_| ProtocolError::BadJsonHeader(first.to_string()))?;
            serde_json::from_str(&text).map_err(|e| ProtocolError::BadJsonHeader(e.to_string()))?
        }
    };
    let code = raw
        .code
        .and_then(Scalar::into_i64)
        .ok_or_else(|| ProtocolError::BadJsonHeader("missing code".into()))?;
    let language = match raw.language {
        Some(Scalar::Str(s)) => LanguageCode::from_name(&s),
        Some(Scalar::Int(n)) => LanguageCode(n.clamp(0, 255) as u8),
        _ => LanguageCode::OTHER,
    };
    let int = |v: Option<Scalar>| v.and_then(Scalar::into_i64).map(clamp_i32).unwrap_or(0);
    Ok(RemotingCommand {
        code: clamp_i32(code),
        language,
        version: int(raw.version),
        opaque: int(raw.opaque),
        flag: int(raw.flag),
        remark: raw.remark.and_then(Scalar::into_string),
        ext_fields: raw.ext_fields.0,
        serialize_type: SerializeType::Json,
        body: bytes::Bytes::new(),
    })
}

/// The header as sent: every field optional, every scalar in any JSON type.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHeader {
    #[serde(default)]
    code: Option<Scalar>,
    #[serde(default)]
    language: Option<Scalar>,
    #[serde(default)]
    version: Option<Scalar>,
    #[serde(default)]
    opaque: Option<Scalar>,
    #[serde(default)]
    flag: Option<Scalar>,
    #[serde(default)]
    remark: Option<Scalar>,
    #[serde(default)]
    ext_fields: ExtMap,
}

/// A JSON scalar of any type; objects and arrays are kept as their JSON text.
enum Scalar {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
}

impl Scalar {
    fn into_i64(self) -> Option<i64> {
        match self {
            Scalar::Int(n) => Some(n),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(f as i64),
            Scalar::Str(s) => crate::command::parse_long(&s),
            _ => None,
        }
    }

    fn into_string(self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some(s),
            Scalar::Int(n) => Some(n.to_string()),
            Scalar::Float(f) => Some(f.to_string()),
            Scalar::Bool(b) => Some(b.to_string()),
            Scalar::Null => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v)
            .map(Scalar::Int)
            .unwrap_or(Scalar::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        let v = serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        let v = serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(Scalar::Str(v.to_string()))
    }
}

/// `extFields`: every value turned into a string, nulls dropped.
#[derive(Default)]
struct ExtMap(ExtFields);

impl<'de> Deserialize<'de> for ExtMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_unit<E>(self) -> Result<ExtMap, E> {
                Ok(ExtMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtMap, A::Error> {
                let mut out = ExtFields::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    if let Some(v) = v.into_string() {
                        out.insert(k, v);
                    }
                }
                Ok(ExtMap(out))
            }
        }
        d.deserialize_any(V)
    }
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
        assert!(
            text.contains(r#""serializeTypeCurrentRPC":"JSON""#),
            "{text}"
        );
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
