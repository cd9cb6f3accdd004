//! Delivery at a chosen time: 5.x `TIMER_DELIVER_MS` (absolute), `TIMER_DELAY_SEC` and
//! `TIMER_DELAY_MS` (relative to the send), and gRPC's `delivery_timestamp`.
//!
//! A timed message waits in [`TIMER_TOPIC`], whose queue `k` holds messages that wait
//! `100 ms × 2^k`. Each queue is in delivery order (one wait, store order), so the cursors of
//! [`crate::schedule`] serve it as they serve delay levels. When a message's wait ends it moves
//! to the queue of the longest wait that fits what remains, or to its real topic once less than
//! 100 ms remain: a delay of `d` costs as many moves as `d / 100 ms` has set bits (at most 22 for
//! the 3-day maximum). Nothing is indexed in memory, and it is as durable as delay levels: a
//! crash may deliver a message twice, never lose it.

use std::time::Duration;

use ferromq_protocol::message::{find_property, prop, Properties};

pub use ferromq_protocol::names::TIMER_TOPIC;
/// The shortest wait, and how late a timed message may be delivered.
pub const PRECISION_MS: i64 = 100;
/// Queues of [`TIMER_TOPIC`]: waits of 100 ms up to 100 ms × 2^21 (58 h).
pub const LEVELS: i32 = 22;
/// How a refused delivery time is reported (upstream's words; the gRPC front end maps it to
/// ILLEGAL_DELIVERY_TIME).
pub const ILLEGAL: &str = "timer message illegal";
/// Upstream's `timerMaxDelaySec` default: three days.
pub const MAX_DELAY_MS: i64 = 3 * 24 * 3600 * 1000;

/// How long queue `level` holds a message.
pub fn wait_of(level: i32) -> Duration {
    Duration::from_millis((PRECISION_MS << level.clamp(0, LEVELS - 1)) as u64)
}

/// The queue whose wait is the longest not beyond `remaining_ms` (at least the first).
pub fn level_for(remaining_ms: i64) -> i32 {
    let units = (remaining_ms / PRECISION_MS).max(1);
    (63 - units.leading_zeros() as i32).clamp(0, LEVELS - 1)
}

/// Whether encoded properties ask for a delivery time (checked before parsing them). Every
/// send asks this, more than once: one substring search rejects nearly all of them.
pub fn is_timed(properties: &str) -> bool {
    properties.contains("TIMER_")
        && [
            prop::TIMER_DELIVER_MS,
            prop::TIMER_DELAY_SEC,
            prop::TIMER_DELAY_MS,
        ]
        .iter()
        .any(|k| find_property(properties, k).is_some())
}

/// When the message asks to be delivered (ms since the epoch), if it asks.
///
/// # Errors
/// A value that is not a number, or a time more than [`MAX_DELAY_MS`] away.
pub fn deliver_at(props: &Properties, now_ms: i64) -> Result<Option<i64>, String> {
    let num = |key: &str| -> Result<Option<i64>, String> {
        props
            .get(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{ILLEGAL}: {key} is not a number: {v:?}"))
            })
            .transpose()
    };
    let at = if let Some(at) = num(prop::TIMER_DELIVER_MS)? {
        at
    } else if let Some(sec) = num(prop::TIMER_DELAY_SEC)? {
        now_ms.saturating_add(sec.saturating_mul(1000))
    } else if let Some(ms) = num(prop::TIMER_DELAY_MS)? {
        now_ms.saturating_add(ms)
    } else {
        return Ok(None);
    };
    if at.saturating_sub(now_ms) > MAX_DELAY_MS {
        return Err(format!(
            "{ILLEGAL}, the delay time should not be bigger than the max delay {MAX_DELAY_MS}ms"
        ));
    }
    // A time before the epoch is simply due: callers subtract `now` from it.
    Ok(Some(at.max(0)))
}

