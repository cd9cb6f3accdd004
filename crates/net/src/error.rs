//! Transport errors.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Protocol(#[from] ferromq_protocol::ProtocolError),
    #[error("request timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("connection closed")]
    Closed,
    #[error("send queue of the connection is full")]
    Busy,
}
