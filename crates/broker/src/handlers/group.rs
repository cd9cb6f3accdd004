//! Subscription groups: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), GET_SUBSCRIPTIONGROUP_CONFIG (352),
//! DELETE_SUBSCRIPTIONGROUP (207).

use std::sync::Arc;

use ferromq_protocol::body::{self, SubscriptionGroupConfig};
use ferromq_protocol::{Refusal, RemotingCommand};

use super::topic::{written, CONFIG_WRITE_TIMEOUT};
use crate::dispatch::Reply;
use crate::pop::forget_pop_state;
use crate::progress::model::DeleteRequest;
use crate::Broker;
use ferromq_net::Connection;

pub async fn create(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let cfg: SubscriptionGroupConfig = body::parse(&req.body).map_err(Refusal::InvalidParameter)?;
    let generation = b.groups.upsert(cfg)?;
    written(
        b.groups
            .wait_written(generation, CONFIG_WRITE_TIMEOUT)
            .await,
    )?;
    Ok(RemotingCommand::success())
}

pub fn get_all(b: &Arc<Broker>) -> Reply {
    let snap = b.groups.snapshot();
    let total = snap.subscription_group_table.len();
    Ok(RemotingCommand::success()
        .with_ext("totalGroupNum", total)
        .with_body(body::to_vec(&snap)))
}

pub fn get_one(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("group").or_else(|_| req.req_str("groupName"))?;
    let cfg = b.groups.get(group).ok_or_else(|| {
        Refusal::SubscriptionGroupNotExist(format!("subscription group [{group}] does not exist"))
    })?;
    Ok(RemotingCommand::success().with_body(body::to_vec(&cfg)))
}

pub async fn delete(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    // Parse every header before changing anything.
    let group = req.req_str("groupName")?;
    let clean = req.opt_bool("cleanOffset")?.unwrap_or(false);
    if clean {
        // Through the progress service, so the deletion is recorded and can be undone.
        let request = DeleteRequest {
            group: group.to_string(),
            topics: None,
            dry_run: false,
            expect: None,
        };
        b.progress()
            .delete_offsets(request, &conn.remote_addr().to_string())
            .await?;
        // Its offsets are gone, so are its deliveries in flight.
        if let Err(e) = forget_pop_state(b, |k| k.group == group).await {
            tracing::warn!(%group, error = %e, "forgetting the group's POP state failed");
        }
    }
    let generation = b.groups.delete(group);
    b.locks.remove_group(group);
    b.pull_state.remove_group(group);
    b.group_rates.forget_group(group);
    if let Some(generation) = generation {
        written(
            b.groups
                .wait_written(generation, CONFIG_WRITE_TIMEOUT)
                .await,
        )?;
    }
    Ok(RemotingCommand::success())
}
