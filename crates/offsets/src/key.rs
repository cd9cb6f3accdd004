//! [`QueueKey`] and name validation.

use crate::error::OffsetError;

pub use ferromq_protocol::body::progress::QueueKey;

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
