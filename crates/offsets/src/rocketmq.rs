//! Apache RocketMQ `consumerOffset.json`: export and import.
//!
//! Upstream keys the table by `topic@group` and writes queue ids as unquoted numbers (fastjson);
//! we read both quoted and unquoted keys and write quoted ones (accepted by fastjson).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::OffsetError;
use crate::key::{validate_name, QueueKey};
use crate::table::Table;

fn push_json_str(out: &mut String, s: &str) {
    // Serialising a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// `{"dataVersion":{...},"offsetTable":{"topic@group":{"0":12,...},...}}`, keys sorted.
pub(crate) fn to_json(t: &Table) -> String {
    let mut rows: Vec<(String, &[(i32, i64)])> = Vec::new();
    t.for_each(|g, topic, qs| rows.push((format!("{topic}@{g}"), qs)));
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(64 + t.entry_count() * 16);
    let _ = write!(
        out,
        "{{\"dataVersion\":{{\"counter\":{},\"stateVersion\":0,\"timestamp\":{}}},\"offsetTable\":{{",
        t.counter, t.timestamp_ms
    );
    for (i, (k, qs)) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(&mut out, k);
        out.push_str(":{");
        for (j, (q, o)) in qs.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{q}\":{o}");
        }
        out.push('}');
    }
    out.push_str("}}");
    out
}

fn json_err(path: Option<&Path>, reason: impl Into<String>) -> OffsetError {
    OffsetError::RocketmqJson {
        path: path.map(Path::to_path_buf),
        reason: reason.into(),
    }
}

/// Parses an Apache RocketMQ `consumerOffset.json` (4.x and 5.x shapes, fastjson unquoted
/// numeric keys, pretty or compact). Only `offsetTable` is read; `dataVersion`, `groupTopicMap`
/// and `lmqOffsetTable` are ignored. A document without `offsetTable` yields no entries.
/// The result is sorted by key.
///
/// # Errors
/// [`OffsetError::RocketmqJson`] for text that is not such a document, a non-integer queue id or
/// offset; [`OffsetError::BadRocketmqKeys`] listing every `topic@group` key that does not split
/// into exactly two non-empty parts.
pub fn parse_rocketmq_offsets(text: &[u8]) -> Result<Vec<(QueueKey, i64)>, OffsetError> {
    parse_inner(text, None)
}

fn parse_inner(text: &[u8], path: Option<&Path>) -> Result<Vec<(QueueKey, i64)>, OffsetError> {
    let v: Value =
        ferromq_protocol::json::from_slice(text).map_err(|e| json_err(path, e.to_string()))?;
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
        if validate_name("topic", topic).is_err() || validate_name("group", group).is_err() {
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
        return Err(OffsetError::BadRocketmqKeys { keys: bad });
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads a `consumerOffset.json`, falling back to `<path>.bak` when the main file is missing,
/// empty or unparsable (upstream's `ConfigManager.load` rule). Returns the entries and the file
/// actually used.
///
/// Stricter than upstream where upstream would silently start empty: if the main file is
/// unparsable and no usable `.bak` exists, the main file's error is returned; if neither file
/// exists, the `NotFound` error of the main file. An empty main file without a backup is an
/// empty table.
///
/// # Errors
/// As described above, plus [`OffsetError::BadRocketmqKeys`] from the file used.
pub fn load_rocketmq_offsets_file(
    path: &Path,
) -> Result<(Vec<(QueueKey, i64)>, PathBuf), OffsetError> {
    let mut bak = path.as_os_str().to_owned();
    bak.push(".bak");
    let bak = PathBuf::from(bak);

    let main_err = match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => None,
        Ok(b) => match parse_inner(&b, Some(path)) {
            Ok(v) => return Ok((v, path.to_path_buf())),
            Err(e @ OffsetError::BadRocketmqKeys { .. }) => return Err(e),
            Err(e) => Some(e),
        },
        Err(e) => Some(OffsetError::io("read", path, e)),
    };
    match std::fs::read(&bak) {
        Ok(b) if !b.iter().all(u8::is_ascii_whitespace) => {
            tracing::warn!(path = %path.display(), "consumerOffset.json unusable, loading .bak");
            let v = parse_inner(&b, Some(&bak))?;
            Ok((v, bak))
        }
        _ => match main_err {
            None => Ok((Vec::new(), path.to_path_buf())),
            Some(e) => Err(e),
        },
    }
}
