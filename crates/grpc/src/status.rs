//! Status codes: RocketMQ's `v2::Code` in every response, and the mapping of the broker's
//! refusals to them.

use ferromq_broker::pop::PopFault;
use ferromq_protocol::grpc::{Code, Status};
use ferromq_protocol::Refusal;

pub fn ok() -> Status {
    status(Code::Ok, "OK")
}

pub fn status(code: Code, message: impl Into<String>) -> Status {
    Status {
        code: code as i32,
        message: message.into(),
    }
}

/// The v2 code of a broker refusal.
pub fn from_refusal(r: &Refusal) -> Status {
    let code = match r {
        Refusal::TopicNotExist(_) => Code::TopicNotFound,
        Refusal::NoPermission { .. } => Code::Forbidden,
        Refusal::MessageIllegal(m) if m.contains("body size") => Code::MessageBodyTooLarge,
        Refusal::MessageIllegal(m) if m.starts_with(ferromq_broker::timer::ILLEGAL) => {
            Code::IllegalDeliveryTime
        }
        Refusal::MessageIllegal(_) => Code::BadRequest,
        Refusal::InvalidParameter(_) => Code::BadRequest,
        Refusal::SubscriptionParseFailed(_) => Code::IllegalFilterExpression,
        Refusal::LimitReached { .. } => Code::TooManyRequests,
        _ => Code::InternalError,
    };
    status(code, r.to_string())
}

/// The v2 code of a failed operation on a delivered message.
pub fn from_fault(f: &PopFault) -> Status {
    match f {
        PopFault::Handle(m) => status(Code::InvalidReceiptHandle, m.clone()),
        PopFault::Refused(r) => from_refusal(r),
    }
}

/// One status for a request of several entries: OK when every entry is, else the entries'
/// common status, else MULTIPLE_RESULTS.
pub fn overall<'a>(entries: impl IntoIterator<Item = Option<&'a Status>>) -> Status {
    let mut first: Option<Option<&Status>> = None;
    for s in entries {
        match first {
            None => first = Some(s),
            Some(f) if f.map(|x| x.code) == s.map(|x| x.code) => {}
            Some(_) => return status(Code::MultipleResults, "the entries had different outcomes"),
        }
    }
    match first {
        None => status(Code::BadRequest, "no entries"),
        Some(f) => f.cloned().unwrap_or_else(ok),
    }
}
