//! SendMessage: each message through the broker's send path; one result entry per message.
//! RecallMessage: a delay message recalled before its time.

use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_broker::handlers::send::{produce, Produce};
use ferromq_broker::timer_recall::RecallError;
use ferromq_broker::{timer, Broker};
use ferromq_protocol::grpc::{
    Code, MessageType, RecallMessageRequest, RecallMessageResponse, SendMessageRequest,
    SendMessageResponse, SendResultEntry, Status,
};

use ferromq_protocol::message::push_missing_properties;

use crate::convert::properties_of;
use crate::status::{from_refusal, ok, overall, status};

/// Messages in one request (upstream's proxy allows a batch of the same topic).
const MAX_MESSAGES_PER_REQUEST: usize = 1024;

pub async fn send_message(
    b: &Arc<Broker>,
    peer: SocketAddr,
    req: SendMessageRequest,
) -> SendMessageResponse {
    if req.messages.is_empty() || req.messages.len() > MAX_MESSAGES_PER_REQUEST {
        return SendMessageResponse {
            status: Some(status(
                Code::BadRequest,
                format!(
                    "a send carries 1 to {MAX_MESSAGES_PER_REQUEST} messages, not {}",
                    req.messages.len()
                ),
            )),
            entries: vec![],
        };
    }
    let mut entries = Vec::with_capacity(req.messages.len());
    for m in req.messages {
        let message_id = m
            .system_properties
            .as_ref()
            .map(|s| s.message_id.clone())
            .unwrap_or_default();
        let entry = match check(&m) {
            Err(s) => SendResultEntry {
                status: Some(s),
                message_id,
                ..SendResultEntry::default()
            },
            Ok(()) => {
                let mut properties = properties_of(&m);
                let sp = m.system_properties.unwrap_or_default();
                let topic = m.topic.unwrap_or_default().name;
                let transactional = sp.message_type == MessageType::Transaction as i32;
                if transactional {
                    // A half message until EndTransaction (or a check-back) decides.
                    push_missing_properties(
                        &mut properties,
                        &[(ferromq_protocol::transaction::prop::TRAN_MSG, "true")],
                    );
                }
                // A delay message waiting in the timer can be recalled until its time.
                let recall = if sp.delivery_timestamp.is_some() {
                    timer::recall_handle_of(&b.cfg.broker_name, &topic, &properties)
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                let p = Produce {
                    producer_group: if transactional {
                        crate::transaction::group_of(&topic)
                    } else {
                        String::new()
                    },
                    topic,
                    message_group: sp.message_group.filter(|g| !g.is_empty()),
                    born_timestamp: sp
                        .born_timestamp
                        .as_ref()
                        .map_or_else(ferromq_protocol::time::now_ms, crate::convert::to_ms),
                    born_host: peer,
                    properties,
                    body: m.body,
                };
                match produce(b, p).await {
                    Ok(r) => SendResultEntry {
                        status: Some(ok()),
                        message_id,
                        transaction_id: if transactional {
                            crate::transaction::transaction_id(r.queue_offset, r.commit_log_offset)
                        } else {
                            String::new()
                        },
                        offset: r.queue_offset,
                        recall_handle: recall,
                    },
                    Err(r) => SendResultEntry {
                        status: Some(from_refusal(&r)),
                        message_id,
                        ..SendResultEntry::default()
                    },
                }
            }
        };
        entries.push(entry);
    }
    let status = overall(entries.iter().map(|e| e.status.as_ref()));
    SendMessageResponse {
        status: Some(status),
        entries,
    }
}

/// The kinds of message this endpoint stores today.
fn check(m: &ferromq_protocol::grpc::Message) -> Result<(), Status> {
    let Some(sp) = &m.system_properties else {
        return Err(status(
            Code::BadRequest,
            "message without system properties",
        ));
    };
    if sp.message_id.is_empty() {
        return Err(status(
            Code::IllegalMessageId,
            "message_id must not be empty",
        ));
    }
    if m.topic.as_ref().is_none_or(|t| t.name.is_empty()) {
        return Err(status(Code::IllegalTopic, "message without a topic"));
    }
    match MessageType::try_from(sp.message_type).unwrap_or(MessageType::Unspecified) {
        MessageType::Delay if sp.delivery_timestamp.is_none() => Err(status(
            Code::IllegalDeliveryTime,
            "a delay message needs a delivery_timestamp",
        )),
        _ => Ok(()),
    }
}

/// RecallMessage: a delay message still waiting is dropped at its next move in the timer.
pub async fn recall_message(b: &Broker, req: RecallMessageRequest) -> RecallMessageResponse {
    let topic = req.topic.map(|t| t.name).unwrap_or_default();
    let (s, id) = match timer::recall(b, &topic, &req.recall_handle).await {
        Ok(id) => (ok(), id),
        Err(e) => {
            let code = match e {
                RecallError::Invalid(_) => Code::BadRequest,
                RecallError::Delivered(_) => Code::MessageNotFound,
                RecallError::Full => Code::TooManyRequests,
                RecallError::Io(_) => Code::InternalError,
            };
            (status(code, e.to_string()), String::new())
        }
    };
    RecallMessageResponse {
        status: Some(s),
        message_id: id,
    }
}
