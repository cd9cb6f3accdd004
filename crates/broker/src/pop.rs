//! POP consumption over the store and the offset table, for every front end that pops (the
//! gRPC endpoint today): hand out messages with an invisibility window, ack them, change the
//! window, redeliver what was not acked in time, and move what used up its attempts to the
//! group's dead-letter queue.
//!
//! The decisions and their journal are `ferromq_pop::PopTable`; this module reads the messages,
//! commits each queue's frontier to the offset table (compare-and-set, so a reset made meanwhile
//! wins), and waits for messages (long polling).

use std::sync::Arc;
use std::time::Duration;

use ferromq_offsets::QueueKey;
use ferromq_pop::{AckOutcome, Delivery, PendingCommit, PopError, PopRequest, ReceiptHandle};
use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::message::{decode_records, DecodedMessage};
use ferromq_protocol::{names, Refusal};
use ferromq_store::GetStatus;
use tracing::warn;

use crate::filter::PullFilter;
use crate::handlers::offset::queue_is_young;
use crate::Broker;

/// What a consumer asks for.
#[derive(Clone, Debug)]
pub struct PopSpec {
    pub group: String,
    pub topic: String,
    /// One queue, or every readable queue of the topic.
    pub queue_id: Option<i32>,
    pub max: usize,
    pub invisible: Duration,
    pub sub: SubscriptionData,
    /// Ordered group: one batch in flight per queue, redelivered in order.
    pub fifo: bool,
    /// Deliveries after which a message goes to the dead-letter queue.
    pub max_attempts: u32,
    /// A group new to a queue starts at its first message (else at the first while the queue is
    /// young, at its end otherwise).
    pub from_first: bool,
}

/// One message handed out.
#[derive(Debug)]
pub struct Popped {
    pub msg: DecodedMessage,
    pub handle: String,
    /// 1 for the first delivery.
    pub attempt: u32,
    /// When it becomes visible again (ms since the epoch).
    pub visible_at_ms: i64,
}

pub(crate) fn key(group: &str, topic: &str, queue_id: i32) -> QueueKey {
    QueueKey {
        group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
    }
}

/// Why an operation on a delivered message (ack, new window, dead-letter) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopFault {
    /// The receipt handle is malformed or forged, was never issued to this group, or is
    /// outdated (the message was delivered again since).
    Handle(String),
    /// Refused like any other request (unknown topic, store or journal error).
    Refused(Refusal),
}

impl From<Refusal> for PopFault {
    fn from(r: Refusal) -> Self {
        PopFault::Refused(r)
    }
}

impl std::fmt::Display for PopFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PopFault::Handle(m) => write!(f, "{m}"),
            PopFault::Refused(r) => write!(f, "{r}"),
        }
    }
}

fn pop_error(e: PopError) -> Refusal {
    Refusal::SystemError(e.to_string())
}

/// Waits until the POP journal holds every change made so far (sync flush mode; at once
/// otherwise), so an answer never promises what a power cut would take back.
async fn journaled(b: &Broker) -> Result<(), Refusal> {
    b.pop.durable().await.map_err(pop_error)
}

fn fault(e: PopError) -> PopFault {
    match e {
        PopError::InvalidHandle(m) | PopError::ExpiredHandle(m) => PopFault::Handle(m),
        other => PopFault::Refused(pop_error(other)),
    }
}

/// Pops up to `spec.max` messages, waiting up to `wait` for some to arrive or come back.
///
/// # Errors
/// An unknown topic or group name, a bad filter, or a journal that cannot be written.
pub async fn pop(b: &Arc<Broker>, spec: &PopSpec, wait: Duration) -> Result<Vec<Popped>, Refusal> {
    names::validate_group(&spec.group).map_err(Refusal::InvalidParameter)?;
    let Some(cfg) = b.topics.get(&spec.topic) else {
        return Err(Refusal::TopicNotExist(format!(
            "topic {} does not exist",
            spec.topic
        )));
    };
    let queues: Vec<i32> = match spec.queue_id {
        Some(q) if q >= 0 && q < cfg.read_queue_nums => vec![q],
        _ => (0..cfg.read_queue_nums.max(0)).collect(),
    };
    // Pending intents (a position pre-set by time before the group existed) become offsets now.
    for q in &queues {
        b.progress()
            .resolve(&spec.group, &spec.topic, *q)
            .await
            .map_err(|e| crate::error::ReplyError::from(e).0)?;
    }
    let deadline = tokio::time::Instant::now() + wait;
    // Start at a different queue each time, so one busy queue does not starve the others.
    let first = rand::random::<usize>() % queues.len().max(1);
    loop {
        let notifiers: Vec<_> = queues
            .iter()
            .map(|q| b.pull_hold.notifier(&spec.topic, *q))
            .collect();
        let waits: Vec<_> = notifiers.iter().map(|n| n.notified()).collect();
        let (out, next_visible) = pop_now(b, spec, &queues, first)?;
        if !out.is_empty() {
            journaled(b).await?;
            return Ok(out);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(out);
        }
        let mut until = deadline;
        if let Some(ms) = next_visible {
            let in_ms = ms.saturating_sub(now_ms()).max(1) as u64;
            until = until.min(tokio::time::Instant::now() + Duration::from_millis(in_ms));
        }
        tokio::select! {
            _ = futures::future::select_all(waits.into_iter().map(Box::pin)) => {}
            _ = tokio::time::sleep_until(until) => {}
            _ = b.shutdown.cancelled() => return Ok(Vec::new()),
        }
    }
}

