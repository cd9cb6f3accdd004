//! Topic and group names: upstream's validation rules and the retry/DLQ naming scheme.

pub const RETRY_PREFIX: &str = "%RETRY%";
pub const DLQ_PREFIX: &str = "%DLQ%";
/// The auto-create template topic.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Delay messages wait in this topic, one queue per delay level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Messages with a delivery time wait in this topic (ferromq's own; see the broker's `timer`).
pub const TIMER_TOPIC: &str = "FERRO_TIMER_TOPIC";
pub const MAX_TOPIC_LEN: usize = 127;
pub const MAX_SYSTEM_TOPIC_LEN: usize = 255;
pub const MAX_GROUP_LEN: usize = 255;

pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_PREFIX}{group}")
}

pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_PREFIX)
}

pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_PREFIX)
}

fn valid_chars(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Checks a topic name as upstream does (`^[%|a-zA-Z0-9_-]+$`, at most 127 bytes, 255 for
/// retry and DLQ topics).
///
/// # Errors
/// A message naming the rule that failed.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if !valid_chars(topic) {
        return Err(format!(
            "the topic name '{topic}' must match ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    let max = if is_retry_topic(topic) || is_dlq_topic(topic) {
        MAX_SYSTEM_TOPIC_LEN
    } else {
        MAX_TOPIC_LEN
    };
    if topic.len() > max {
        return Err(format!(
            "the topic name is {} bytes, longer than {max}",
            topic.len()
        ));
    }
    Ok(())
}

/// Checks a consumer or producer group name.
///
/// # Errors
/// A message naming the rule that failed.
pub fn validate_group(group: &str) -> Result<(), String> {
    if !valid_chars(group) {
        return Err(format!(
            "the group name '{group}' must match ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if group.len() > MAX_GROUP_LEN {
        return Err(format!(
            "the group name is {} bytes, longer than {MAX_GROUP_LEN}",
            group.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(validate_topic("TopicTest").is_ok());
        assert!(validate_topic("%RETRY%g").is_ok());
        assert!(validate_topic("bad topic").is_err());
        assert!(validate_topic("").is_err());
        assert!(validate_topic(&"a".repeat(128)).is_err());
        assert!(validate_topic(&format!("%RETRY%{}", "a".repeat(200))).is_ok());
        assert!(validate_group("g@1").is_err());
    }
}
