//! The offset table as Apache RocketMQ's `consumerOffset.json` (GET_ALL_CONSUMER_OFFSET and
//! exports). Queue ids are written as quoted keys (accepted by fastjson). The parser of such
//! documents is `ferromq_protocol::body::consumer_offset`.

use std::fmt::Write as _;

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
