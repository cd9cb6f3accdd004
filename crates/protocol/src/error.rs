//! Errors of the wire layer.

use thiserror::Error;

/// A frame or header that cannot be decoded. The connection that sent it is closed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("frame too short: {0} bytes")]
    FrameTooShort(usize),
    #[error("header length {header} exceeds frame length {frame}")]
    HeaderTooLong { header: usize, frame: usize },
    #[error("unknown header serialize type {0}")]
    UnknownSerializeType(u8),
    #[error("malformed JSON header: {0}")]
    BadJsonHeader(String),
    #[error("malformed binary header: {0}")]
    BadBinaryHeader(&'static str),
    #[error("malformed message record: {0}")]
    BadRecord(&'static str),
}

/// A request whose `extFields` lack a required key or carry an unusable value.
/// The broker answers these with a response code and a remark naming the field.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum HeaderError {
    #[error("the header field '{0}' is required")]
    Missing(&'static str),
    #[error("the header field '{field}' has an invalid value '{value}'")]
    Invalid { field: &'static str, value: String },
}

/// Why ferromq refuses a request, in RocketMQ's terms: the one table from reason to response
/// code ([`Refusal::code`]) and to the response a client sees ([`Refusal::to_response`], whose
/// remark is the [`Display`](std::fmt::Display) text). Servers turn their own typed errors into a
/// `Refusal` (the broker's `From` impls in `crates/broker/src/error.rs`), never a response code
/// by hand; `docs/error-codes.md` lists every code and the errors that produce it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// SYSTEM_ERROR: the request could not be served (a failed internal step, a body that is
    /// not the expected JSON where upstream answers so, a message that cannot be found).
    #[error("{0}")]
    SystemError(String),
    /// SYSTEM_ERROR: a configured limit refused the request; `limit` names the setting (and the
    /// `limit_hits` metric label), the message names it too.
    #[error("{message}")]
    LimitReached {
        limit: &'static str,
        message: String,
    },
    /// SYSTEM_ERROR: a heartbeat whose groups were registered except `count` of them, refused
    /// by a limit (each refusal is counted where it happened); `first` is the first refusal.
    #[error("{count} group(s) not registered: {first}")]
    GroupsNotRegistered { count: usize, first: String },
    /// SYSTEM_BUSY: a limit that clears by itself was reached (`limit` names the setting);
    /// clients back off and retry.
    #[error("{message}")]
    SystemBusy {
        limit: &'static str,
        message: String,
    },
    /// REQUEST_CODE_NOT_SUPPORTED: nobody serves this request code. The remark's text (with its
    /// leading space) is upstream's, which clients parse.
    #[error(" request type {code} not supported")]
    RequestCodeNotSupported { code: i32 },
    /// FLUSH_DISK_TIMEOUT: the message is written but its sync flush did not finish in time.
    #[error("{0}")]
    FlushDiskTimeout(String),
    /// MESSAGE_ILLEGAL: a message or batch the broker will not store.
    #[error("{0}")]
    MessageIllegal(String),
    /// MESSAGE_ILLEGAL, with the `sourceOffset` header field: a record copied from another
    /// cluster whose body is over this broker's maximum message size.
    #[error(
        "the message at source offset {source_offset} ({msg_id}) has a {size}-byte body, over \
         this broker's maximum of {max} bytes"
    )]
    MirroredMessageTooLarge {
        source_offset: i64,
        msg_id: String,
        size: usize,
        max: usize,
    },
    /// SERVICE_NOT_AVAILABLE: the store refused the write (shut down, or poisoned after an I/O
    /// error until restart).
    #[error("{0}")]
    ServiceNotAvailable(String),
    /// NO_PERMISSION: the topic or group does not allow this; `forbidden_type`, when set, is
    /// upstream's `forbiddenType` header field (2 = the group, 3 = the topic).
    #[error("{message}")]
    NoPermission {
        message: String,
        forbidden_type: Option<i32>,
    },
    /// TOPIC_NOT_EXIST.
    #[error("{0}")]
    TopicNotExist(String),
    /// QUERY_NOT_FOUND: no stored offset, no KV item, no recorded change.
    #[error("{0}")]
    QueryNotFound(String),
    /// SUBSCRIPTION_PARSE_FAILED: an expression the broker cannot filter by.
    #[error("{0}")]
    SubscriptionParseFailed(String),
    /// SUBSCRIPTION_NOT_EXIST: the group registered no subscription for the topic.
    #[error("{0}")]
    SubscriptionNotExist(String),
    /// SUBSCRIPTION_NOT_LATEST: the request's subscription is newer than the registered one.
    #[error("{0}")]
    SubscriptionNotLatest(String),
    /// SUBSCRIPTION_GROUP_NOT_EXIST.
    #[error("{0}")]
    SubscriptionGroupNotExist(String),
    /// INVALID_PARAMETER: a header field, name, count or body the request must not carry.
    #[error("{0}")]
    InvalidParameter(String),
    /// CONSUMER_NOT_ONLINE: the group has no online member.
    #[error("the consumer group[{group}] not online")]
    ConsumerNotOnline { group: String },
    /// QUEUE_OFFSET_MISMATCH (ferromq), with the `actualQueueOffset` header field: an append
    /// that must start at `expected` found the queue at `actual`. Nothing was written.
    #[error("queue {topic}:{queue_id} is at offset {actual}, not at the expected {expected}")]
    QueueOffsetMismatch {
        topic: String,
        queue_id: i32,
        expected: i64,
        actual: i64,
    },
    /// PLAN_MOVED (ferromq), with the [`PlanMoved`](crate::body::progress::PlanMoved) JSON
    /// body naming the queues: a change sent with the plan it must apply found queues that
    /// moved since the plan was made. Nothing was changed.
    #[error("{message}")]
    PlanMoved {
        message: String,
        body: crate::body::progress::PlanMoved,
    },
}

