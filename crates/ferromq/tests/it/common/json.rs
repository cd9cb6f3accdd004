//! Helpers for the JSON lines the client scripts print.

use serde_json::Value;

/// The lines whose `"event"` is `event`.
pub fn events(lines: &[Value], event: &str) -> Vec<Value> {
    lines
        .iter()
        .filter(|v| v.get("event").and_then(Value::as_str) == Some(event))
        .cloned()
        .collect()
}

/// A string field (None for absent or null).
pub fn field_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An integer field (accepts JSON numbers and numeric strings).
pub fn field_i64(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Tags as the clients report them: None for "no tag" (null or "").
pub fn tag_of(v: &Value, key: &str) -> Option<String> {
    field_str(v, key)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
