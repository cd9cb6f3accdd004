//! [`RemotingCommand`]: one request or response, and typed access to its `extFields`.

use std::collections::HashMap;

use bytes::Bytes;

use crate::error::HeaderError;

/// How the header of a frame is encoded (the top byte of the header-length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    #[default]
    Json = 0,
    RocketMq = 1,
}

/// The sender's language (`LanguageCode`). Kept as the raw byte so unknown values survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode(pub u8);

const LANGUAGE_NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    pub const JAVA: Self = Self(0);
    pub const CPP: Self = Self(1);
    pub const OTHER: Self = Self(7);
    pub const RUST: Self = Self(12);

    /// The enum name as Java writes it in a JSON header.
    pub fn name(self) -> &'static str {
        LANGUAGE_NAMES
            .get(self.0 as usize)
            .copied()
            .unwrap_or("OTHER")
    }

    /// Parses a JSON header's language name; unknown names map to `OTHER`.
    pub fn from_name(name: &str) -> Self {
        LANGUAGE_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| Self(i as u8))
            .unwrap_or(Self::OTHER)
    }
}

/// `extFields`: the flattened custom header. All values are strings on the wire.
pub type ExtFields = HashMap<String, String>;

/// Flag bit 0: this frame is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: this request expects no response.
pub const FLAG_ONEWAY: i32 = 2;

/// One Remoting request or response.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub serialize_type: SerializeType,
    pub body: Bytes,
}

/// The version ferromq announces: ordinal of upstream's `V5_3_3`, so peers take 5.x code paths.
pub const FERROMQ_VERSION: i32 = 479;

impl RemotingCommand {
    /// A new request with the given code. The opaque is assigned by the sender.
    pub fn request(code: i32) -> Self {
        Self {
            code,
            // Upstream recommends JAVA when talking to Java peers: fastjson maps unknown names to null.
            language: LanguageCode::JAVA,
            version: FERROMQ_VERSION,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            serialize_type: SerializeType::Json,
            body: Bytes::new(),
        }
    }

    /// A response with `code` and an optional remark; [`Self::answer`] ties it to a request.
    pub fn response(code: i32, remark: impl Into<Option<String>>) -> Self {
        let mut cmd = Self::request(code);
        cmd.flag = FLAG_RESPONSE;
        cmd.remark = remark.into();
        cmd
    }

    /// A SUCCESS response with no remark.
    pub fn success() -> Self {
        Self::response(crate::codes::response::SUCCESS, None)
    }

    /// An error response with a remark.
    pub fn error(code: i32, remark: impl Into<String>) -> Self {
        Self::response(code, Some(remark.into()))
    }

