//! The clock every timestamp on the wire and on disk is read from: milliseconds since the Unix
//! epoch, as RocketMQ's `bornTimestamp`, `storeTimestamp` and data versions are.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is set before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// [`now_ms`] as an unsigned count, for formats that store it so.
pub fn now_ms_u64() -> u64 {
    u64::try_from(now_ms()).unwrap_or(0)
}
