//! Small bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de;
use super::mq::MessageQueue;

/// GET_CONSUMER_LIST_BY_GROUP response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListBody {
    #[serde(deserialize_with = "de::strings_lenient")]
    pub consumer_id_list: Vec<String>,
}

/// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchBody {
    #[serde(deserialize_with = "de::string_lenient")]
    pub consumer_group: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub client_id: String,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub only_this_broker: bool,
    pub mq_set: Vec<MessageQueue>,
}

/// LOCK_BATCH_MQ response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponse {
    pub lock_o_k_m_q_set: Vec<MessageQueue>,
}

/// `KVTable`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

/// `TopicList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    pub topic_list: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
}

/// `Connection`: one client connection, as GET_CONSUMER_CONNECTION_LIST and
/// GET_PRODUCER_CONNECTION_LIST list them. `language` is a `LanguageCode` name (`JAVA`, `CPP`…),
/// `version` the client's protocol version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientConnection {
    #[serde(deserialize_with = "de::string_lenient")]
    pub client_addr: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub client_id: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub language: String,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub version: i32,
}

/// `ProducerConnection`: GET_PRODUCER_CONNECTION_LIST response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<ClientConnection>,
}

/// Java `Properties` text (GET_BROKER_CONFIG response and UPDATE_BROKER_CONFIG request bodies):
/// one `key=value` line per entry, with the escapes `Properties.load` undoes (non-ASCII as
/// `\uXXXX`), so any key or value reads back unchanged.
///
/// Written here rather than with the `java-properties` crate: its writer emits `\u` escapes
/// without zero padding and as code points rather than UTF-16 units (`🚀` becomes `\u1f680`,
/// which Java reads as `\u1f68` + `0`), so values outside Latin-1 would not survive.
pub fn encode_properties_text<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in entries {
        escape_properties(k, true, &mut out);
        out.push('=');
        escape_properties(v, false, &mut out);
        out.push('\n');
    }
    out
}

fn escape_properties(s: &str, key: bool, out: &mut String) {
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if key || i == 0 => out.push_str("\\ "),
            '=' | ':' if key => {
                out.push('\\');
                out.push(c);
            }
            '#' | '!' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            // `Properties.load(InputStream)` reads ISO 8859-1: anything outside printable ASCII
            // travels as `\uXXXX` (UTF-16 code units).
            c if !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            _ => out.push(c),
        }
    }
}

/// Parses Java `Properties` text as `Properties.load` does: comment lines (`#`, `!`), `=`,
/// `:` or white space between key and value, backslash escapes (`\uXXXX` included) and lines
/// continued with a trailing backslash. Entries come in order; a later duplicate key wins
/// when the caller collects them into a map.
pub fn parse_properties_text(text: &str) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut logical = String::new();
    let mut continued = false;
    for raw in text.lines() {
        let line = raw.trim_start_matches([' ', '\t', '\u{c}']);
        if !continued {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            logical.clear();
        }
        // A line ends in a continuation when it ends in an odd number of backslashes.
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continued = true;
            continue;
        }
        logical.push_str(line);
        continued = false;
        entries.push(split_properties_line(&logical));
    }
    if continued && !logical.is_empty() {
        entries.push(split_properties_line(&logical));
    }
    entries
}

/// Splits one logical line into its unescaped key and value.
fn split_properties_line(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut key_end = chars.len();
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' | '\u{c}' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key_end = key_end.min(chars.len());
    let mut j = key_end;
    while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\u{c}') {
        j += 1;
    }
    if j < chars.len() && matches!(chars[j], '=' | ':') {
        j += 1;
        while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\u{c}') {
            j += 1;
        }
    }
    (
        unescape_properties(&chars[..key_end]),
        unescape_properties(&chars[j..]),
    )
}

fn unescape_properties(chars: &[char]) -> String {
    // Built as UTF-16 so that `\uD83D\uDE80` (a surrogate pair) becomes one character.
    let mut out: Vec<u16> = Vec::with_capacity(chars.len());
    fn push(out: &mut Vec<u16>, c: char) {
        let mut units = [0u16; 2];
        out.extend_from_slice(c.encode_utf16(&mut units));
    }
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            push(&mut out, c);
            continue;
        }
        let Some(&e) = chars.get(i) else { break };
        i += 1;
        match e {
            'n' => push(&mut out, '\n'),
            'r' => push(&mut out, '\r'),
            't' => push(&mut out, '\t'),
            'f' => push(&mut out, '\u{c}'),
            'u' => {
                let hex: String = chars[i..chars.len().min(i + 4)].iter().collect();
                let digits = hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit());
                match u16::from_str_radix(&hex, 16) {
                    Ok(unit) if digits => {
                        out.push(unit);
                        i += 4;
                    }
                    _ => push(&mut out, 'u'),
                }
            }
            other => push(&mut out, other),
        }
    }
    String::from_utf16_lossy(&out)
}

#[cfg(test)]
mod properties_tests {
    use super::*;

    #[test]
    fn properties_text_round_trips() {
        let entries = [
            ("brokerName", "broker-a"),
            ("storePathRootDir", "C:\\data\\ferromq"),
            ("a key=with:specials", " leading space, #not a comment"),
            ("#hash", "!bang"),
            ("empty", ""),
            ("multi", "line one\nline two"),
            ("unicode", "café 🚀"),
        ];
        let text = encode_properties_text(entries.iter().copied());
        let back = parse_properties_text(&text);
        let want: Vec<(String, String)> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(back, want);
    }

    #[test]
    fn java_properties_dialect_is_read() {
        let text = "# comment\n! also a comment\n\n  key1 = v1\nkey2:v2\nkey3 v3\n\
                    key4=a\\\n    b\nkey5=\\u0041\\u00e9\nkey6\n";
        let got = parse_properties_text(text);
        let want = [
            ("key1", "v1"),
            ("key2", "v2"),
            ("key3", "v3"),
            ("key4", "ab"),
            ("key5", "Aé"),
            ("key6", ""),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
    }
}
