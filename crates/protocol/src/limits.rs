//! Every count and size a request can carry that the broker turns into allocations, files or
//! loops, checked in one place with upstream's limits.
//!
//! A value that passes here is safe to iterate or allocate for: queue counts are at most
//! [`MAX_QUEUE_NUMS`], so `0..queue_count` is a bounded range on every path (stats, resets,
//! consume stats). Configs loaded from disk go through the same checks, so a file written by an
//! older version cannot bring an oversized value back either.

use crate::body::{SubscriptionGroupConfig, TopicConfig};
use crate::names;

/// Most read or write queues a topic may have (upstream refuses more in `updateTopic`).
pub const MAX_QUEUE_NUMS: i32 = 1024;
/// Most retry queues a subscription group may ask for; 0 means no retry topic.
pub const MAX_RETRY_QUEUE_NUMS: i32 = MAX_QUEUE_NUMS;
/// Most redeliveries a group may configure before a message goes to `%DLQ%`.
pub const MAX_RETRY_MAX_TIMES: i32 = 1_000;
/// Most entries (topics, groups, queues) one request may name.
pub const MAX_REQUEST_ENTRIES: usize = 100_000;

/// Checks a read or write queue count: `1..=MAX_QUEUE_NUMS`.
///
/// # Errors
/// A message naming `field` and the allowed range.
pub fn check_queue_nums(field: &str, n: i32) -> Result<(), String> {
    if (1..=MAX_QUEUE_NUMS).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "{field} is {n}; it must be in 1..={MAX_QUEUE_NUMS}"
        ))
    }
}

/// Checks a topic config as a whole: its name and both queue counts.
///
/// # Errors
/// A message naming the first field that is out of bounds.
pub fn check_topic_config(cfg: &TopicConfig) -> Result<(), String> {
    names::validate_topic(&cfg.topic_name)?;
    check_queue_nums("readQueueNums", cfg.read_queue_nums)?;
    check_queue_nums("writeQueueNums", cfg.write_queue_nums)
}

/// Checks a subscription group config: its name, `retryQueueNums` (`0..=1024`) and
/// `retryMaxTimes` (`-1..=1000`; −1 is upstream's "use the default").
///
/// # Errors
/// A message naming the first field that is out of bounds.
pub fn check_group_config(cfg: &SubscriptionGroupConfig) -> Result<(), String> {
    names::validate_group(&cfg.group_name)?;
    if !(0..=MAX_RETRY_QUEUE_NUMS).contains(&cfg.retry_queue_nums) {
        return Err(format!(
            "retryQueueNums is {}; it must be in 0..={MAX_RETRY_QUEUE_NUMS}",
            cfg.retry_queue_nums
        ));
    }
    if !(-1..=MAX_RETRY_MAX_TIMES).contains(&cfg.retry_max_times) {
        return Err(format!(
            "retryMaxTimes is {}; it must be in -1..={MAX_RETRY_MAX_TIMES}",
            cfg.retry_max_times
        ));
    }
    Ok(())
}

/// Checks how many entries a request names.
///
/// # Errors
/// A message naming `what` and the limit.
pub fn check_entries(what: &str, n: usize) -> Result<(), String> {
    if n <= MAX_REQUEST_ENTRIES {
        Ok(())
    } else {
        Err(format!(
            "the request names {n} {what}; at most {MAX_REQUEST_ENTRIES} are accepted"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_counts() {
        assert!(check_queue_nums("q", 1).is_ok());
        assert!(check_queue_nums("q", 1024).is_ok());
        assert!(check_queue_nums("q", 0).is_err());
        assert!(check_queue_nums("q", 1025).is_err());
        assert!(check_queue_nums("q", i32::MAX)
            .unwrap_err()
            .contains("q is"));
    }

    #[test]
    fn group_configs() {
        let mut g = SubscriptionGroupConfig::new("g");
        assert!(check_group_config(&g).is_ok());
        g.retry_queue_nums = i32::MAX;
        assert!(check_group_config(&g)
            .unwrap_err()
            .contains("retryQueueNums"));
        g.retry_queue_nums = 0;
        g.retry_max_times = -2;
        assert!(check_group_config(&g)
            .unwrap_err()
            .contains("retryMaxTimes"));
        g.retry_max_times = -1;
        g.group_name = "../x".into();
        assert!(check_group_config(&g).is_err());
    }

    #[test]
    fn topic_configs() {
        assert!(check_topic_config(&TopicConfig::new("T", 8)).is_ok());
        assert!(check_topic_config(&TopicConfig::new("T", 4096)).is_err());
        assert!(check_topic_config(&TopicConfig::new("../commitlog", 4)).is_err());
    }
}