/// Recalls the timed message `handle` names, if it is for `topic` and still waiting; returns
/// its id.
///
/// # Errors
/// A handle for something else, a time already past, a full or unwritable recall table.
pub async fn recall(
    b: &crate::Broker,
    topic: &str,
    handle: &str,
) -> Result<String, crate::timer_recall::RecallError> {
    use crate::timer_recall::RecallError;
    let h = ferromq_protocol::recall::RecallHandle::decode(handle)
        .filter(|h| h.topic == topic && h.broker_name == b.cfg.broker_name)
        .ok_or_else(|| RecallError::Invalid(handle.chars().take(64).collect()))?;
    let now = ferromq_protocol::time::now_ms();
    b.timer_recalls
        .recall(&h.topic, &h.message_id, h.deliver_ms, now)
        .await?;
    Ok(h.message_id)
}

/// The recall handle of a message stored with `properties` into `topic`, when the timer holds
/// it (its delivery time is ahead); its unique id names it.
pub fn recall_handle_of(broker_name: &str, topic: &str, properties: &str) -> Option<String> {
    if !is_timed(properties) {
        return None;
    }
    let props = ferromq_protocol::message::parse_properties(properties);
    let now = ferromq_protocol::time::now_ms();
    let at = deliver_at(&props, now).ok()??;
    let id = props.get(prop::UNIQ_KEY)?;
    (at.saturating_sub(now) >= PRECISION_MS).then(|| {
        ferromq_protocol::recall::RecallHandle {
            topic: topic.to_string(),
            broker_name: broker_name.to_string(),
            deliver_ms: at,
            message_id: id.clone(),
        }
        .encode()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_fits_what_remains_and_the_moves_add_up() {
        assert_eq!(level_for(50), 0);
        assert_eq!(level_for(199), 0);
        assert_eq!(level_for(200), 1);
        assert_eq!(level_for(MAX_DELAY_MS), LEVELS - 1);
        // A delay is consumed by moves whose waits sum to it, within the precision.
        for delay in [150, 1_000, 12_345, 3_600_000, MAX_DELAY_MS] {
            let (mut left, mut moves) = (delay, 0);
            while left >= PRECISION_MS {
                let w = wait_of(level_for(left)).as_millis() as i64;
                assert!(w <= left, "a wait of {w} ms for {left} ms left");
                left -= w;
                moves += 1;
            }
            assert!(moves <= 2 * LEVELS, "{delay} ms took {moves} moves");
        }
    }

    #[test]
    fn delivery_time_from_any_of_the_three_properties() {
        let p = |k: &str, v: &str| Properties::from([(k.to_string(), v.to_string())]);
        assert_eq!(
            deliver_at(&p(prop::TIMER_DELIVER_MS, "5000"), 1000),
            Ok(Some(5000))
        );
        assert_eq!(
            deliver_at(&p(prop::TIMER_DELAY_SEC, "3"), 1000),
            Ok(Some(4000))
        );
        assert_eq!(
            deliver_at(&p(prop::TIMER_DELAY_MS, "250"), 1000),
            Ok(Some(1250))
        );
        assert_eq!(deliver_at(&Properties::new(), 1000), Ok(None));
        assert!(deliver_at(&p(prop::TIMER_DELAY_SEC, "x"), 0).is_err());
        assert!(deliver_at(&p(prop::TIMER_DELAY_SEC, "300000"), 0).is_err());
    }

    /// Found in review: a delivery time of `i64::MIN` (a 5.x `delivery_timestamp` of minus
    /// infinity saturates to it) overflowed `at - now` on the send path.
    #[test]
    fn a_delivery_time_long_past_is_due_now() {
        let p = |k: &str, v: &str| Properties::from([(k.to_string(), v.to_string())]);
        let now = 1_700_000_000_000;
        let min = i64::MIN.to_string();
        assert_eq!(
            deliver_at(&p(prop::TIMER_DELIVER_MS, &min), now),
            Ok(Some(0))
        );
        assert_eq!(deliver_at(&p(prop::TIMER_DELAY_MS, &min), now), Ok(Some(0)));
        let props = format!(
            "{}\u{1}{min}\u{2}UNIQ_KEY\u{1}id\u{2}",
            prop::TIMER_DELIVER_MS
        );
        assert_eq!(recall_handle_of("b", "T", &props), None);
    }
}
