//! mqadmin's command names, as thin aliases over the modern family (and the cluster calls that
//! have no modern counterpart yet). They apply at once, as mqadmin does.

use std::collections::BTreeSet;

use ferromq_protocol::body::progress::{
    ChangeRequest, DescribeRequest, GroupLag, PlanResult, QueueOffset, ResetRequest, ResetSpec,
    TopicScope,
};
use ferromq_protocol::body::{self, SubscriptionGroupConfig, TopicConfig, TopicList};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

use crate::args::{AdminCommand, ApplyArgs, Output};
use crate::cluster::Broker;
use crate::offsets::{self, ResetScope};
use crate::output::{print_json, table};
use crate::time::format_age;
use crate::{AdminError, Ctx, EXIT_OK, EXIT_PARTIAL};

fn at_once() -> ApplyArgs {
    ApplyArgs {
        execute: true,
        yes: true,
        export: None,
    }
}

pub async fn run(ctx: &Ctx, cmd: AdminCommand) -> Result<i32, AdminError> {
    match cmd {
        AdminCommand::ResetOffsetByTime {
            group,
            topic,
            timestamp,
            force,
            cluster,
            broker_addr,
            queue,
            offset,
        } => {
            let spec = match offset {
                Some(o) if o < 0 => {
                    return Err(AdminError::Usage("-o/--offset must be ≥ 0".into()))
                }
                Some(o) => ResetSpec::Offset(o),
                None => ResetSpec::Timestamp(timestamp),
            };
            let target = UpstreamReset {
                group,
                topic,
                timestamp,
                force,
                cluster,
                single: broker_addr.zip(queue),
                offset,
            };
            reset_upstream(ctx, target, spec).await
        }
        AdminCommand::SkipAccumulatedMessage {
            group,
            topic,
            force,
            cluster,
        } => {
            let target = UpstreamReset {
                group,
                topic,
                timestamp: -1,
                force,
                cluster,
                single: None,
                offset: None,
            };
            reset_upstream(ctx, target, ResetSpec::Latest).await
        }
        AdminCommand::CloneGroupOffset {
            src, dst, topic, ..
        } => {
            let all = ctx.cluster.all_brokers().await?;
            if ctx.cluster.all_ferro(&all).await? {
                let topics: Vec<String> = topic.into_iter().collect();
                return offsets::clone(ctx, &src, &dst, &topics, &at_once()).await;
            }
            // CLONE_GROUP_OFFSET (314) on every master.
            let mut cmd = RemotingCommand::request(rq::CLONE_GROUP_OFFSET)
                .with_ext("srcGroup", &src)
                .with_ext("destGroup", &dst)
                .with_ext("offline", true);
            if let Some(t) = &topic {
                cmd.put_ext("topic", t);
            }
            each_broker_send(ctx, &all, "cloneGroupOffset", &cmd).await
        }
        AdminCommand::ConsumerProgress {
            group,
            topic,
            show_clients,
            cluster: _,
        } => match group {
            Some(g) => {
                let topics: Vec<String> = topic.into_iter().collect();
                let code = offsets::describe(ctx, &g, &topics).await?;
                if show_clients && ctx.output == Output::Table {
                    println!();
                    if let Err(e) = consumer_connection(ctx, &g).await {
                        println!("no client connected: {e}");
                    }
                }
                Ok(code)
            }
            None => progress_all(ctx).await,
        },
        AdminCommand::TopicList => topic_list(ctx).await,
        AdminCommand::TopicRoute { topic } => match ctx.cluster.route(&topic).await? {
            Some(r) => {
                print_json(&r);
                Ok(EXIT_OK)
            }
            None => Err(AdminError::Failed(format!("no route for topic {topic}"))),
        },
        AdminCommand::ClusterList => cluster_list(ctx).await,
        AdminCommand::UpdateTopic {
            topic,
            cluster,
            broker_addr,
            read,
            write,
            perm,
            order,
            attributes,
            ..
        } => {
            let mut cfg = TopicConfig::new(&topic, read);
            cfg.write_queue_nums = write;
            cfg.perm = perm;
            cfg.order = order;
            if let Some(a) = attributes {
                cfg.attributes = parse_attributes(&a)?;
            }
            let targets = match broker_addr {
                Some(a) => vec![Broker {
                    name: a.clone(),
                    addr: a,
                }],
                None => masters_of(ctx, cluster.as_deref().unwrap_or_default()).await?,
            };
            let cmd = ferromq_client::requests::create_topic(&cfg);
            each_broker_send(ctx, &targets, "updateTopic", &cmd).await
        }
        AdminCommand::DeleteTopic { topic, cluster } => {
            let targets = match &cluster {
                Some(c) => masters_of(ctx, c).await?,
                None => ctx
                    .cluster
                    .topic_brokers(&topic)
                    .await?
                    .ok_or_else(|| AdminError::Failed(format!("topic {topic} does not exist")))?
                    .into_iter()
                    .map(|(b, _)| b)
                    .collect(),
            };
            let cmd =
                RemotingCommand::request(rq::DELETE_TOPIC_IN_BROKER).with_ext("topic", &topic);
            let code = each_broker_send(ctx, &targets, "deleteTopic", &cmd).await?;
            for ns in &ctx.cluster.namesrv {
                let mut cmd =
                    RemotingCommand::request(rq::DELETE_TOPIC_IN_NAMESRV).with_ext("topic", &topic);
                if let Some(c) = &cluster {
                    cmd.put_ext("clusterName", c);
                }
                if let Err(e) = ctx.cluster.client.remoting.invoke(ns, cmd).await {
                    eprintln!("warning: name server {ns}: {e}");
                }
            }
            Ok(code)
        }
        AdminCommand::TopicStatus { topic } => topic_status(ctx, &topic).await,
        AdminCommand::ConsumerConnection { group } => consumer_connection(ctx, &group).await,
        AdminCommand::BrokerStatus { broker_addr } => {
            let targets = match broker_addr {
                Some(a) => vec![Broker {
                    name: a.clone(),
                    addr: a,
                }],
                None => ctx.cluster.all_brokers().await?,
            };
            broker_status(ctx, &targets).await
        }
        AdminCommand::UpdateSubGroup {
            group,
            cluster,
            broker_addr,
        } => {
            let targets = where_to(ctx, cluster, broker_addr).await?;
            let cmd = RemotingCommand::request(rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(body::to_vec(&SubscriptionGroupConfig::new(&group)));
            each_broker_send(ctx, &targets, "updateSubGroup", &cmd).await
        }
        AdminCommand::DeleteSubGroup {
            group,
            cluster,
            broker_addr,
            remove_offset,
        } => {
            let targets = where_to(ctx, cluster, broker_addr).await?;
            let cmd = RemotingCommand::request(rq::DELETE_SUBSCRIPTIONGROUP)
                .with_ext("groupName", &group)
                .with_ext("cleanOffset", remove_offset);
            each_broker_send(ctx, &targets, "deleteSubGroup", &cmd).await
        }
        AdminCommand::Offsets { .. } | AdminCommand::Completions { .. } => Ok(EXIT_OK),
    }
}

/// What resetOffsetByTime / skipAccumulatedMessage were asked to do.
struct UpstreamReset {
    group: String,
    topic: String,
    /// The time for INVOKE_BROKER_TO_RESET_OFFSET (−1: the end of each queue).
    timestamp: i64,
    force: bool,
    cluster: Option<String>,
    /// Single-queue mode: broker address and queue id.
    single: Option<(String, i32)>,
    /// Single-queue mode: an explicit offset.
    offset: Option<i64>,
}

/// Parses mqadmin's `+key=value,+key2=value2` (a `-key` entry removes the key, so it is left
/// out of a new topic's attributes).
fn parse_attributes(s: &str) -> Result<std::collections::BTreeMap<String, String>, AdminError> {
    let mut out = std::collections::BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.starts_with('-') {
            continue;
        }
        let kv = part.strip_prefix('+').ok_or_else(|| {
            AdminError::Usage(format!(
                "attribute {part:?}: write +key=value (or -key to remove one)"
            ))
        })?;
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(AdminError::Usage(format!(
                    "attribute {part:?}: write +key=value"
                )))
            }
        }
    }
    Ok(out)
}

