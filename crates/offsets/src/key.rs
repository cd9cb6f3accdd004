//! [`QueueKey`] and name validation.

use crate::error::OffsetError;

/// Identifies one consumer-progress entry: a consumer group's position in one queue of a topic.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct QueueKey {
    pub group: String,
    pub topic: String,
    #[serde(alias = "queue_id")]
    pub queue_id: i32,
}

impl QueueKey {
    /// Convenience constructor.
    pub fn new(group: impl Into<String>, topic: impl Into<String>, queue_id: i32) -> Self {
        QueueKey {
            group: group.into(),
            topic: topic.into(),
            queue_id,
        }
    }
}

/// Checks a group or topic name: non-empty, at most 65535 bytes, and free of `@` (upstream's
/// `topic@group` key must split into exactly two parts).
///
/// # Errors
/// [`OffsetError::InvalidKey`] naming the problem.
pub fn validate_name(what: &str, name: &str) -> Result<(), OffsetError> {
    if name.is_empty() {
        return Err(OffsetError::InvalidKey(format!("{what} name is empty")));
    }
    if name.len() > u16::MAX as usize {
        return Err(OffsetError::InvalidKey(format!(
            "{what} name is {} bytes (max 65535)",
            name.len()
        )));
    }
    if name.contains('@') {
        return Err(OffsetError::InvalidKey(format!(
            "{what} name {name:?} contains '@'"
        )));
    }
    Ok(())
}
