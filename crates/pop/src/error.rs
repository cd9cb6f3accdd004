//! [`PopError`].

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PopError {
    /// Not a handle this broker issued (malformed or forged).
    #[error("invalid receipt handle: {0}")]
    InvalidHandle(String),
    /// A handle of an earlier delivery: the message was delivered again since.
    #[error("receipt handle expired: {0}")]
    ExpiredHandle(String),
    /// The journal could not be written or read.
    #[error("POP journal: {0}")]
    Journal(String),
    #[error("POP journal I/O: {0}")]
    Io(#[from] std::io::Error),
}