/// resetOffsetByTime / skipAccumulatedMessage: the modern reset, applied at once, on ferromq
/// brokers; INVOKE_BROKER_TO_RESET_OFFSET (222) on others (with UPDATE_CONSUMER_OFFSET first in
/// single-queue mode, as mqadmin does).
async fn reset_upstream(ctx: &Ctx, r: UpstreamReset, spec: ResetSpec) -> Result<i32, AdminError> {
    let holders = ctx
        .cluster
        .topic_brokers(&r.topic)
        .await?
        .ok_or_else(|| AdminError::Failed(format!("topic {} does not exist", r.topic)))?;
    let mut brokers: Vec<Broker> = holders.into_iter().map(|(b, _)| b).collect();
    if let Some(c) = &r.cluster {
        let members = masters_of(ctx, c).await?;
        brokers.retain(|b| members.iter().any(|m| m.name == b.name));
    }
    if let Some((addr, _)) = &r.single {
        brokers.retain(|b| b.addr == *addr || b.name == *addr);
    }
    if brokers.is_empty() {
        return Err(AdminError::Failed(format!(
            "no broker {}holds topic {}",
            match (&r.single, &r.cluster) {
                (Some((a, _)), _) => format!("at {a} "),
                (None, Some(c)) => format!("of cluster {c} "),
                _ => String::new(),
            },
            r.topic
        )));
    }
    let queues = r.single.as_ref().map(|(_, q)| vec![*q]);
    let all_ferro = ctx.cluster.all_ferro(&brokers).await?;
    if all_ferro && !r.force {
        return reset_not_forward(ctx, &brokers, &r.group, &r.topic, queues, &spec).await;
    }
    if all_ferro {
        let scope = ResetScope {
            groups: vec![r.group],
            all_groups: false,
            topics: vec![(r.topic, queues)],
            all_topics: false,
            allow_intents: false,
            brokers: Some(brokers.iter().map(|b| b.name.clone()).collect()),
        };
        return offsets::reset_core(ctx, scope, spec, &at_once()).await;
    }
    let r = &r;
    each_broker(ctx, &brokers, "reset", |b| async move {
        let remoting = &ctx.cluster.client.remoting;
        let mut cmd = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
            .with_ext("group", &r.group)
            .with_ext("topic", &r.topic)
            .with_ext("timestamp", r.timestamp)
            .with_ext("isForce", r.force)
            .with_ext("offset", -1);
        if let Some((_, q)) = &r.single {
            let offset = match r.offset {
                Some(o) => o,
                None => {
                    let search = RemotingCommand::request(rq::SEARCH_OFFSET_BY_TIMESTAMP)
                        .with_ext("topic", &r.topic)
                        .with_ext("queueId", *q)
                        .with_ext("timestamp", r.timestamp);
                    let found = remoting.invoke(&b.addr, search).await?;
                    found.opt_i64("offset").ok().flatten().unwrap_or(0)
                }
            };
            ctx.cluster
                .client
                .update_offset(&b.addr, &r.group, &r.topic, *q, offset)
                .await?;
            cmd.put_ext("queueId", *q);
            cmd.put_ext("offset", offset);
            cmd.put_ext("timestamp", 0);
        }
        remoting.invoke(&b.addr, cmd).await.map(|_| ())
    })
    .await
}

