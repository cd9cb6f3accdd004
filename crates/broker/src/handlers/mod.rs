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

use ferromq_protocol::codes::response as rs;
use ferromq_protocol::HeaderError;
use ferromq_protocol::RemotingCommand;

use crate::groups::FindError;
use crate::topics::CreateError;

/// `?`-friendly conversion of header problems into INVALID_PARAMETER responses.
pub(crate) fn bad(e: HeaderError) -> RemotingCommand {
    e.to_response()
}

/// An error response.
pub(crate) fn err(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::error(code, remark)
}

/// A topic or group that could not be created: INVALID_PARAMETER for a bad name or count,
/// SYSTEM_ERROR naming the limit when `max-topics`, `max-queues` or `max-groups` is reached.
pub(crate) fn create_failed(b: &crate::Broker, e: CreateError) -> RemotingCommand {
    match e {
        CreateError::Invalid(m) => err(rs::INVALID_PARAMETER, m),
        CreateError::LimitReached { limit, message } => {
            b.metrics.limit_hit(limit);
            err(rs::SYSTEM_ERROR, message)
        }
    }
}

/// A group that is neither known nor creatable.
pub(crate) fn group_missing(b: &crate::Broker, e: FindError) -> RemotingCommand {
    match e {
        FindError::NotFound(_) => err(rs::SUBSCRIPTION_GROUP_NOT_EXIST, e.to_string()),
        FindError::LimitReached(m) => {
            b.metrics.limit_hit("max-groups");
            err(rs::SYSTEM_ERROR, m)
        }
    }
}