impl Refusal {
    /// The response code of this refusal: the one table from reason to code.
    pub fn code(&self) -> i32 {
        use crate::codes::response as rs;
        match self {
            Refusal::SystemError(_)
            | Refusal::LimitReached { .. }
            | Refusal::GroupsNotRegistered { .. } => rs::SYSTEM_ERROR,
            Refusal::SystemBusy { .. } => rs::SYSTEM_BUSY,
            Refusal::RequestCodeNotSupported { .. } => rs::REQUEST_CODE_NOT_SUPPORTED,
            Refusal::FlushDiskTimeout(_) => rs::FLUSH_DISK_TIMEOUT,
            Refusal::MessageIllegal(_) | Refusal::MirroredMessageTooLarge { .. } => {
                rs::MESSAGE_ILLEGAL
            }
            Refusal::ServiceNotAvailable(_) => rs::SERVICE_NOT_AVAILABLE,
            Refusal::NoPermission { .. } => rs::NO_PERMISSION,
            Refusal::TopicNotExist(_) => rs::TOPIC_NOT_EXIST,
            Refusal::QueryNotFound(_) => rs::QUERY_NOT_FOUND,
            Refusal::SubscriptionParseFailed(_) => rs::SUBSCRIPTION_PARSE_FAILED,
            Refusal::SubscriptionNotExist(_) => rs::SUBSCRIPTION_NOT_EXIST,
            Refusal::SubscriptionNotLatest(_) => rs::SUBSCRIPTION_NOT_LATEST,
            Refusal::SubscriptionGroupNotExist(_) => rs::SUBSCRIPTION_GROUP_NOT_EXIST,
            Refusal::InvalidParameter(_) => rs::INVALID_PARAMETER,
            Refusal::ConsumerNotOnline { .. } => rs::CONSUMER_NOT_ONLINE,
            Refusal::QueueOffsetMismatch { .. } => rs::QUEUE_OFFSET_MISMATCH,
            Refusal::PlanMoved { .. } => rs::PLAN_MOVED,
        }
    }