/// Stored bytes one pass hands out before it visits no further queue (each queue's read is
/// capped by what is left; the first message of a read always fits).
const PASS_BYTES: usize = 4 << 20;

/// One pass over the queues; also returns when the next window ends.
fn pop_now(
    b: &Arc<Broker>,
    spec: &PopSpec,
    queues: &[i32],
    first: usize,
) -> Result<(Vec<Popped>, Option<i64>), Refusal> {
    let filter = PullFilter::new(&spec.sub, &b.filters)?;
    let now = now_ms();
    let mut out = Vec::new();
    let mut dead = Vec::new();
    let mut next_visible: Option<i64> = None;
    let mut pending = Vec::new();
    let mut bytes = 0usize;
    for i in 0..queues.len() {
        if out.len() >= spec.max || bytes >= PASS_BYTES {
            break;
        }
        let budget = PASS_BYTES - bytes;
        let q = queues[(first + i) % queues.len()];
        let k = key(&spec.group, &spec.topic, q);
        let req = PopRequest {
            now_ms: now,
            invisible_ms: spec.invisible.as_millis() as i64,
            max: spec.max - out.len(),
            fifo: spec.fifo,
            max_attempts: spec.max_attempts,
        };
        let mut fresh: Vec<DecodedMessage> = Vec::new();
        let deliveries = b
            .pop
            .pop(
                &k,
                || b.offsets.get(&spec.group, &spec.topic, q),
                || match spec.from_first {
                    true => b.store.min_offset(&spec.topic, q),
                    false => start_offset(b, &spec.topic, q),
                },
                &req,
                |from, max| {
                    let r = b.store.get(&spec.topic, q, from, max, budget, &filter);
                    let next = match r.status {
                        GetStatus::Found | GetStatus::NoMatchedMessage => r.next_begin_offset,
                        GetStatus::OffsetTooSmall => r.min_offset,
                        _ => from,
                    };
                    fresh = decode_all(&r.body);
                    (fresh.iter().map(|m| m.queue_offset).collect(), next)
                },
            )
            .map_err(pop_error)?;
        // Only queues whose frontier moved need a commit (most long-poll passes move none).
        pending.extend(b.pop.begin_commit(&k));
        for d in deliveries {
            let msg = match fresh.iter().position(|m| m.queue_offset == d.offset) {
                Some(i) => Some(fresh.swap_remove(i)),
                None => read_at(b, &spec.topic, q, d.offset),
            };
            let Some(msg) = msg else {
                // Gone (retention deleted it): nothing left to deliver.
                let _ = b
                    .pop
                    .ack(&k, || b.offsets.get(&spec.group, &spec.topic, q), &d.handle);
                continue;
            };
            if d.to_dead_letter {
                dead.push((k.clone(), d, msg));
                continue;
            }
            bytes += msg.body.len() + msg.properties.len();
            out.push(popped(msg, &d));
        }
        if let (_, Some(t)) = b.pop.in_flight(&k) {
            next_visible = Some(next_visible.map_or(t, |n| n.min(t)));
        }
    }
    if !dead.is_empty() || !pending.is_empty() {
        let b = b.clone();
        tokio::spawn(async move {
            for (k, d, msg) in dead {
                to_dead_letter(&b, &k, &d, msg).await;
            }
            for c in pending {
                settle_from(&b, c).await;
            }
        });
    }
    Ok((out, next_visible))
}

fn popped(msg: DecodedMessage, d: &Delivery) -> Popped {
    Popped {
        msg,
        handle: d.handle.to_string(),
        attempt: d.lease.attempt,
        visible_at_ms: d.lease.deadline_ms,
    }
}

/// The records of a store read; none when one does not decode (each offset is then read on its
/// own by [`read_at`], so one bad record costs only itself).
fn decode_all(body: &bytes::Bytes) -> Vec<DecodedMessage> {
    decode_records(body).unwrap_or_else(|e| {
        warn!(error = %e, "POP: a stored record did not decode; reading one by one");
        Vec::new()
    })
}

