//! Transport errors.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol error: {0}")]
    Protocol(#[from] ferromq_protocol::ProtocolError),
    #[error("request timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("connection closed")]
    Closed,
    #[error("send queue of the connection is full")]
    Busy,
}
