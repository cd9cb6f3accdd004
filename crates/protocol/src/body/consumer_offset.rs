//! Apache RocketMQ's `consumerOffset.json` (the broker's offset table file, and the body of
//! GET_ALL_CONSUMER_OFFSET): the one parser the broker, the admin and the mirror share.
//!
//! Upstream keys the table by `topic@group` and writes queue ids as unquoted numbers
//! (fastjson); both quoted and unquoted keys are read.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::progress::QueueKey;

/// Why a `consumerOffset.json` document was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerOffsetError {
    /// Not such a document, or a queue id or offset that is not an integer.
    #[error("invalid consumerOffset.json {}: {reason}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_default())]
    Json {
        path: Option<PathBuf>,
        reason: String,
    },
    /// `topic@group` keys that do not split into exactly two non-empty parts (or whose names no
    /// offset table can keep).
    #[error("consumerOffset.json has {} bad topic@group key(s): {keys:?}", keys.len())]
    BadKeys { keys: Vec<String> },
}

fn json_err(path: Option<&Path>, reason: impl Into<String>) -> ConsumerOffsetError {
    ConsumerOffsetError::Json {
        path: path.map(Path::to_path_buf),
        reason: reason.into(),
    }
}

/// A group or topic name an offset table can key by: non-empty and at most 65535 bytes (the
/// split on `@` already excludes that character).
fn storable_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= u16::MAX as usize
}

/// Parses an Apache RocketMQ `consumerOffset.json` (4.x and 5.x shapes, fastjson unquoted
/// numeric keys, pretty or compact). Only `offsetTable` is read; `dataVersion`, `groupTopicMap`
/// and `lmqOffsetTable` are ignored. A document without `offsetTable` yields no entries.
/// The result is sorted by key.
///
/// # Errors
/// [`ConsumerOffsetError::Json`] for text that is not such a document, a non-integer queue id or
/// offset; [`ConsumerOffsetError::BadKeys`] listing every `topic@group` key that does not split
/// into exactly two non-empty parts.
pub fn parse(text: &[u8]) -> Result<Vec<(QueueKey, i64)>, ConsumerOffsetError> {
    parse_at(text, None)
}

/// [`parse`], with the file the text came from named in errors.
///
/// # Errors
/// As [`parse`].
pub fn parse_at(
    text: &[u8],
    path: Option<&Path>,
) -> Result<Vec<(QueueKey, i64)>, ConsumerOffsetError> {
    let v: Value = crate::json::from_slice(text).map_err(|e| json_err(path, e.to_string()))?;
    let Value::Object(doc) = v else {
        return Err(json_err(path, "document is not a JSON object"));
    };
    let table = match doc.get("offsetTable") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(json_err(path, "offsetTable is not an object")),
    };
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (key, queues) in table {
        let parts: Vec<&str> = key.split('@').collect();
        let [topic, group] = parts.as_slice() else {
            bad.push(key.clone());
            continue;
        };
        if !storable_name(topic) || !storable_name(group) {
            bad.push(key.clone());
            continue;
        }
        let queues = match queues {
            Value::Null => continue,
            Value::Object(m) => m,
            _ => return Err(json_err(path, format!("value of {key:?} is not an object"))),
        };
        for (q, off) in queues {
            let queue_id: i32 = q
                .trim()
                .parse()
                .map_err(|_| json_err(path, format!("queue id {q:?} under {key:?}")))?;
            let offset = off
                .as_i64()
                .ok_or_else(|| json_err(path, format!("offset {off} of {key:?} queue {q}")))?;
            out.push((QueueKey::new(*group, *topic, queue_id), offset));
        }
    }
    if !bad.is_empty() {
        return Err(ConsumerOffsetError::BadKeys { keys: bad });
    }
    out.sort_unstable();
    Ok(out)
}