/// Sends the same request to every broker (see [`each_broker`]).
async fn each_broker_send(
    ctx: &Ctx,
    brokers: &[Broker],
    what: &str,
    cmd: &RemotingCommand,
) -> Result<i32, AdminError> {
    each_broker(ctx, brokers, what, |b| {
        let cmd = cmd.clone();
        async move {
            ctx.cluster
                .client
                .remoting
                .invoke(&b.addr, cmd)
                .await
                .map(|_| ())
        }
    })
    .await
}

/// Runs `f` on every broker; exit 3 when some failed after others succeeded.
async fn each_broker<F, Fut>(
    ctx: &Ctx,
    brokers: &[Broker],
    what: &str,
    f: F,
) -> Result<i32, AdminError>
where
    F: Fn(Broker) -> Fut,
    Fut: std::future::Future<Output = Result<(), ferromq_client::ClientError>>,
{
    let mut results = Vec::new();
    for b in brokers {
        let r = f(b.clone()).await;
        results.push(json!({
            "brokerName": b.name,
            "addr": b.addr,
            "ok": r.is_ok(),
            "error": r.as_ref().err().map(|e| e.to_string()),
        }));
    }
    let ok = results.iter().filter(|r| r["ok"] == true).count();
    if ctx.output == Output::Json {
        print_json(&json!({"operation": what, "brokers": results}));
    } else {
        for r in &results {
            match r["error"].as_str() {
                None => println!(
                    "{what}: done on {} ({})",
                    r["brokerName"].as_str().unwrap_or(""),
                    r["addr"].as_str().unwrap_or("")
                ),
                Some(e) => println!(
                    "{what}: FAILED on {} ({}): {e}",
                    r["brokerName"].as_str().unwrap_or(""),
                    r["addr"].as_str().unwrap_or("")
                ),
            }
        }
    }
    if ok == results.len() {
        Ok(EXIT_OK)
    } else if ok == 0 {
        Err(AdminError::Failed(format!("{what} failed on every broker")))
    } else {
        Ok(EXIT_PARTIAL)
    }
}