fn read_at(b: &Broker, topic: &str, q: i32, offset: i64) -> Option<DecodedMessage> {
    let r = b.store.get(topic, q, offset, 1, 4 << 20, &|_: i64| true);
    decode_all(&r.body)
        .into_iter()
        .find(|m| m.queue_offset == offset)
}

/// Where a group that never consumed a queue starts: at the beginning while the queue is young
/// (its first message still in memory), else at its end, as upstream's POP does.
fn start_offset(b: &Broker, topic: &str, q: i32) -> i64 {
    if queue_is_young(b, topic, q) {
        b.store.min_offset(topic, q)
    } else {
        b.store.max_offset(topic, q)
    }
}

/// The handle of the delivery a Remoting client names by queue, offset, reset epoch and window
/// end (its checkpoint has no room for a lease number): the current lease when its window ends
/// then, else a handle no lease matches, which [`ack`] answers as done or outdated.
pub fn handle_for_window(
    b: &Broker,
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    epoch: u32,
    window_end_ms: i64,
) -> String {
    let seq = match b.pop.in_flight_lease(&key(group, topic, queue_id), offset) {
        Some(l) if l.deadline_ms == window_end_ms => l.seq,
        _ => 0,
    };
    ReceiptHandle {
        queue_id,
        offset,
        seq,
        epoch,
    }
    .to_string()
}

/// The reset epoch a handle was issued under.
///
/// # Errors
/// A malformed handle.
pub fn epoch_of(handle: &str) -> Result<u32, PopFault> {
    ReceiptHandle::parse(handle).map(|h| h.epoch).map_err(fault)
}

/// Acks one delivery.
///
/// # Errors
/// [`PopFault::Handle`] for a malformed, forged, never issued or outdated handle (the message
/// was delivered again since); a journal that cannot be written.
pub async fn ack(
    b: &Arc<Broker>,
    group: &str,
    topic: &str,
    handle: &str,
) -> Result<AckOutcome, PopFault> {
    let mut done = ack_many(b, group, topic, [handle]).await;
    done.pop()
        .unwrap_or_else(|| Err(Refusal::SystemError("no ack result".into()).into()))
}

/// Acks many deliveries of one group and topic (a consumer's batch ack): one result per handle,
/// in order, each as [`ack`] answers it. In sync flush mode the whole batch waits for one
/// journal sync instead of one each.
pub async fn ack_many<'a>(
    b: &Arc<Broker>,
    group: &str,
    topic: &str,
    handles: impl IntoIterator<Item = &'a str>,
) -> Vec<Result<AckOutcome, PopFault>> {
    let mut moved: Vec<QueueKey> = Vec::new();
    let mut out: Vec<_> = handles
        .into_iter()
        .map(|h| ack_unsynced(b, group, topic, h, &mut moved))
        .collect();
    // AlreadyDone may be a concurrent ack of the same handle that is not on disk yet.
    let wrote = out
        .iter()
        .any(|r| matches!(r, Ok(AckOutcome::Acked | AckOutcome::AlreadyDone)));
    if wrote {
        if let Err(r) = journaled(b).await {
            for o in out.iter_mut().filter(|o| o.is_ok()) {
                *o = Err(PopFault::Refused(r.clone()));
            }
            return out;
        }
    }
    for k in moved {
        // A FIFO queue is handed out again once its batch is acked: wake its waiters.
        b.pull_hold.wake(topic, k.queue_id);
        // The acks are in the journal already; moving the committed offset need not hold up
        // the answer (with write-behind a commit waits up to 10 ms). One commit per queue runs
        // at a time (`begin_commit`), so spawning cannot reorder them.
        let b = b.clone();
        tokio::spawn(async move { settle(&b, &k).await });
    }
    out
}

/// One ack, journaled but not yet synced; `moved` collects the queues whose frontier it may
/// have moved.
fn ack_unsynced(
    b: &Broker,
    group: &str,
    topic: &str,
    handle: &str,
    moved: &mut Vec<QueueKey>,
) -> Result<AckOutcome, PopFault> {
    let h = ReceiptHandle::parse(handle).map_err(fault)?;
    let k = key(group, topic, h.queue_id);
    let outcome = b
        .pop
        .ack(&k, || b.offsets.get(group, topic, h.queue_id), &h)
        .map_err(fault)?;
    match outcome {
        AckOutcome::Acked => {
            if !moved.contains(&k) {
                moved.push(k);
            }
        }
        AckOutcome::Superseded(attempt) => {
            return Err(PopFault::Handle(format!(
                "receipt handle expired: the message was delivered again since (attempt {attempt})"
            )))
        }
        AckOutcome::NeverDelivered => {
            return Err(PopFault::Handle(format!(
                "receipt handle names offset {} of queue {}, which group {group} was never given",
                h.offset, h.queue_id
            )))
        }
        AckOutcome::AlreadyDone | AckOutcome::BeforeReset => {}
    }
    Ok(outcome)
}

