//! Reading fastjson's non-standard JSON.
//!
//! fastjson writes map keys that are not strings without quotes: `{0:12}` for integer keys and
//! `{{"brokerName":"b","queueId":0,"topic":"T"}:100}` for `MessageQueue` keys. [`normalize`]
//! rewrites such text into standard JSON: numeric and bare keys are quoted, and object keys become
//! their compact JSON text as a string key (parse it again with [`parse_object_key`]).
//! [`from_slice`] tries standard JSON first and normalises only when that fails.
//!
//! Cost is linear in the input: every byte is read once, and an object key's text is escaped
//! once. Object keys may not themselves contain object keys (fastjson never writes that, and
//! each such level would escape the level inside it again, doubling the text per level).

use serde::de::DeserializeOwned;

/// Nesting limit, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Error from [`normalize`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed JSON at byte {pos}: {what}")]
pub struct NormalizeError {
    pub pos: usize,
    pub what: &'static str,
}

/// Deserialises standard or fastjson-flavoured JSON.
///
/// # Errors
/// The serde error of the normalised text, or of the original when it cannot be normalised.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) => match normalize(bytes) {
            Ok(text) => serde_json::from_str(&text),
            Err(_) => Err(first),
        },
    }
}

/// Parses a key produced by [`normalize`] from an object key back into a value.
///
/// # Errors
/// When the key is not JSON of the requested shape.
pub fn parse_object_key<T: DeserializeOwned>(key: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(key)
}

/// Rewrites fastjson output into standard JSON.
///
/// # Errors
/// [`NormalizeError`] for text that is not JSON even with fastjson's liberties.
pub fn normalize(input: &[u8]) -> Result<String, NormalizeError> {
    let mut p = Parser {
        s: input,
        i: 0,
        in_key: false,
    };
    let mut out = String::with_capacity(input.len() + 16);
    p.ws();
    p.value(&mut out, 0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Inside an object-valued key: another one there is refused.
    in_key: bool,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> NormalizeError {
        NormalizeError { pos: self.i, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, out: &mut String, depth: usize) -> Result<(), NormalizeError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => self.object(out, depth),
            Some(b'[') => self.array(out, depth),
            Some(b'"') => self.string(out),
            Some(_) => {
                let tok = self.bare_token()?;
                out.push_str(tok);
                Ok(())
            }
            None => Err(self.err("unexpected end")),
        }
    }

    fn bare_token(&mut self) -> Result<&str, NormalizeError> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(
                c,
                b',' | b':' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'[' | b'"'
            ) {
                break;
            }
            self.i += 1;
        }
        if start == self.i {
            return Err(self.err("expected a value"));
        }
        std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid UTF-8"))
    }

    fn string(&mut self, out: &mut String) -> Result<(), NormalizeError> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'\\') => self.i += 2,
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(_) => self.i += 1,
            }
        }
        if self.i > self.s.len() {
            return Err(self.err("unterminated string"));
        }
        let text =
            std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid UTF-8"))?;
        out.push_str(text);
        Ok(())
    }

    fn array(&mut self, out: &mut String, depth: usize) -> Result<(), NormalizeError> {
        self.i += 1;
        out.push('[');
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            out.push(']');
            return Ok(());
        }
        loop {
            self.ws();
            self.value(out, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    out.push(',');
                }
                Some(b']') => {
                    self.i += 1;
                    out.push(']');
                    return Ok(());
                }
                _ => return Err(self.err("expected , or ]")),
            }
        }
    }

    fn object(&mut self, out: &mut String, depth: usize) -> Result<(), NormalizeError> {
        self.i += 1;
        out.push('{');
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            out.push('}');
            return Ok(());
        }
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => self.string(out)?,
                Some(b'{') | Some(b'[') => {
                    // An object-valued key: normalise it, then write its text as a string key.
                    if self.in_key {
                        return Err(self.err("object key inside an object key"));
                    }
                    let mut key = String::new();
                    self.in_key = true;
                    let parsed = self.value(&mut key, depth + 1);
                    self.in_key = false;
                    parsed?;
                    let compact: serde_json::Value =
                        serde_json::from_str(&key).map_err(|_| self.err("bad object key"))?;
                    let quoted = serde_json::to_string(&compact.to_string())
                        .map_err(|_| self.err("bad object key"))?;
                    out.push_str(&quoted);
                }
                Some(_) => {
                    let tok = self.bare_token()?;
                    out.push('"');
                    out.push_str(tok);
                    out.push('"');
                }
                None => return Err(self.err("unexpected end in object")),
            }
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected :"));
            }
            self.i += 1;
            out.push(':');
            self.ws();
            self.value(out, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    out.push(',');
                }
                Some(b'}') => {
                    self.i += 1;
                    out.push('}');
                    return Ok(());
                }
                _ => return Err(self.err("expected , or }")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    #[test]
    fn quotes_numeric_keys() {
        let text = normalize(br#"{"offsetTable":{"T@g":{0:12,1:34}}}"#).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["offsetTable"]["T@g"]["1"], 34);
    }

    #[test]
    fn object_keys_become_string_keys() {
        let raw = br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:100}}"#;
        let v: Value = from_slice(raw).unwrap();
        let (key, val) = v["offsetTable"].as_object().unwrap().iter().next().unwrap();
        let mq: Value = parse_object_key(key).unwrap();
        assert_eq!(mq["queueId"], 0);
        assert_eq!(*val, 100);
    }

    #[test]
    fn pretty_printed_with_tabs() {
        let raw = b"{\n\t\"offsetTable\":{\n\t\t\"T@g\":{0:1\n\t\t}\n\t}\n}";
        let v: Value = from_slice(raw).unwrap();
        assert_eq!(v["offsetTable"]["T@g"]["0"], 1);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(normalize(b"{").is_err());
        assert!(normalize(b"{\"a\" 1}").is_err());
        assert!(normalize(b"\"abc").is_err());
        assert!(normalize(&[b'['; 1000]).is_err());
    }

    #[test]
    fn nested_object_keys_are_refused_in_linear_time() {
        // The 141-byte header that used to double its escaping per level (2^28 bytes at depth
        // 28): now refused at the second level.
        let mut text = String::from("1");
        for _ in 0..28 {
            text = format!("{{{{\"a\":{text}}}:1}}");
        }
        let started = std::time::Instant::now();
        let e = normalize(text.as_bytes()).unwrap_err();
        assert_eq!(e.what, "object key inside an object key");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // One level, as fastjson writes MessageQueue keys, still works.
        let v: Value = from_slice(br#"{{"topic":"T","queueId":1}:5}"#).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
    }

    #[test]
    fn output_is_linear_in_the_input() {
        // Many sibling object keys: each is escaped once.
        let one = r#"{"brokerName":"b\"q","queueId":0,"topic":"T"}:1"#;
        let input = format!("{{{}}}", vec![one; 10_000].join(","));
        let out = normalize(input.as_bytes()).unwrap();
        assert!(
            out.len() <= 2 * input.len() + 64,
            "{} -> {}",
            input.len(),
            out.len()
        );
    }

    proptest! {
        #[test]
        fn output_is_bounded(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(out) = normalize(&data) {
                prop_assert!(out.len() <= 4 * data.len() + 64);
            }
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = normalize(&data);
        }
    }
}