async fn masters_of(ctx: &Ctx, cluster: &str) -> Result<Vec<Broker>, AdminError> {
    let info = ctx.cluster.cluster_info().await?;
    let names = info.cluster_addr_table.get(cluster).ok_or_else(|| {
        AdminError::Failed(format!(
            "no cluster named {cluster} (clusters: {})",
            info.cluster_addr_table
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let v: Vec<Broker> = names
        .iter()
        .filter_map(|n| info.broker_addr_table.get(n))
        .filter_map(|b| {
            b.master_addr().map(|a| Broker {
                name: b.broker_name.clone(),
                addr: a.to_string(),
            })
        })
        .collect();
    if v.is_empty() {
        return Err(AdminError::Failed(format!(
            "cluster {cluster} has no master"
        )));
    }
    Ok(v)
}

async fn topic_list(ctx: &Ctx) -> Result<i32, AdminError> {
    let r = ctx
        .cluster
        .namesrv_call(RemotingCommand::request(
            rq::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        ))
        .await?;
    let list: TopicList =
        body::parse(&r.body).map_err(|e| AdminError::Failed(format!("topic list: {e}")))?;
    let mut topics = list.topic_list;
    topics.sort();
    if ctx.output == Output::Json {
        print_json(&json!({ "topics": topics }));
    } else {
        for t in topics {
            println!("{t}");
        }
    }
    Ok(EXIT_OK)
}

async fn cluster_list(ctx: &Ctx) -> Result<i32, AdminError> {
    let info = ctx.cluster.cluster_info().await?;
    let mut rows = Vec::new();
    let mut js = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        for n in names {
            if let Some(b) = info.broker_addr_table.get(n) {
                for (id, addr) in &b.broker_addrs {
                    rows.push(vec![cluster.clone(), n.clone(), id.clone(), addr.clone()]);
                    js.push(
                        json!({"cluster": cluster, "brokerName": n, "brokerId": id, "addr": addr}),
                    );
                }
            }
        }
    }
    if ctx.output == Output::Json {
        print_json(&json!({ "brokers": js }));
    } else {
        print!("{}", table(&["CLUSTER", "BROKER", "BID", "ADDR"], &rows));
    }
    Ok(EXIT_OK)
}

/// consumerProgress without -g: every group with offsets, its total lag and members.
async fn progress_all(ctx: &Ctx) -> Result<i32, AdminError> {
    let groups = offsets::all_groups(ctx).await?;
    let brokers = ctx.cluster.all_brokers().await?;
    let mut rows = Vec::new();
    let mut js = Vec::new();
    for g in groups {
        let (mut lag, mut lag_ms) = (0i64, 0i64);
        let mut online = BTreeSet::new();
        for b in &brokers {
            let req = DescribeRequest {
                group: g.clone(),
                topics: None,
            };
            let r: GroupLag = ctx
                .cluster
                .ferro(b, rq::FERRO_DESCRIBE_GROUP, &req)
                .await
                .map_err(|e| AdminError::broker(b, &e))?;
            lag += r.total_lag;
            lag_ms = r.queues.iter().map(|q| q.lag_ms).fold(lag_ms, i64::max);
            online.extend(r.online_clients);
        }
        rows.push(vec![
            g.clone(),
            online.len().to_string(),
            lag.to_string(),
            format_age(lag_ms),
        ]);
        js.push(json!({"group": g, "onlineClients": online, "totalLag": lag, "maxLagMs": lag_ms}));
    }
    if ctx.output == Output::Json {
        print_json(&json!({ "groups": js }));
    } else {
        print!(
            "{}",
            table(&["GROUP", "ONLINE", "DIFF-TOTAL", "LAG-TIME"], &rows)
        );
    }
    Ok(EXIT_OK)
}

async fn where_to(
    ctx: &Ctx,
    cluster: Option<String>,
    broker_addr: Option<String>,
) -> Result<Vec<Broker>, AdminError> {
    match broker_addr {
        Some(a) => Ok(vec![Broker {
            name: a.clone(),
            addr: a,
        }]),
        None => masters_of(ctx, cluster.as_deref().unwrap_or_default()).await,
    }
}

/// A response body as JSON (fastjson's non-standard keys normalised).
fn body_json(r: &RemotingCommand) -> Value {
    ferromq_protocol::json::from_slice::<Value>(&r.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into_owned()))
}

async fn topic_status(ctx: &Ctx, topic: &str) -> Result<i32, AdminError> {
    let holders = ctx
        .cluster
        .topic_brokers(topic)
        .await?
        .ok_or_else(|| AdminError::Failed(format!("topic {topic} does not exist")))?;
    let mut queues = Vec::new();
    for (b, _) in &holders {
        let cmd = RemotingCommand::request(rq::GET_TOPIC_STATS_INFO).with_ext("topic", topic);
        let r = ctx
            .cluster
            .client
            .remoting
            .invoke(&b.addr, cmd)
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        let v = body_json(&r);
        for (k, stats) in v["offsetTable"].as_object().into_iter().flatten() {
            let mq: Value = ferromq_protocol::json::parse_object_key(k).unwrap_or_default();
            queues.push(json!({
                "brokerName": b.name,
                "queueId": mq["queueId"],
                "minOffset": stats["minOffset"],
                "maxOffset": stats["maxOffset"],
                "lastUpdateTimestamp": stats["lastUpdateTimestamp"],
            }));
        }
    }
    queues.sort_by(|a, b| {
        (a["brokerName"].as_str(), a["queueId"].as_i64())
            .cmp(&(b["brokerName"].as_str(), b["queueId"].as_i64()))
    });
    if ctx.output == Output::Json {
        print_json(&json!({"topic": topic, "queues": queues}));
    } else {
        let rows: Vec<Vec<String>> = queues
            .iter()
            .map(|q| {
                let last = q["lastUpdateTimestamp"].as_i64().unwrap_or(0);
                vec![
                    q["brokerName"].as_str().unwrap_or("").to_string(),
                    q["queueId"].to_string(),
                    q["minOffset"].to_string(),
                    q["maxOffset"].to_string(),
                    if last > 0 {
                        crate::time::format_ms(last)
                    } else {
                        "-".into()
                    },
                ]
            })
            .collect();
        print!(
            "{}",
            table(&["BROKER", "QUEUE", "MIN", "MAX", "LAST-UPDATED"], &rows)
        );
    }
    Ok(EXIT_OK)
}

async fn consumer_connection(ctx: &Ctx, group: &str) -> Result<i32, AdminError> {
    let brokers = ctx.cluster.all_brokers().await?;
    let mut last = None;
    for b in &brokers {
        let cmd = RemotingCommand::request(rq::GET_CONSUMER_CONNECTION_LIST)
            .with_ext("consumerGroup", group);
        match ctx.cluster.client.remoting.invoke(&b.addr, cmd).await {
            Ok(r) => {
                let v = body_json(&r);
                if ctx.output == Output::Json {
                    print_json(&v);
                } else {
                    let rows: Vec<Vec<String>> = v["connectionSet"]
                        .as_array()
                        .into_iter()
                        .flatten()
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

async fn broker_status(ctx: &Ctx, brokers: &[Broker]) -> Result<i32, AdminError> {
    let mut all = Vec::new();
    for b in brokers {
        let r = ctx
            .cluster
            .client
            .remoting
            .invoke(
                &b.addr,
                RemotingCommand::request(rq::GET_BROKER_RUNTIME_INFO),
            )
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        let v = body_json(&r);
        all.push(json!({"brokerName": b.name, "addr": b.addr, "table": v["table"]}));
    }
    if ctx.output == Output::Json {
        print_json(&json!({ "brokers": all }));
    } else {
        for b in &all {
            println!(
                "{} ({})",
                b["brokerName"].as_str().unwrap_or(""),
                b["addr"].as_str().unwrap_or("")
            );
            for (k, v) in b["table"].as_object().into_iter().flatten() {
                println!(
                    "  {k:<40} : {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                );
            }
        }
    }
    Ok(EXIT_OK)
}

/// mqadmin's `-f false`: a queue moves only when the target is before its committed offset (or it
/// has none); the others keep their position. Planned with the time spec, applied per queue.
async fn reset_not_forward(
    ctx: &Ctx,
    brokers: &[Broker],
    group: &str,
    topic: &str,
    queues: Option<Vec<i32>>,
    spec: &ResetSpec,
) -> Result<i32, AdminError> {
    let mut jobs = Vec::new();
    for b in brokers {
        let request = |spec: ResetSpec, queues: Option<Vec<i32>>| ResetRequest {
            groups: vec![group.to_string()],
            topics: vec![TopicScope {
                topic: topic.to_string(),
                queues,
            }],
            spec,
            dry_run: true,
            allow_intents: false,
            expect: None,
        };
        let plan: PlanResult = ctx
            .cluster
            .ferro(
                b,
                rq::FERRO_RESET_OFFSETS,
                &request(spec.clone(), queues.clone()),
            )
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        let entries: Vec<QueueOffset> = plan
            .queues
            .iter()
            .filter_map(|q| match (q.current, q.target) {
                (None, Some(t)) => Some((q, t)),
                (Some(c), Some(t)) if t < c => Some((q, t)),
                _ => None,
            })
            .map(|(q, offset)| QueueOffset {
                topic: q.topic.clone(),
                queue_id: q.queue_id,
                offset,
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let ids: Vec<i32> = entries.iter().map(|e| e.queue_id).collect();
        jobs.push((
            b.clone(),
            ChangeRequest::Reset(request(ResetSpec::PerQueue(entries), Some(ids))),
        ));
    }
    if jobs.is_empty() {
        println!("nothing to reset: no queue of {group} on {topic} is past the target (-f false keeps them)");
        return Ok(EXIT_OK);
    }
    offsets::plan_apply(ctx, jobs, &at_once(), 1, "reset").await
}

/// consumerProgress over upstream codes: GET_CONSUME_STATS (208) per broker, members from
/// GET_CONSUMER_CONNECTION_LIST (203). Printed like `offsets describe` (lag time unknown).
pub async fn describe_upstream(
    ctx: &Ctx,
    group: &str,
    topics: &[String],
    brokers: &[Broker],
) -> Result<i32, AdminError> {
    let mut queues = Vec::new();
    let mut online = BTreeSet::new();
    for b in brokers {
        let mut cmd =
            RemotingCommand::request(rq::GET_CONSUME_STATS).with_ext("consumerGroup", group);
        if !topics.is_empty() {
            cmd.put_ext("topicList", topics.join(";"));
        }
        let r = ctx
            .cluster
            .client
            .remoting
            .invoke(&b.addr, cmd)
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        let v = body_json(&r);
        for (k, w) in v["offsetTable"].as_object().into_iter().flatten() {
            let mq: Value = ferromq_protocol::json::parse_object_key(k).unwrap_or_default();
            let max = w["brokerOffset"].as_i64().unwrap_or(0);
            let committed = w["consumerOffset"].as_i64().unwrap_or(0);
            queues.push(json!({
                "brokerName": b.name,
                "topic": mq["topic"],
                "queueId": mq["queueId"],
                "committed": committed,
                "maxOffset": max,
                "lag": (max - committed).max(0),
                "lagMs": null,
                "pullOffset": w["pullOffset"],
                "lastTimestamp": w["lastTimestamp"],
            }));
        }
        let cmd = RemotingCommand::request(rq::GET_CONSUMER_CONNECTION_LIST)
            .with_ext("consumerGroup", group);
        if let Ok(r) = ctx.cluster.client.remoting.invoke(&b.addr, cmd).await {
            for c in body_json(&r)["connectionSet"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(id) = c["clientId"].as_str() {
                    online.insert(id.to_string());
                }
            }
        }
    }
    crate::output::sort_queues(&mut queues);
    let total: i64 = queues.iter().filter_map(|q| q["lag"].as_i64()).sum();
    if ctx.output == Output::Json {
        print_json(&json!({
            "group": group,
            "totalLag": total,
            "onlineClients": online,
            "queues": queues,
            "extensions": false,
        }));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|q| {
            let last = q["lastTimestamp"].as_i64().unwrap_or(0);
            vec![
                q["topic"].as_str().unwrap_or("").to_string(),
                q["brokerName"].as_str().unwrap_or("").to_string(),
                q["queueId"].to_string(),
                q["committed"].to_string(),
                q["maxOffset"].to_string(),
                q["lag"].to_string(),
                if last > 0 {
                    crate::time::format_ms(last)
                } else {
                    "N/A".into()
                },
            ]
        })
        .collect();
    println!("group {group} (upstream codes: no lag time)");
    print!(
        "{}",
        table(
            &[
                "TOPIC",
                "BROKER",
                "QUEUE",
                "COMMITTED",
                "MAX",
                "LAG",
                "LAST-CONSUMED"
            ],
            &rows
        )
    );
    println!(
        "total lag {total} message(s); online members: {}",
        if online.is_empty() {
            "none (offline)".to_string()
        } else {
            online.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    Ok(EXIT_OK)
}