/// Gives a delivery a new window; returns the new handle and when it ends.
///
/// # Errors
/// As [`ack`].
pub async fn change_invisible(
    b: &Arc<Broker>,
    group: &str,
    topic: &str,
    handle: &str,
    invisible: Duration,
) -> Result<(String, i64), PopFault> {
    let h = ReceiptHandle::parse(handle).map_err(fault)?;
    let k = key(group, topic, h.queue_id);
    let d = b
        .pop
        .change_invisible(
            &k,
            || b.offsets.get(group, topic, h.queue_id),
            &h,
            now_ms(),
            invisible.as_millis() as i64,
        )
        .map_err(fault)?;
    journaled(b).await?;
    // Receives waiting on this queue sleep until the earliest window they saw end; this one may
    // now end sooner (a push consumer's nack), so they look again.
    b.pull_hold.wake(topic, h.queue_id);
    Ok((d.handle.to_string(), d.lease.deadline_ms))
}

/// Forgets the POP state of every queue matching `pred` (a deleted group or topic), on disk
/// before it returns.
///
/// # Errors
/// The journal could not be written or synced.
pub(crate) async fn forget_pop_state(
    b: &Broker,
    pred: impl Fn(&QueueKey) -> bool,
) -> Result<usize, Refusal> {
    let n = b.pop.forget(pred).map_err(pop_error)?;
    journaled(b).await?;
    Ok(n)
}

/// Copies a message whose attempts are used up into `%DLQ%<group>`, then acks it.
async fn to_dead_letter(b: &Arc<Broker>, k: &QueueKey, d: &Delivery, msg: DecodedMessage) {
    match crate::handlers::retry::store_dead_letter(b, &k.group, msg, d.lease.attempt).await {
        Ok(()) => {
            let _ = b.pop.ack(
                k,
                || b.offsets.get(&k.group, &k.topic, k.queue_id),
                &d.handle,
            );
        }
        // The lease stays: the message is moved on its next expiry.
        Err(e) => {
            warn!(group = %k.group, topic = %k.topic, error = %e, "POP: moving to the dead-letter queue failed")
        }
    }
}

/// Commits the queue's frontier to the offset table until it stops moving.
async fn settle(b: &Arc<Broker>, k: &QueueKey) {
    if let Some(c) = b.pop.begin_commit(k) {
        settle_from(b, c).await;
    }
}

/// Finishes the commit `c` (begun by `begin_commit`), then any the frontier moved on to.
async fn settle_from(b: &Arc<Broker>, mut c: PendingCommit) {
    loop {
        let stored = match b
            .offsets
            .compare_and_commit(c.key.clone(), c.expected, c.new)
            .await
        {
            Ok(stored) => stored,
            Err(e) => {
                warn!(group = %c.key.group, topic = %c.key.topic, error = %e, "POP: committing the offset failed");
                false
            }
        };
        if let Err(e) = b.pop.end_commit(&c, stored) {
            warn!(error = %e, "POP: journaling a commit failed");
        }
        // A refused compare-and-set means someone else moved the position: the next
        // operation on the queue sees it and restarts there.
        if !stored {
            break;
        }
        match b.pop.begin_commit(&c.key) {
            Some(next) => c = next,
            None => break,
        }
    }
}

fn now_ms() -> i64 {
    ferromq_protocol::time::now_ms()
}

/// Moves the delivered message a handle names to `%DLQ%<group>` and acks it (a 5.x push
/// consumer does this itself after its last attempt).
///
/// # Errors
/// As [`ack`]; the store's refusal of the copy.
pub async fn forward_to_dead_letter(
    b: &Arc<Broker>,
    group: &str,
    topic: &str,
    handle: &str,
    attempts: u32,
) -> Result<(), PopFault> {
    let h = ReceiptHandle::parse(handle).map_err(fault)?;
    let k = key(group, topic, h.queue_id);
    match b.pop.in_flight_lease(&k, h.offset) {
        Some(l) if l.seq == h.seq => {}
        _ => {
            return Err(PopFault::Handle(format!(
                "receipt handle expired: offset {} of queue {} is not in flight under it",
                h.offset, h.queue_id
            )))
        }
    }
    let msg = read_at(b, topic, h.queue_id, h.offset).ok_or_else(|| {
        Refusal::SystemError(format!(
            "message at offset {} of {topic}/{} is gone",
            h.offset, h.queue_id
        ))
    })?;
    crate::handlers::retry::store_dead_letter(b, group, msg, attempts)
        .await
        .map_err(|e| PopFault::Refused(e.0))?;
    ack(b, group, topic, handle).await.map(|_| ())
}