    /// The configured limit that refused the request, if one did (for the `limit_hits` metric).
    pub fn limit(&self) -> Option<&'static str> {
        match self {
            Refusal::LimitReached { limit, .. } | Refusal::SystemBusy { limit, .. } => Some(limit),
            _ => None,
        }
    }

    /// The response a client sees: [`Self::code`], the Display text as remark, and the header
    /// fields or body the variant carries.
    pub fn to_response(&self) -> crate::RemotingCommand {
        let resp = crate::RemotingCommand::error(self.code(), self.to_string());
        match self {
            Refusal::MirroredMessageTooLarge { source_offset, .. } => {
                resp.with_ext("sourceOffset", source_offset)
            }
            Refusal::NoPermission {
                forbidden_type: Some(t),
                ..
            } => resp.with_ext("forbiddenType", t),
            Refusal::QueueOffsetMismatch { actual, .. } => {
                resp.with_ext("actualQueueOffset", actual)
            }
            Refusal::PlanMoved { body, .. } => resp.with_body(crate::body::to_vec(body)),
            _ => resp,
        }
    }
}

/// A header problem is an INVALID_PARAMETER naming the field.
impl From<HeaderError> for Refusal {
    fn from(e: HeaderError) -> Self {
        Refusal::InvalidParameter(e.to_string())
    }
}

/// The standard answer to a code nobody serves: REQUEST_CODE_NOT_SUPPORTED, remark
/// ` request type {code} not supported`.
pub fn not_supported(code: i32) -> crate::RemotingCommand {
    Refusal::RequestCodeNotSupported { code }.to_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::progress::PlanMoved;
    use crate::codes::response as rs;

    #[test]
    fn not_supported_keeps_upstream_remark() {
        let r = not_supported(12345);
        assert_eq!(r.code, rs::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(
            r.remark.as_deref(),
            Some(" request type 12345 not supported")
        );
        assert!(r.is_response());
    }

    #[test]
    fn header_errors_are_invalid_parameter_naming_the_field() {
        let r = Refusal::from(HeaderError::Missing("topic")).to_response();
        assert_eq!(r.code, rs::INVALID_PARAMETER);
        assert!(r.remark.unwrap().contains("'topic'"));
    }

    #[test]
    fn variants_carry_their_fields_and_bodies() {
        let r = Refusal::QueueOffsetMismatch {
            topic: "T".into(),
            queue_id: 1,
            expected: 5,
            actual: 7,
        }
        .to_response();
        assert_eq!(r.code, rs::QUEUE_OFFSET_MISMATCH);
        assert_eq!(r.ext("actualQueueOffset"), Some("7"));
        assert_eq!(
            r.remark.as_deref(),
            Some("queue T:1 is at offset 7, not at the expected 5")
        );

        let r = Refusal::PlanMoved {
            message: "moved".into(),
            body: PlanMoved::default(),
        }
        .to_response();
        assert_eq!(r.code, rs::PLAN_MOVED);
        let back: PlanMoved = crate::body::parse(&r.body).unwrap();
        assert_eq!(back, PlanMoved::default());

        let r = Refusal::NoPermission {
            message: "no".into(),
            forbidden_type: Some(3),
        }
        .to_response();
        assert_eq!(
            (r.code, r.ext("forbiddenType")),
            (rs::NO_PERMISSION, Some("3"))
        );
        let r = Refusal::NoPermission {
            message: "no".into(),
            forbidden_type: None,
        }
        .to_response();
        assert_eq!(r.ext("forbiddenType"), None);

        let busy = Refusal::SystemBusy {
            limit: "max-held-pulls",
            message: "busy".into(),
        };
        assert_eq!(
            (busy.code(), busy.limit()),
            (rs::SYSTEM_BUSY, Some("max-held-pulls"))
        );
        assert_eq!(Refusal::SystemError("x".into()).limit(), None);
    }
}
