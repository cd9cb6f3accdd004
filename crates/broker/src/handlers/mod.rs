//! One module per request family. Each function takes the broker and the request and returns a
//! [`crate::dispatch::Reply`].

pub mod admin;
pub mod client;
pub mod group;
pub mod mirror;
pub mod offset;
pub mod progress;
pub mod pull;
pub mod query;
pub mod retry;
pub mod send;
pub mod topic;

mod store_path;

pub(crate) use store_path::{store_messages, store_messages_at, Outgoing};

use ferromq_protocol::HeaderError;
use ferromq_protocol::RemotingCommand;

/// `?`-friendly conversion of header problems into INVALID_PARAMETER responses.
pub(crate) fn bad(e: HeaderError) -> RemotingCommand {
    e.to_response()
}

/// An error response.
pub(crate) fn err(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::error(code, remark)
}