    /// Makes this response answer `req`: echo its opaque, use its header encoding.
    pub fn answer(mut self, req: &RemotingCommand) -> Self {
        self.opaque = req.opaque;
        self.flag |= FLAG_RESPONSE;
        self.serialize_type = req.serialize_type;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn mark_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Adds one `extFields` entry (builder style).
    pub fn with_ext(mut self, key: &str, value: impl ToString) -> Self {
        self.ext_fields.insert(key.to_string(), value.to_string());
        self
    }

    /// Adds one `extFields` entry.
    pub fn put_ext(&mut self, key: &str, value: impl ToString) {
        self.ext_fields.insert(key.to_string(), value.to_string());
    }

    /// The raw value of an `extFields` key, if present. Empty strings count as absent,
    /// as the binary header encodes them as null.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required string field.
    ///
    /// # Errors
    /// [`HeaderError::Missing`] when the key is absent or empty.
    pub fn req_str(&self, key: &'static str) -> Result<&str, HeaderError> {
        self.ext(key).ok_or(HeaderError::Missing(key))
    }

    /// A required integer field.
    ///
    /// # Errors
    /// Missing, or not an integer of this width.
    pub fn req_i32(&self, key: &'static str) -> Result<i32, HeaderError> {
        self.opt_i32(key)?.ok_or(HeaderError::Missing(key))
    }

    /// A required long field.
    ///
    /// # Errors
    /// Missing, or not an integer.
    pub fn req_i64(&self, key: &'static str) -> Result<i64, HeaderError> {
        self.opt_i64(key)?.ok_or(HeaderError::Missing(key))
    }

    /// An optional integer field.
    ///
    /// # Errors
    /// Present but not an integer of this width.
    pub fn opt_i32(&self, key: &'static str) -> Result<Option<i32>, HeaderError> {
        self.opt_i64(key)?
            .map(|v| {
                i32::try_from(v).map_err(|_| HeaderError::Invalid {
                    field: key,
                    value: v.to_string(),
                })
            })
            .transpose()
    }

    /// An optional long field. Accepts `"12"`, `" 12 "` and `"12.0"` (a number written by a
    /// JSON encoder that only has doubles).
    ///
    /// # Errors
    /// Present but not an integer.
    pub fn opt_i64(&self, key: &'static str) -> Result<Option<i64>, HeaderError> {
        let Some(raw) = self.ext(key) else {
            return Ok(None);
        };
        parse_long(raw)
            .map(Some)
            .ok_or_else(|| HeaderError::Invalid {
                field: key,
                value: raw.chars().take(64).collect(),
            })
    }

    /// An optional boolean field: `true`/`false` in any case, `1`/`0`.
    ///
    /// # Errors
    /// Present but not a boolean.
    pub fn opt_bool(&self, key: &'static str) -> Result<Option<bool>, HeaderError> {
        let Some(raw) = self.ext(key) else {
            return Ok(None);
        };
        parse_bool(raw)
            .map(Some)
            .ok_or_else(|| HeaderError::Invalid {
                field: key,
                value: raw.chars().take(64).collect(),
            })
    }
}

/// Parses an integer the way real clients write them.
pub fn parse_long(raw: &str) -> Option<i64> {
    let t = raw.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    // "12.0" from encoders that only know doubles; refuse fractions.
    let f = t.parse::<f64>().ok()?;
    (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}

/// Parses a boolean the way real clients write them (`"true"`, `"0"`, `"1"`).
pub fn parse_bool(raw: &str) -> Option<bool> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_fields_tolerate_client_dialects() {
        let cmd = RemotingCommand::request(14)
            .with_ext("queueId", "3")
            .with_ext("n", "12.0")
            .with_ext("unitMode", "0")
            .with_ext("batch", "TRUE")
            .with_ext("empty", "");
        assert_eq!(cmd.req_i32("queueId"), Ok(3));
        assert_eq!(cmd.req_i64("n"), Ok(12));
        assert_eq!(cmd.opt_bool("unitMode"), Ok(Some(false)));
        assert_eq!(cmd.opt_bool("batch"), Ok(Some(true)));
        assert_eq!(cmd.req_str("empty"), Err(HeaderError::Missing("empty")));
        assert!(matches!(
            cmd.opt_bool("queueId"),
            Err(HeaderError::Invalid { .. })
        ));
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        let cmd = RemotingCommand::request(14)
            .with_ext("queueId", "abc")
            .with_ext("big", "99999999999");
        assert!(matches!(
            cmd.req_i32("queueId"),
            Err(HeaderError::Invalid { .. })
        ));
        assert!(matches!(
            cmd.req_i32("big"),
            Err(HeaderError::Invalid { .. })
        ));
        assert_eq!(cmd.req_i64("big"), Ok(99_999_999_999));
        assert_eq!(cmd.req_i64("absent"), Err(HeaderError::Missing("absent")));
    }

    #[test]
    fn answer_echoes_opaque_and_encoding() {
        let mut req = RemotingCommand::request(10);
        req.opaque = 77;
        req.serialize_type = SerializeType::RocketMq;
        let resp = RemotingCommand::success().answer(&req);
        assert_eq!(resp.opaque, 77);
        assert!(resp.is_response());
        assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    }
}
