//! Broker errors, and the one place internal errors become response codes: the `From` impls
//! below turn every typed error a handler can meet into a [`Refusal`], whose
//! [`code`](Refusal::code) is the table from reason to response code. Together they are the
//! whole mapping (`docs/error-codes.md` lists it by code).

use ferromq_offsets::OffsetError;
use ferromq_protocol::{HeaderError, Refusal};
use ferromq_store::StoreError;
use thiserror::Error;

use crate::groups::FindError;
use crate::progress::ProgressError;
use crate::topics::CreateError;

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

/// Why a handler refused a request: a [`Refusal`], which dispatch sends as the response (and
/// counts in `limit_hits` when a limit refused it). A broker type so that the errors of the
/// store and offset crates convert with `?` too.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(transparent)]
pub struct ReplyError(pub Refusal);

impl ReplyError {
    /// The refusal inside.
    pub fn into_refusal(self) -> Refusal {
        self.0
    }
}

impl From<Refusal> for ReplyError {
    fn from(r: Refusal) -> Self {
        ReplyError(r)
    }
}

/// A missing or unusable header field: INVALID_PARAMETER naming the field.
impl From<HeaderError> for ReplyError {
    fn from(e: HeaderError) -> Self {
        ReplyError(e.into())
    }
}

/// A store error on the write path: FLUSH_DISK_TIMEOUT (written, not yet durable),
/// MESSAGE_ILLEGAL (too large), QUEUE_OFFSET_MISMATCH (an append at an expected offset found
/// the queue elsewhere; `actualQueueOffset` says where), SERVICE_NOT_AVAILABLE otherwise
/// (shut down, poisoned, I/O).
impl From<StoreError> for ReplyError {
    fn from(e: StoreError) -> Self {
        ReplyError(match e {
            StoreError::FlushTimeout(_) => Refusal::FlushDiskTimeout(e.to_string()),
            StoreError::MessageTooLarge { .. } => Refusal::MessageIllegal(e.to_string()),
            StoreError::UnexpectedQueueOffset {
                topic,
                queue_id,
                expected,
                actual,
            } => Refusal::QueueOffsetMismatch {
                topic,
                queue_id,
                expected,
                actual,
            },
            other => Refusal::ServiceNotAvailable(other.to_string()),
        })
    }
}

/// An offset-table error: SYSTEM_ERROR `offset store: …`, or PLAN_MOVED when a change found
/// queues that moved since its plan (as [`ProgressError`] maps it).
impl From<OffsetError> for ReplyError {
    fn from(e: OffsetError) -> Self {
        ProgressError::from(e).into()
    }
}

/// A refused progress operation (nothing changed): INVALID_PARAMETER, TOPIC_NOT_EXIST,
/// QUERY_NOT_FOUND, PLAN_MOVED with the [`PlanMoved`](crate::progress::model::PlanMoved) body,
/// SYSTEM_ERROR for the offset store.
impl From<ProgressError> for ReplyError {
    fn from(e: ProgressError) -> Self {
        let message = e.to_string();
        ReplyError(match e {
            ProgressError::Invalid(_) => Refusal::InvalidParameter(message),
            ProgressError::TopicNotExist(_) => Refusal::TopicNotExist(message),
            ProgressError::NotFound(_) => Refusal::QueryNotFound(message),
            ProgressError::PlanMoved(body) => Refusal::PlanMoved { message, body },
            ProgressError::Offsets(_) => Refusal::SystemError(message),
        })
    }
}

/// A topic or group that could not be created: INVALID_PARAMETER for a bad name or count,
/// a limit (`max-topics`, `max-queues`, `max-groups`) reached otherwise.
impl From<CreateError> for ReplyError {
    fn from(e: CreateError) -> Self {
        ReplyError(match e {
            CreateError::Invalid(m) => Refusal::InvalidParameter(m),
            CreateError::LimitReached { limit, message } => {
                Refusal::LimitReached { limit, message }
            }
        })
    }
}

/// A group that is neither known nor creatable: SUBSCRIPTION_GROUP_NOT_EXIST, or `max-groups`
/// reached.
impl From<FindError> for ReplyError {
    fn from(e: FindError) -> Self {
        ReplyError(match e {
            FindError::NotFound(_) => Refusal::SubscriptionGroupNotExist(e.to_string()),
            FindError::LimitReached(message) => Refusal::LimitReached {
                limit: "max-groups",
                message,
            },
        })
    }
}

/// Counts a refusal in `limit_hits` when a configured limit caused it.
pub(crate) fn count_limit(b: &crate::Broker, r: &Refusal) {
    if let Some(limit) = r.limit() {
        b.metrics.limit_hit(limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::codes::response as rs;
    use std::time::Duration;

    fn code(e: impl Into<ReplyError>) -> (i32, String) {
        let r = e.into().0.to_response();
        (r.code, r.remark.unwrap_or_default())
    }

    #[test]
    fn store_errors() {
        assert_eq!(
            code(StoreError::FlushTimeout(Duration::from_secs(5))).0,
            rs::FLUSH_DISK_TIMEOUT
        );
        assert_eq!(
            code(StoreError::MessageTooLarge { size: 9, limit: 1 }).0,
            rs::MESSAGE_ILLEGAL
        );
        assert_eq!(code(StoreError::ShutDown).0, rs::SERVICE_NOT_AVAILABLE);
        let e = StoreError::UnexpectedQueueOffset {
            topic: "T".into(),
            queue_id: 2,
            expected: 3,
            actual: 4,
        };
        let text = e.to_string();
        let r = ReplyError::from(e).0.to_response();
        assert_eq!(r.code, rs::QUEUE_OFFSET_MISMATCH);
        assert_eq!(r.remark.as_deref(), Some(text.as_str()));
        assert_eq!(r.ext("actualQueueOffset"), Some("4"));
    }

    #[test]
    fn offset_errors_name_the_offset_store() {
        let (c, remark) = code(OffsetError::Closed);
        assert_eq!(c, rs::SYSTEM_ERROR);
        assert_eq!(remark, "offset store: offset store is shut down");
        assert_eq!(code(OffsetError::Moved(Vec::new())).0, rs::PLAN_MOVED);
    }

    #[test]
    fn limits_are_counted_kinds() {
        let e = ReplyError::from(CreateError::LimitReached {
            limit: "max-topics",
            message: "too many".into(),
        });
        assert_eq!(e.0.limit(), Some("max-topics"));
        assert_eq!(code(e.clone()), (rs::SYSTEM_ERROR, "too many".into()));
        let e = ReplyError::from(FindError::NotFound("g".into()));
        assert_eq!(e.0.code(), rs::SUBSCRIPTION_GROUP_NOT_EXIST);
        assert_eq!(e.0.limit(), None);
        assert_eq!(
            ReplyError::from(FindError::LimitReached("m".into()))
                .0
                .limit(),
            Some("max-groups")
        );
    }
}
