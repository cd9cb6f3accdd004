//! Lenient field readers for serde: numbers as strings, booleans as 0/1, enums as names or
//! ordinals. Each accepts `null` as the field's default.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Value::deserialize(d)
}

/// An integer written as a number or a string.
pub fn i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match scalar(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Value::String(s) => crate::command::parse_long(&s).unwrap_or(0),
        Value::Bool(b) => b as i64,
        _ => 0,
    })
}

/// An `i32` written as a number or a string.
pub fn i32_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    i64_lenient(d).map(|v| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
}

/// A boolean written as `true`, `"true"`, `1` or `"1"`.
pub fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match scalar(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        Value::String(s) => crate::command::parse_bool(&s).unwrap_or(false),
        _ => false,
    })
}

/// A string written as a string or any scalar.
pub fn string_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match scalar(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Maps an enum written by name or by Java ordinal to its name.
fn enum_name(v: Value, names: &[&str]) -> String {
    match v {
        Value::String(s) => match s.parse::<usize>() {
            Ok(i) => names.get(i).map(|n| n.to_string()).unwrap_or(s),
            Err(_) => s,
        },
        Value::Number(n) => n
            .as_u64()
            .and_then(|i| names.get(i as usize))
            .map(|n| n.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Java `ConsumeType` by name or ordinal.
pub fn consume_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(enum_name(
        scalar(d)?,
        &["CONSUME_ACTIVELY", "CONSUME_PASSIVELY", "CONSUME_POP"],
    ))
}

/// Java `MessageModel` by name or ordinal.
pub fn message_model<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(enum_name(scalar(d)?, &["BROADCASTING", "CLUSTERING"]))
}

/// Java `ConsumeFromWhere` by name or ordinal.
pub fn consume_from_where<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(enum_name(
        scalar(d)?,
        &[
            "CONSUME_FROM_LAST_OFFSET",
            "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
            "CONSUME_FROM_MIN_OFFSET",
            "CONSUME_FROM_MAX_OFFSET",
            "CONSUME_FROM_FIRST_OFFSET",
            "CONSUME_FROM_TIMESTAMP",
        ],
    ))
}

/// A list of strings, where a `null` list is empty.
pub fn strings_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match scalar(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A list of `i32`, each written as a number or a numeric string; a `null` list is empty. The
/// Go client (rocketmq-client-go/v2) sends a TAG subscription's `codeSet` as strings
/// (`"codeSet":["2598919"]`), which Java's fastjson converts; anything else that is not a
/// number is refused, since a wrong code would silently filter out messages.
pub fn i32s_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    let items = match scalar(d)? {
        Value::Array(items) => items,
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::with_capacity(items.len());
    for v in items {
        let n = match &v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => crate::command::parse_long(s),
            Value::Null => continue,
            _ => None,
        };
        match n.and_then(|n| i32::try_from(n).ok()) {
            Some(n) => out.push(n),
            None => return Err(serde::de::Error::custom(format!("not an int32: {v}"))),
        }
    }
    Ok(out)
}
