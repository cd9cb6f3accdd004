//! updateSubGroup, deleteSubGroup, consumerConnection and cloneGroupOffset.

use ferromq_protocol::body::{self, SubscriptionGroupConfig};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::Value;

use super::at_once;
use super::broadcast::{body_json, connection_set, each_broker_send};
use super::cluster::where_to;
use crate::args::Output;
use crate::offsets;
use crate::output::{print_json, table};
use crate::{AdminError, Ctx, EXIT_OK};

/// The group settings updateSubGroup can change beside its defaults.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SubGroupOptions {
    pub orderly: Option<bool>,
    pub retry_max_times: Option<i32>,
}

/// updateSubGroup: creates or updates the subscription group on `-b` one broker or every master
/// of `-c`.
///
/// # Errors
/// An unknown cluster, or a failure on every broker.
pub(super) async fn update_sub_group(
    ctx: &Ctx,
    group: &str,
    cluster: Option<String>,
    broker_addr: Option<String>,
    options: SubGroupOptions,
) -> Result<i32, AdminError> {
    let targets = where_to(ctx, cluster, broker_addr).await?;
    // mqadmin's updateSubGroup starts from these two off (the class defaults, which a broker's
    // auto-created groups keep, have them on): the same command leaves the same group.
    let mut config = SubscriptionGroupConfig {
        consume_from_min_enable: false,
        consume_broadcast_enable: false,
        ..SubscriptionGroupConfig::new(group)
    };
    if let Some(o) = options.orderly {
        config.consume_message_orderly = o;
    }
    if let Some(r) = options.retry_max_times {
        config.retry_max_times = r;
    }
    let cmd = RemotingCommand::request(rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(body::to_vec(&config));
    each_broker_send(ctx, &targets, "updateSubGroup", &cmd).await
}

/// deleteSubGroup: deletes the subscription group (its offsets too with `remove_offset`) on `-b`
/// one broker or every master of `-c`.
///
/// # Errors
/// An unknown cluster, or a failure on every broker.
pub(super) async fn delete_sub_group(
    ctx: &Ctx,
    group: &str,
    cluster: Option<String>,
    broker_addr: Option<String>,
    remove_offset: bool,
) -> Result<i32, AdminError> {
    let targets = where_to(ctx, cluster, broker_addr).await?;
    let cmd = RemotingCommand::request(rq::DELETE_SUBSCRIPTIONGROUP)
        .with_ext("groupName", group)
        .with_ext("cleanOffset", remove_offset);
    each_broker_send(ctx, &targets, "deleteSubGroup", &cmd).await
}

/// cloneGroupOffset: `offsets clone`, applied at once, on ferromq brokers; CLONE_GROUP_OFFSET
/// (314) on every master otherwise.
///
/// # Errors
/// As `offsets clone` does, or a failure on every broker.
pub(super) async fn clone_group_offset(
    ctx: &Ctx,
    src: &str,
    dst: &str,
    topic: Option<String>,
) -> Result<i32, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    if ctx.cluster.all_ferro(&all).await? {
        let topics: Vec<String> = topic.into_iter().collect();
        return offsets::clone(ctx, src, dst, &topics, &at_once()).await;
    }
    let mut cmd = RemotingCommand::request(rq::CLONE_GROUP_OFFSET)
        .with_ext("srcGroup", src)
        .with_ext("destGroup", dst)
        .with_ext("offline", true);
    if let Some(t) = &topic {
        cmd.put_ext("topic", t);
    }
    each_broker_send(ctx, &all, "cloneGroupOffset", &cmd).await
}

/// consumerConnection: the group's clients (GET_CONSUMER_CONNECTION_LIST), from the first
/// master that knows the group online.
///
/// # Errors
/// [`AdminError::Failed`] when no master has the group online.
pub(super) async fn consumer_connection(ctx: &Ctx, group: &str) -> Result<i32, AdminError> {
    let brokers = ctx.cluster.all_brokers().await?;
    let mut last = None;
    for b in &brokers {
        let cmd = RemotingCommand::request(rq::GET_CONSUMER_CONNECTION_LIST)
            .with_ext("consumerGroup", group);
        match ctx.cluster.client.remoting.invoke(&b.addr, cmd).await {
            Ok(r) => {
                print_connections(ctx, &body_json(&r));
                return Ok(EXIT_OK);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(AdminError::Failed(format!(
        "group {group} is not online on any broker ({})",
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// An upstream `ConsumerConnection` body: as it is in JSON, else a table of clients.
fn print_connections(ctx: &Ctx, v: &Value) {
    if ctx.output == Output::Json {
        print_json(v);
        return;
    }
    let rows: Vec<Vec<String>> = connection_set(v)
        .map(|c| {
            ["clientId", "clientAddr", "language", "version"]
                .iter()
                .map(|k| match &c[*k] {
                    Value::String(s) => s.clone(),
                    o => o.to_string(),
                })
                .collect()
        })
        .collect();
    print!(
        "{}",
        table(&["CLIENT-ID", "ADDR", "LANGUAGE", "VERSION"], &rows)
    );
    println!(
        "consumeType {} messageModel {} consumeFromWhere {}",
        v["consumeType"].as_str().unwrap_or("-"),
        v["messageModel"].as_str().unwrap_or("-"),
        v["consumeFromWhere"].as_str().unwrap_or("-")
    );
}
