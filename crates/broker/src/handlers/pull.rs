//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! A pull that finds nothing new (PULL_NOT_FOUND) and carries the SUSPEND flag is held until a
//! message arrives on its queue (woken at once through [`crate::pull_hold`]) or its
//! `suspendTimeoutMillis` passes, then re-executed without committing again.

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::Connection;
use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::codes::{pull_flag, response as rs};
use ferromq_protocol::command::FERROMQ_VERSION;
use ferromq_protocol::{HeaderError, LanguageCode, Refusal, RemotingCommand};
use ferromq_store::GetStatus;
use tokio::time::Instant;

use crate::dispatch::Reply;
use crate::filter::PullFilter;
use crate::Broker;

/// Upstream's `forbiddenType` values for NO_PERMISSION on a pull.
const GROUP_FORBIDDEN: i32 = 2;
const TOPIC_FORBIDDEN: i32 = 3;

/// Most messages and bytes one pull returns.
const MAX_PULL_MSGS: usize = 256;
const MAX_PULL_BYTES: usize = 1024 * 1024;

#[derive(Debug)]
struct PullHeader {
    group: String,
    topic: String,
    queue_id: i32,
    queue_offset: i64,
    max_msgs: i32,
    sys_flag: i32,
    commit_offset: i64,
    suspend_ms: i64,
    subscription: Option<String>,
    sub_version: i64,
    expression_type: Option<String>,
}

impl PullHeader {
    fn parse(req: &RemotingCommand) -> Result<Self, HeaderError> {
        Ok(Self {
            group: req.req_str("consumerGroup")?.to_string(),
            topic: req.req_str("topic")?.to_string(),
            queue_id: req.req_i32("queueId")?,
            queue_offset: req.req_i64("queueOffset")?,
            max_msgs: req.opt_i32("maxMsgNums")?.unwrap_or(32),
            sys_flag: req.opt_i32("sysFlag")?.unwrap_or(0),
            commit_offset: req.opt_i64("commitOffset")?.unwrap_or(-1),
            suspend_ms: req.opt_i64("suspendTimeoutMillis")?.unwrap_or(0),
            subscription: req.ext("subscription").map(String::from),
            sub_version: req.opt_i64("subVersion")?.unwrap_or(0),
            expression_type: req.ext("expressionType").map(String::from),
        })
    }

    fn has(&self, flag: i32) -> bool {
        self.sys_flag & flag != 0
    }

    /// What this header keeps in memory while the pull is held.
    fn memory(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.group.len()
            + self.topic.len()
            + self.subscription.as_ref().map_or(0, String::len)
            + self.expression_type.as_ref().map_or(0, String::len)
    }
}

