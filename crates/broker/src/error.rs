//! Broker errors, and the one place internal errors become response codes.

use ferromq_protocol::codes::response as rs;
use ferromq_protocol::RemotingCommand;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] ferromq_store::StoreError),
    #[error(transparent)]
    Offsets(#[from] ferromq_offsets::OffsetError),
}

/// The response for a store error on the send path.
pub fn store_error_response(e: &ferromq_store::StoreError) -> RemotingCommand {
    use ferromq_store::StoreError as E;
    match e {
        E::FlushTimeout { .. } => RemotingCommand::error(rs::FLUSH_DISK_TIMEOUT, e.to_string()),
        E::MessageTooLarge { .. } => RemotingCommand::error(rs::MESSAGE_ILLEGAL, e.to_string()),
        _ => RemotingCommand::error(rs::SERVICE_NOT_AVAILABLE, e.to_string()),
    }
}

/// The response for an offset-table error.
pub fn offsets_error_response(e: &ferromq_offsets::OffsetError) -> RemotingCommand {
    RemotingCommand::error(rs::SYSTEM_ERROR, format!("offset store: {e}"))
}
