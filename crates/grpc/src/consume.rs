//! ReceiveMessage, AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue over
//! the broker's POP consumption (`ferromq_broker::pop`).

use std::sync::Arc;
use std::time::Duration;

use ferromq_broker::pop::{self, PopSpec};
use ferromq_broker::Broker;
use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::grpc::{
    receive_message_response::Content, AckMessageRequest, AckMessageResponse,
    AckMessageResultEntry, ChangeInvisibleDurationRequest, ChangeInvisibleDurationResponse, Code,
    FilterType, ForwardMessageToDeadLetterQueueRequest, ForwardMessageToDeadLetterQueueResponse,
    ReceiveMessageRequest, ReceiveMessageResponse, Status,
};
use ferromq_protocol::names;

use crate::convert::{from_duration, to_v2};
use crate::status::{from_fault, from_refusal, ok, overall, status};

/// Messages one receive may ask for: upstream's broker refuses a POP of more than 32, and its
/// proxy passes the batch size through, so 5.x clients already live with it. Each message is at
/// most `max-message-size`, so one receive holds at most 32 of them.
const MAX_BATCH: i32 = 32;
/// Entries one AckMessage may carry (each is a journal write).
const MAX_ACK_ENTRIES: usize = 1024;
/// Shortest and longest invisibility window accepted.
const MIN_INVISIBLE: Duration = Duration::from_secs(1);
const MAX_INVISIBLE: Duration = Duration::from_secs(12 * 3600);
/// Longest a receive is held when nothing is there.
const MAX_LONG_POLL: Duration = Duration::from_secs(60);

fn reply(s: Status) -> Vec<ReceiveMessageResponse> {
    vec![ReceiveMessageResponse {
        content: Some(Content::Status(s)),
    }]
}

fn group_name(g: Option<&ferromq_protocol::grpc::Resource>) -> Result<String, Status> {
    let name = g.map(|g| g.name.clone()).unwrap_or_default();
    names::validate_group(&name).map_err(|e| status(Code::IllegalConsumerGroup, e))?;
    Ok(name)
}

/// The whole answer of one receive: a status first, then the messages (or one
/// MESSAGE_NOT_FOUND status when there are none; clients read that as an empty result).
/// `deadline` is the client's own deadline for the call (`grpc-timeout`), when it sent one.
pub async fn receive(
    b: &Arc<Broker>,
    req: ReceiveMessageRequest,
    deadline: Option<Duration>,
) -> Vec<ReceiveMessageResponse> {
    match receive_inner(b, req, deadline).await {
        Ok(r) => r,
        Err(s) => reply(s),
    }
}

async fn receive_inner(
    b: &Arc<Broker>,
    req: ReceiveMessageRequest,
    deadline: Option<Duration>,
) -> Result<Vec<ReceiveMessageResponse>, Status> {
    let group = group_name(req.group.as_ref())?;
    let mq = req.message_queue.unwrap_or_default();
    let topic = mq.topic.unwrap_or_default().name;
    if req.batch_size <= 0 || req.batch_size > MAX_BATCH {
        return Err(status(
            Code::BadRequest,
            format!("batch_size must be 1..={MAX_BATCH}, not {}", req.batch_size),
        ));
    }
    let invisible = match req.invisible_duration.as_ref() {
        None => Some(Duration::from_secs(30)),
        Some(d) => from_duration(d),
    };
    let Some(invisible) = invisible.filter(|d| (MIN_INVISIBLE..=MAX_INVISIBLE).contains(d)) else {
        return Err(status(
            Code::IllegalInvisibleTime,
            format!(
                "invisible_duration must be between 1 s and 12 h, not {:?}",
                req.invisible_duration
            ),
        ));
    };
    let wait = match req.long_polling_timeout.as_ref() {
        // Clients that do not say (the Go simple consumer) wait as long as their call's
        // deadline allows, less a margin for the answer to arrive (upstream's proxy does alike).
        None => deadline.map_or(Duration::ZERO, |d| {
            d.saturating_sub((d / 4).max(Duration::from_secs(1)))
                .min(MAX_LONG_POLL)
        }),
        Some(d) => from_duration(d)
            .filter(|d| *d <= MAX_LONG_POLL)
            .ok_or_else(|| {
                status(
                    Code::IllegalPollingTime,
                    format!("long_polling_timeout must be 0..=60 s, not {d:?}"),
                )
            })?,
    };
    let filter = req.filter_expression.unwrap_or_default();
    let mut sub = SubscriptionData::from_expression(
        &topic,
        if filter.expression.is_empty() {
            "*"
        } else {
            &filter.expression
        },
        0,
    );
    if filter.r#type == FilterType::Sql as i32 {
        sub.expression_type = Some("SQL92".into());
    }
    let cfg = b
        .groups
        .find_or_create(&group)
        .map_err(|e| from_refusal(&ferromq_broker::error::ReplyError::from(e).0))?;
    let spec = PopSpec {
        group,
        topic,
        // Clients name the queue they picked from the route (or -1 from an assignment); popping
        // from every queue of the topic, as upstream's proxy does, keeps a client that picked an
        // empty queue from waiting while others have messages.
        queue_id: None,
        max: req.batch_size as usize,
        invisible,
        sub,
        fifo: cfg.consume_message_orderly,
        max_attempts: u32::try_from(cfg.retry_max_times.max(0)).unwrap_or(16) + 1,
        from_first: false,
    };
    // Answer a little before the client's deadline (its request timeout plus the long poll).
    let popped = pop::pop(b, &spec, wait.saturating_sub(Duration::from_millis(200)))
        .await
        .map_err(|r| from_refusal(&r))?;
    if popped.is_empty() {
        return Ok(reply(status(Code::MessageNotFound, "no new message")));
    }
    let mut out = Vec::with_capacity(popped.len() + 1);
    out.push(ReceiveMessageResponse {
        content: Some(Content::Status(ok())),
    });
    out.extend(popped.iter().map(|p| ReceiveMessageResponse {
        content: Some(Content::Message(to_v2(p, invisible))),
    }));
    // When the batch was handed out: the Python push consumer computes each message's
    // remaining window from it and fails the whole batch without it.
    out.push(ReceiveMessageResponse {
        content: Some(Content::DeliveryTimestamp(crate::convert::timestamp(
            ferromq_protocol::time::now_ms(),
        ))),
    });
    Ok(out)
}

