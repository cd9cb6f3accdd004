//! resetOffsetByTime and skipAccumulatedMessage: the modern reset applied at once on ferromq
//! brokers (with mqadmin's `-f false` kept), INVOKE_BROKER_TO_RESET_OFFSET on others.

use ferromq_protocol::body::progress::{
    ChangeRequest, PlanResult, QueueOffset, ResetRequest, ResetSpec, TopicScope,
};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;

use super::at_once;
use super::broadcast::each_broker;
use super::cluster::masters_of;
use super::topics::holders;
use crate::cluster::Broker;
use crate::offsets::{self, ResetScope};
use crate::{AdminError, Ctx, EXIT_OK};

/// What resetOffsetByTime / skipAccumulatedMessage were asked to do.
pub(super) struct UpstreamReset {
    pub group: String,
    pub topic: String,
    /// The time for INVOKE_BROKER_TO_RESET_OFFSET (−1: the end of each queue).
    pub timestamp: i64,
    pub force: bool,
    pub cluster: Option<String>,
    /// Single-queue mode: broker address and queue id.
    pub single: Option<(String, i32)>,
    /// Single-queue mode: an explicit offset.
    pub offset: Option<i64>,
}

/// resetOffsetByTime: to `-s` the time, or in single-queue mode to `-o` the offset.
///
/// # Errors
/// A negative offset ([`AdminError::Usage`]), else as [`reset_upstream`].
pub(super) async fn reset_offset_by_time(ctx: &Ctx, r: UpstreamReset) -> Result<i32, AdminError> {
    let spec = match r.offset {
        Some(o) if o < 0 => return Err(AdminError::Usage("-o/--offset must be ≥ 0".into())),
        Some(o) => ResetSpec::Offset(o),
        None => ResetSpec::Timestamp(r.timestamp),
    };
    reset_upstream(ctx, r, spec).await
}

/// skipAccumulatedMessage: to the end of every queue.
///
/// # Errors
/// As [`reset_upstream`].
pub(super) async fn skip_accumulated_message(
    ctx: &Ctx,
    group: String,
    topic: String,
    force: bool,
    cluster: Option<String>,
) -> Result<i32, AdminError> {
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

/// resetOffsetByTime / skipAccumulatedMessage: the modern reset, applied at once, on ferromq
/// brokers; INVOKE_BROKER_TO_RESET_OFFSET (222) on others (with UPDATE_CONSUMER_OFFSET first in
/// single-queue mode, as mqadmin does).
///
/// # Errors
/// An unknown topic or cluster, no broker in scope, a failed plan, or a failure on every broker.
async fn reset_upstream(ctx: &Ctx, r: UpstreamReset, spec: ResetSpec) -> Result<i32, AdminError> {
    let mut brokers = holders(ctx, &r.topic).await?;
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

/// mqadmin's `-f false`: a queue moves only when the target is before its committed offset (or it
/// has none); the others keep their position. Planned with the time spec, applied per queue.
///
/// # Errors
/// A failed plan, or as [`offsets::plan_apply`].
async fn reset_not_forward(
    ctx: &Ctx,
    brokers: &[Broker],
    group: &str,
    topic: &str,
    queues: Option<Vec<i32>>,
    spec: &ResetSpec,
) -> Result<i32, AdminError> {
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
    let mut jobs = Vec::new();
    for b in brokers {
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
