//! The crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in the offset store.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    /// An I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Data on disk failed validation where truncating it would lose acknowledged data
    /// (a corrupt snapshot without fallback, corruption inside a sealed log segment, a missing
    /// segment, an unknown mandatory record kind).
    #[error("corrupt offset store file {path} at byte {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A group or topic name the store cannot keep (empty, contains `@`, longer than 65535 bytes).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A durable write was not fsynced within the configured timeout. The record is in the log
    /// and may still become durable; the caller must treat the outcome as unknown.
    #[error("offset log fsync did not complete within {0:?}")]
    FlushTimeout(Duration),
    /// An earlier write or fsync failed; the store refuses further writes until reopened.
    #[error("offset store is poisoned by an earlier I/O failure: {0}")]
    Poisoned(String),
    /// A change was refused because queues no longer hold the offsets it expected
    /// ([`ChangeDraft::expect`](crate::ChangeDraft::expect)); nothing was applied.
    #[error("{} queue(s) moved since the plan was made: {}", .0.len(), moved_list(.0))]
    Moved(Vec<crate::MovedQueue>),
    /// The store was shut down.
    #[error("offset store is shut down")]
    Closed,
}

impl OffsetError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OffsetError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        OffsetError::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}

fn moved_list(moved: &[crate::MovedQueue]) -> String {
    let show = |o: Option<i64>| o.map_or_else(|| "none".to_string(), |v| v.to_string());
    let mut out: Vec<String> = moved
        .iter()
        .take(20)
        .map(|m| {
            format!(
                "{}/{}/{} expected {} now {}",
                m.key.group,
                m.key.topic,
                m.key.queue_id,
                show(m.expected),
                show(m.actual)
            )
        })
        .collect();
    if moved.len() > 20 {
        out.push(format!("and {} more", moved.len() - 20));
    }
    out.join(", ")
}