/// Takes the request by value: everything it needs is parsed into a `PullHeader` and the frame
/// (with any body a client attached) is dropped before the pull is held.
pub async fn pull(b: &Arc<Broker>, conn: &Connection, req: RemotingCommand) -> Reply {
    let h = PullHeader::parse(&req)?;
    // A consumer credential's commit must stay within what the group pulled (access control).
    let within = crate::access::commit_within_pull(
        b,
        &req,
        (&h.group, &h.topic, h.queue_id),
        h.commit_offset,
    );
    drop(req);
    let group_cfg = b.groups.find_or_create(&h.group)?;
    if !group_cfg.consume_enable {
        return Err(Refusal::NoPermission {
            message: format!("subscription group no permission, {}", h.group),
            forbidden_type: Some(GROUP_FORBIDDEN),
        }
        .into());
    }
    let topic = b.topics.get(&h.topic).ok_or_else(|| {
        Refusal::TopicNotExist(format!("topic[{}] not exist, apply first please!", h.topic))
    })?;
    if !topic.readable() {
        return Err(Refusal::NoPermission {
            message: format!("the topic[{}] pulling message is forbidden", h.topic),
            forbidden_type: Some(TOPIC_FORBIDDEN),
        }
        .into());
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(Refusal::InvalidParameter(format!(
            "queueId[{}] is illegal, topic:[{}] readQueueNums:[{}]",
            h.queue_id, h.topic, topic.read_queue_nums
        ))
        .into());
    }
    let sub = subscription(b, &h)?;
    // The reset guard judges only commits the pull actually carries, under the offset log's
    // lock (see progress::Progress::apply).
    if let Err(e) = &within {
        tracing::debug!(group = %h.group, topic = %h.topic, "commit carried by a pull refused: {e}");
    }
    if h.has(pull_flag::COMMIT_OFFSET) && h.commit_offset >= 0 && within.is_ok() {
        let key = ferromq_offsets::QueueKey {
            group: h.group.clone(),
            topic: h.topic.clone(),
            queue_id: h.queue_id,
        };
        let guards = &b.pull_state;
        let check = || {
            guards.filter_commit(&h.group, &h.topic, h.queue_id, h.commit_offset)
                == crate::progress::pull_state::CommitDecision::Accept
        };
        if let Err(e) = b
            .offsets
            .commit_if(vec![(key, h.commit_offset)], check)
            .await
        {
            tracing::warn!(group = %h.group, topic = %h.topic, "offset commit with pull failed: {e}");
        }
    }
    // A group pulling a queue it has no offset for resolves a pending intent first; the reset
    // that applies it then redirects this very pull.
    if b.offsets.get(&h.group, &h.topic, h.queue_id).is_none() {
        if let Err(e) = b.progress().resolve(&h.group, &h.topic, h.queue_id).await {
            tracing::warn!(group = %h.group, topic = %h.topic, "intent resolution failed: {e}");
        }
    }
    if let Some(target) = b
        .pull_state
        .redirect(&h.group, &h.topic, h.queue_id, h.queue_offset)
    {
        return Ok(offset_reset(b, &h, target));
    }
    let mut resp = execute(b, &h, &sub);
    if resp.code == rs::PULL_NOT_FOUND && h.has(pull_flag::SUSPEND) && h.suspend_ms > 0 {
        let Some(_held) = b.pull_hold.try_hold(b, h.memory()) else {
            return Err(Refusal::SystemBusy {
                limit: "max-held-pulls",
                message: format!(
                    "[PCBUSY_CLEAN_QUEUE]broker busy: {} long polls are held (max-held-pulls); \
                     pull again later",
                    b.cfg.max_held_pulls
                ),
            }
            .into());
        };
        let wait = Duration::from_millis(h.suspend_ms.min(b.cfg.max_long_poll_ms as i64) as u64);
        resp = hold(b, conn, &h, &sub, Instant::now() + wait).await;
    }
    Ok(resp)
}

/// Waits for new messages until `deadline`, re-reading the store after each wake-up. A client
/// that disconnects releases its held pull at once.
async fn hold(
    b: &Arc<Broker>,
    conn: &Connection,
    h: &PullHeader,
    sub: &SubscriptionData,
    deadline: Instant,
) -> RemotingCommand {
    let notify = b.pull_hold.notifier(&h.topic, h.queue_id);
    let client_applies_resets = applies_reset_notices(conn);
    loop {
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        // A reset while the pull was held moves it at once, unless the client applies the
        // reset notice itself (see `applies_reset_notices`).
        if !client_applies_resets {
            if let Some(target) =
                b.pull_state
                    .redirect(&h.group, &h.topic, h.queue_id, h.queue_offset)
            {
                return offset_reset(b, h, target);
            }
        }
        // Re-check after registering, so an append between the first read and now is not missed.
        let resp = execute(b, h, sub);
        if resp.code != rs::PULL_NOT_FOUND || b.shutdown.is_cancelled() {
            return resp;
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep_until(deadline) => return execute(b, h, sub),
            _ = b.shutdown.cancelled() => return resp,
            _ = conn.closed() => return resp,
        }
    }
}

/// The subscription to filter with: from the request when it carries one, else the one the
/// group registered by heartbeat.
fn subscription(b: &Broker, h: &PullHeader) -> Result<SubscriptionData, Refusal> {
    let sub = if h.has(pull_flag::SUBSCRIPTION) {
        let expr = h.subscription.as_deref().unwrap_or("*");
        let mut s = SubscriptionData::from_expression(&h.topic, expr, h.sub_version);
        s.expression_type = h.expression_type.clone().or(Some("TAG".into()));
        s
    } else {
        let registered = b.clients.subscription(&h.group, &h.topic).ok_or_else(|| {
            Refusal::SubscriptionNotExist(format!(
                "the consumer's subscription not exist, group: {} topic: {}",
                h.group, h.topic
            ))
        })?;
        if registered.sub_version > 0 && h.sub_version > 0 && registered.sub_version < h.sub_version
        {
            return Err(Refusal::SubscriptionNotLatest(
                "the consumer's subscription not latest".into(),
            ));
        }
        registered
    };
    // Refuses an expression that cannot be used before the pull is held.
    PullFilter::new(&sub, &b.filters)?;
    Ok(sub)
}