pub async fn ack(b: &Arc<Broker>, req: AckMessageRequest) -> AckMessageResponse {
    let group = match group_name(req.group.as_ref()) {
        Ok(g) => g,
        Err(s) => {
            return AckMessageResponse {
                status: Some(s),
                entries: vec![],
            }
        }
    };
    if req.entries.len() > MAX_ACK_ENTRIES {
        return AckMessageResponse {
            status: Some(status(
                Code::BadRequest,
                format!(
                    "an ack carries 1 to {MAX_ACK_ENTRIES} entries, not {}",
                    req.entries.len()
                ),
            )),
            entries: vec![],
        };
    }
    let topic = req.topic.unwrap_or_default().name;
    let handles = req.entries.iter().map(|e| e.receipt_handle.as_str());
    let done = pop::ack_many(b, &group, &topic, handles).await;
    let entries: Vec<_> = req
        .entries
        .into_iter()
        .zip(done)
        .map(|(e, r)| AckMessageResultEntry {
            message_id: e.message_id,
            receipt_handle: e.receipt_handle,
            status: Some(r.map_or_else(|f| from_fault(&f), |_| ok())),
        })
        .collect();
    let status = overall(entries.iter().map(|e| e.status.as_ref()));
    AckMessageResponse {
        status: Some(status),
        entries,
    }
}

pub async fn change_invisible(
    b: &Arc<Broker>,
    req: ChangeInvisibleDurationRequest,
) -> ChangeInvisibleDurationResponse {
    let fail = |s| ChangeInvisibleDurationResponse {
        status: Some(s),
        receipt_handle: String::new(),
    };
    let group = match group_name(req.group.as_ref()) {
        Ok(g) => g,
        Err(s) => return fail(s),
    };
    let invisible = req.invisible_duration.as_ref().and_then(from_duration);
    let Some(invisible) = invisible.filter(|d| *d <= MAX_INVISIBLE) else {
        return fail(status(
            Code::IllegalInvisibleTime,
            "invisible_duration must be between 0 and 12 h",
        ));
    };
    let topic = req.topic.unwrap_or_default().name;
    match pop::change_invisible(b, &group, &topic, &req.receipt_handle, invisible).await {
        Ok((handle, _)) => ChangeInvisibleDurationResponse {
            status: Some(ok()),
            receipt_handle: handle,
        },
        Err(f) => fail(from_fault(&f)),
    }
}

pub async fn forward_to_dead_letter(
    b: &Arc<Broker>,
    req: ForwardMessageToDeadLetterQueueRequest,
) -> ForwardMessageToDeadLetterQueueResponse {
    let status = match group_name(req.group.as_ref()) {
        Err(s) => s,
        Ok(group) => {
            let topic = req.topic.unwrap_or_default().name;
            let attempts = u32::try_from(req.delivery_attempt.max(1)).unwrap_or(1);
            match pop::forward_to_dead_letter(b, &group, &topic, &req.receipt_handle, attempts)
                .await
            {
                Ok(()) => ok(),
                Err(f) => from_fault(&f),
            }
        }
    };
    ForwardMessageToDeadLetterQueueResponse {
        status: Some(status),
    }
}
