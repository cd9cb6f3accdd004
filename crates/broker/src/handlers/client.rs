//! Client membership: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42).

use std::sync::Arc;
use std::time::Instant;

use ferromq_net::Connection;
use ferromq_protocol::body::{
    self, CheckClientRequestBody, ConsumerListBody, HeartbeatData, LockBatchBody, LockBatchResponse,
};
use ferromq_protocol::codes::perm;
use ferromq_protocol::{names, Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::error::{count_limit, ReplyError};
use crate::groups::FindError;
use crate::Broker;

pub fn heartbeat(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let hb: HeartbeatData = body::parse(&req.body).map_err(Refusal::SystemError)?;
    let named = hb.consumer_data_set.len() + hb.producer_data_set.len();
    if named > b.cfg.max_groups_per_client {
        return Err(Refusal::LimitReached {
            limit: "max-groups-per-client",
            message: format!(
                "the heartbeat names {named} groups; at most {} per client are accepted \
                 (max-groups-per-client)",
                b.cfg.max_groups_per_client
            ),
        }
        .into());
    }
    // Groups that could not be registered; answered after the others are registered, so a
    // limit reached by one group does not take the client's other groups offline. Each is
    // counted here (the answer names only the first).
    let mut refused: Vec<Refusal> = Vec::new();
    let mut refuse = |r: ReplyError| {
        let r = r.into_refusal();
        count_limit(b, &r);
        refused.push(r);
    };
    for c in &hb.consumer_data_set {
        let group = match b.groups.find_or_create(&c.group_name) {
            Ok(g) => g,
            Err(FindError::NotFound(_)) => {
                tracing::debug!(group = %c.group_name, "heartbeat for an unknown group ignored (auto-creation off)");
                continue;
            }
            Err(e @ FindError::LimitReached(_)) => {
                refuse(e.into());
                continue;
            }
        };
        if group.retry_queue_nums > 0 {
            if let Err(e) = b.topics.get_or_create(
                &names::retry_topic(&c.group_name),
                group.retry_queue_nums,
                perm::READ_WRITE,
            ) {
                refuse(e.into());
                continue;
            }
        }
        let changed = b
            .clients
            .register_consumer(conn, &hb.client_id, c, hb.without_sub);
        if changed && group.notify_consumer_ids_changed_enable {
            b.clients.notify_ids_changed(&c.group_name);
        }
    }
    for p in &hb.producer_data_set {
        if names::validate_group(&p.group_name).is_ok() {
            b.clients
                .register_producer(&p.group_name, conn, &hb.client_id);
        }
    }
    if let Some(first) = refused.first() {
        return Err(Refusal::GroupsNotRegistered {
            count: refused.len(),
            first: first.to_string(),
        }
        .into());
    }
    Ok(RemotingCommand::success()
        .with_ext("IS_SUPPORT_HEART_BEAT_V2", "true")
        .with_ext("IS_SUB_CHANGE", "true"))
}

pub fn unregister(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    if let Some(g) = req.ext("producerGroup") {
        b.clients.unregister_producer(g, conn.id());
    }
    if let Some(g) = req.ext("consumerGroup") {
        if b.clients.unregister_consumer(g, conn.id()) {
            b.clients.notify_ids_changed(g);
        }
    }
    Ok(RemotingCommand::success())
}

pub fn consumer_list(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    match b.clients.group(group) {
        Some(info) if !info.channels.is_empty() => Ok(RemotingCommand::success().with_body(
            body::to_vec(&ConsumerListBody {
                consumer_id_list: info.client_ids(),
            }),
        )),
        _ => Err(Refusal::SystemError(format!("no consumer for this group, {group}")).into()),
    }
}

pub fn lock(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let body: LockBatchBody = body::parse(&req.body).map_err(Refusal::SystemError)?;
    // Locks belong to a group the broker knows (bounded by max-groups), and each group holds
    // at most MAX_LOCKS_PER_GROUP queues (LockManager), so the table is bounded however many
    // names requests carry.
    b.groups.find_or_create(&body.consumer_group)?;
    let held = b.locks.try_lock(
        &body.consumer_group,
        &body.client_id,
        &body.mq_set,
        Instant::now(),
    );
    Ok(
        RemotingCommand::success().with_body(body::to_vec(&LockBatchResponse {
            lock_o_k_m_q_set: held,
        })),
    )
}

pub fn unlock(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let body: LockBatchBody = body::parse(&req.body).map_err(Refusal::SystemError)?;
    b.locks
        .unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    Ok(RemotingCommand::success())
}

/// CHECK_CLIENT_CONFIG (46): a push consumer with an SQL92 subscription asks first whether the
/// broker can filter it; an expression that does not compile is refused here, before the
/// consumer starts (SUBSCRIPTION_PARSE_FAILED), as upstream does.
pub fn check_config(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    if req.body.is_empty() {
        return Ok(RemotingCommand::success());
    }
    let body: CheckClientRequestBody = body::parse(&req.body).map_err(Refusal::InvalidParameter)?;
    if let Some(sub) = &body.subscription_data {
        crate::filter::PullFilter::new(sub, &b.filters)?;
    }
    Ok(RemotingCommand::success())
}
