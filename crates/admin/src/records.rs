//! The portable export format of offsets (JSON or CSV). The bodies of ferromq's codes are the
//! protocol crate's (`ferromq_protocol::body::progress`).

use std::path::Path;

use ferromq_protocol::body::progress::OffsetRecord;
use serde::{Deserialize, Serialize};

use crate::AdminError;

/// One offset, as exported and imported. `store_time_ms` is the store time of the message at
/// `offset`; `broker_name` says which broker's queue it is (queue ids are per broker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub group: String,
    pub topic: String,
    #[serde(alias = "queue", alias = "queue_id")]
    pub queue_id: i32,
    pub offset: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "store_time_ms"
    )]
    pub store_time_ms: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "broker",
        alias = "broker_name"
    )]
    pub broker_name: Option<String>,
}

/// The export document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportFile {
    pub format: String,
    pub version: u32,
    pub exported_at_ms: i64,
    pub records: Vec<Record>,
}

pub const EXPORT_FORMAT: &str = "ferromq-offsets";

impl Record {
    /// A record as the broker reads it (the broker name only routes it).
    pub fn into_wire(self) -> OffsetRecord {
        OffsetRecord {
            group: self.group,
            topic: self.topic,
            queue_id: self.queue_id,
            offset: self.offset,
            store_time_ms: self.store_time_ms,
        }
    }

    /// A record the broker exported, from broker `broker`.
    pub fn from_wire(r: OffsetRecord, broker: &str) -> Self {
        Record {
            group: r.group,
            topic: r.topic,
            queue_id: r.queue_id,
            offset: r.offset,
            store_time_ms: r.store_time_ms,
            broker_name: Some(broker.to_string()),
        }
    }
}

pub fn to_csv(records: &[Record]) -> String {
    let mut s = String::from("group,topic,queue,offset,storeTimeMs,broker\n");
    for r in records {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.group,
            r.topic,
            r.queue_id,
            r.offset,
            r.store_time_ms.map(|t| t.to_string()).unwrap_or_default(),
            r.broker_name.clone().unwrap_or_default()
        ));
    }
    s
}

/// Parses CSV: `group,topic,queue,offset[,storeTimeMs][,broker]`, with an optional header line
/// naming the columns (any order). Errors name the line.
pub fn parse_csv(text: &str, file: &str) -> Result<Vec<Record>, AdminError> {
    let mut cols: Vec<String> = ["group", "topic", "queue", "offset", "broker"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut out = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad =
            |why: String| AdminError::Usage(format!("{file}: line {line_no}: {why} in '{line}'"));
        if !header_seen
            && out.is_empty()
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("group"))
        {
            cols = cells.iter().map(|c| c.to_ascii_lowercase()).collect();
            for need in ["group", "topic", "offset"] {
                if !cols.iter().any(|c| c == need) {
                    return Err(bad(format!("the header has no column '{need}'")));
                }
            }
            header_seen = true;
            continue;
        }
        if cells.len() < 4 || cells.len() > cols.len().max(4) {
            return Err(bad(format!(
                "expected {} columns ({}), found {}",
                cols.len(),
                cols.join(","),
                cells.len()
            )));
        }
        let mut rec = Record {
            group: String::new(),
            topic: String::new(),
            queue_id: -1,
            offset: -1,
            store_time_ms: None,
            broker_name: None,
        };
        for (c, v) in cols.iter().zip(cells.iter()) {
            match c.as_str() {
                "group" => rec.group = v.to_string(),
                "topic" => rec.topic = v.to_string(),
                "queue" | "queueid" | "queue_id" | "partition" => {
                    rec.queue_id = v
                        .parse()
                        .ok()
                        .filter(|q: &i32| *q >= 0)
                        .ok_or_else(|| bad(format!("bad queue id '{v}'")))?
                }
                "offset" => {
                    rec.offset = v
                        .parse()
                        .ok()
                        .filter(|o: &i64| *o >= 0)
                        .ok_or_else(|| bad(format!("bad offset '{v}'")))?
                }
                "storetimems" | "store_time_ms" if !v.is_empty() => {
                    rec.store_time_ms = Some(
                        v.parse()
                            .map_err(|_| bad(format!("bad store time '{v}'")))?,
                    )
                }
                "broker" | "brokername" | "broker_name" if !v.is_empty() => {
                    rec.broker_name = Some(v.to_string())
                }
                _ => {}
            }
        }
        if rec.group.is_empty() || rec.topic.is_empty() {
            return Err(bad("empty group or topic".into()));
        }
        if rec.queue_id < 0 {
            return Err(bad("no queue id".into()));
        }
        out.push(rec);
    }
    Ok(out)
}

/// Reads a CSV file or a JSON export (`{"records":[…]}` or `[…]`).
pub fn read_records(path: &Path) -> Result<Vec<Record>, AdminError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", path.display())))?;
    parse_records(&text, path)
}

/// Records from the text of a JSON export or CSV file (`path` names it in errors).
///
/// # Errors
/// [`AdminError::Usage`] naming the record or line that cannot be read.
pub fn parse_records(text: &str, path: &Path) -> Result<Vec<Record>, AdminError> {
    let name = path.display().to_string();
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(t).map_err(|e| {
            AdminError::Usage(format!("{name}: not valid JSON (line {}): {e}", e.line()))
        })?;
        let arr = match &v {
            serde_json::Value::Array(a) => a.clone(),
            serde_json::Value::Object(o) => match o.get("records") {
                Some(serde_json::Value::Array(a)) => a.clone(),
                _ => return Err(AdminError::Usage(format!("{name}: no \"records\" array"))),
            },
            _ => {
                return Err(AdminError::Usage(format!(
                    "{name}: neither an array nor an object"
                )))
            }
        };
        arr.into_iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::from_value::<Record>(r)
                    .map_err(|e| AdminError::Usage(format!("{name}: record {} : {e}", i + 1)))
            })
            .collect()
    } else {
        parse_csv(text, &name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_and_bad_rows() {
        let recs = vec![Record {
            group: "g".into(),
            topic: "T".into(),
            queue_id: 1,
            offset: 5,
            store_time_ms: Some(7),
            broker_name: Some("broker-a".into()),
        }];
        assert_eq!(parse_csv(&to_csv(&recs), "x").unwrap(), recs);
        let plain = parse_csv("g,T,0,10\ng,T,1,11\n", "x").unwrap();
        assert_eq!(plain.len(), 2);
        assert_eq!(plain[1].offset, 11);
        let e = parse_csv("group,topic,queue,offset\ng,T,0,1\ng,T,zero,1\n", "f.csv").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = parse_csv("g,T,0\n", "f.csv").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