/// One read of the store, mapped to a response as upstream's table does.
fn execute(b: &Broker, h: &PullHeader, sub: &SubscriptionData) -> RemotingCommand {
    let max_msgs = (h.max_msgs.max(1) as usize).min(MAX_PULL_MSGS);
    let Ok(filter) = PullFilter::new(sub, &b.filters) else {
        // Checked when the pull arrived; a cache cleared since compiles it again.
        return Refusal::SubscriptionParseFailed(
            "the subscription's expression does not compile".into(),
        )
        .to_response();
    };
    let r = b.store.get(
        &h.topic,
        h.queue_id,
        h.queue_offset,
        max_msgs,
        MAX_PULL_BYTES,
        &filter,
    );
    let code = match r.status {
        GetStatus::Found => rs::SUCCESS,
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => rs::PULL_RETRY_IMMEDIATELY,
        GetStatus::OffsetTooSmall | GetStatus::OffsetOverflowBadly => rs::PULL_OFFSET_MOVED,
        GetStatus::OffsetOverflowOne => rs::PULL_NOT_FOUND,
        GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => {
            if h.queue_offset == 0 {
                rs::PULL_NOT_FOUND
            } else {
                rs::PULL_OFFSET_MOVED
            }
        }
    };
    if r.count > 0 {
        b.stats.add_get(r.count as u64);
        b.group_rates.add(
            &h.group,
            &h.topic,
            r.count as u64,
            std::time::Instant::now(),
        );
        b.metrics
            .add_out(&h.topic, r.count as u64, r.body.len() as u64);
    }
    let delivered = matches!(
        r.status,
        GetStatus::Found | GetStatus::NoMatchedMessage | GetStatus::OffsetOverflowOne
    );
    b.pull_state.record_pull(
        &h.group,
        &h.topic,
        h.queue_id,
        r.next_begin_offset,
        delivered,
    );
    let mut resp = RemotingCommand::response(code, Some(r.status.as_str().to_string()))
        .with_ext("suggestWhichBrokerId", 0)
        .with_ext("nextBeginOffset", r.next_begin_offset)
        .with_ext("minOffset", r.min_offset)
        .with_ext("maxOffset", r.max_offset);
    if code == rs::SUCCESS {
        resp.body = r.body;
    }
    resp
}

/// The Java client's language code and its first 4.x version (`MQVersion.Version.V4_0_0`).
/// ali-ons also says JAVA, with version 121, and ignores RESET_CONSUMER_CLIENT_OFFSET.
const JAVA_V4_0_0: i32 = 213;

/// Whether the client on `conn` applies RESET_CONSUMER_CLIENT_OFFSET (220) on its own, as the
/// Java client 4.x and 5.x does: it pauses, drops its queues, stores the new offsets and resumes
/// there. Such a client's held pull is not redirected when a reset wakes it: doing both makes
/// the client drop and re-add each queue while its reset handler runs, and the 5.x client then
/// pulls every queue twice — each replayed message delivered twice. Its held pull returns
/// normally and the paused client discards it, as against Apache RocketMQ, which never
/// redirects; a fresh pull at a stale offset is still redirected.
///
/// ferromq's own client also says JAVA, with [`FERROMQ_VERSION`], and does not handle 220: it
/// keeps the redirect (so does a Java 5.3.3 client, which announces the same number).
fn applies_reset_notices(conn: &Connection) -> bool {
    let (language, version) = conn.peer_info();
    language == LanguageCode::JAVA && version >= JAVA_V4_0_0 && version != FERROMQ_VERSION
}

/// PULL_OFFSET_MOVED to a reset's target: the client adopts `nextBeginOffset` and pulls there.
fn offset_reset(b: &Broker, h: &PullHeader, target: i64) -> RemotingCommand {
    RemotingCommand::response(rs::PULL_OFFSET_MOVED, Some("OFFSET_RESET".to_string()))
        .with_ext("suggestWhichBrokerId", 0)
        .with_ext("nextBeginOffset", target)
        .with_ext("minOffset", b.store.min_offset(&h.topic, h.queue_id))
        .with_ext("maxOffset", b.store.max_offset(&h.topic, h.queue_id))
}
