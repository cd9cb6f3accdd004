//! Planning a reset: the target of every queue in scope, clamped to what the queue holds, with
//! the messages it skips or replays; intents for what does not exist yet. Every input is
//! validated before anything is planned, so a bad request changes nothing.

use ferromq_offsets::{Intent, IntentSpec};
use ferromq_protocol::names;
use ferromq_store::BoundaryType;

use super::model::{PlannedQueue, ResetRequest, ResetSpec};
use super::{invalid, Mutation, Progress, ProgressError};
use crate::topics::now_ms;
use crate::Broker;

impl Progress<'_> {
    /// Plans and (unless a dry run) applies a reset, all-or-nothing.
    ///
    /// # Errors
    /// A name upstream would reject, a negative offset or duration, a queue or topic that does
    /// not exist without `allow_intents`, or an offset-store failure.
    pub async fn reset(
        &self,
        req: ResetRequest,
        actor: &str,
    ) -> Result<super::model::PlanResult, ProgressError> {
        let (queues, intents) = plan_reset(self.b, &req)?;
        let scope = format!(
            "groups={} topics={} spec={:?}",
            req.groups.join(","),
            req.topics
                .iter()
                .map(|t| t.topic.as_str())
                .collect::<Vec<_>>()
                .join(","),
            req.spec
        );
        self.apply(Mutation {
            operation: "reset",
            scope,
            actor: actor.to_string(),
            queues,
            set_intents: intents,
            clear_intents: Vec::new(),
            undo_of: None,
            dry_run: req.dry_run,
        })
        .await
    }
}

pub(crate) fn validate_group(g: &str) -> Result<(), ProgressError> {
    names::validate_group(g).map_err(invalid)?;
    if g.contains('@') {
        return Err(invalid(format!(
            "the group name '{g}' must not contain '@'"
        )));
    }
    Ok(())
}

pub(crate) fn validate_topic(t: &str) -> Result<(), ProgressError> {
    names::validate_topic(t).map_err(invalid)?;
    if t.contains('@') {
        return Err(invalid(format!(
            "the topic name '{t}' must not contain '@'"
        )));
    }
    Ok(())
}

/// Plans a reset request into per-queue changes and intents.
pub(crate) fn plan_reset(
    b: &Broker,
    req: &ResetRequest,
) -> Result<(Vec<PlannedQueue>, Vec<Intent>), ProgressError> {
    if req.groups.is_empty() {
        return Err(invalid("name at least one group"));
    }
    for g in &req.groups {
        validate_group(g)?;
    }
    let spec = match &req.spec {
        ResetSpec::Duration(d) if *d < 0 => {
            return Err(invalid(format!("the duration {d} ms is negative")))
        }
        ResetSpec::Duration(d) => ResetSpec::Timestamp(now_ms() - d),
        ResetSpec::Offset(o) if *o < 0 => {
            return Err(invalid(format!("the offset {o} is negative")))
        }
        ResetSpec::Timestamp(t) if *t < 0 => {
            return Err(invalid(format!("the timestamp {t} is negative")))
        }
        other => other.clone(),
    };
    // (topic, queues or None for all) to visit; explicit per-queue specs name their own queues.
    let targets: Vec<(String, Option<Vec<i32>>)> = match &spec {
        ResetSpec::PerQueue(list) => {
            if list.is_empty() {
                return Err(invalid("the per-queue list is empty"));
            }
            let mut by_topic: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
            for e in list {
                if e.offset < 0 {
                    return Err(invalid(format!(
                        "the offset {} for {}:{} is negative",
                        e.offset, e.topic, e.queue_id
                    )));
                }
                by_topic
                    .entry(e.topic.clone())
                    .or_default()
                    .push(e.queue_id);
            }
            by_topic.into_iter().map(|(t, q)| (t, Some(q))).collect()
        }
        _ => {
            if req.topics.is_empty() {
                return Err(invalid("name at least one topic"));
            }
            req.topics
                .iter()
                .map(|t| (t.topic.clone(), t.queues.clone()))
                .collect()
        }
    };
    let mut queues = Vec::new();
    let mut intents = Vec::new();
    for (topic, wanted) in &targets {
        validate_topic(topic)?;
        if let Some(qs) = wanted {
            if let Some(bad) = qs.iter().find(|q| **q < 0) {
                return Err(invalid(format!(
                    "the queue id {bad} of {topic} is negative"
                )));
            }
        }
        let cfg = b.topics.get(topic);
        for group in &req.groups {
            let Some(cfg) = &cfg else {
                if !req.allow_intents {
                    return Err(ProgressError::TopicNotExist(topic.clone()));
                }
                match wanted {
                    None => intents.push(intent(group, topic, None, &spec)?),
                    Some(qs) => {
                        for q in qs {
                            intents.push(intent(
                                group,
                                topic,
                                Some(*q),
                                &spec_for(&spec, topic, *q),
                            )?);
                        }
                    }
                }
                continue;
            };
            let count = cfg.queue_count();
            let list: Vec<i32> = wanted.clone().unwrap_or_else(|| (0..count).collect());
            for q in list {
                if q >= count {
                    if !req.allow_intents {
                        return Err(invalid(format!(
                            "the queue id {q} does not exist: topic {topic} has {count} queues"
                        )));
                    }
                    intents.push(intent(group, topic, Some(q), &spec_for(&spec, topic, q))?);
                    continue;
                }
                let current = b.offsets.get(group, topic, q);
                queues.push(plan_queue(
                    b,
                    group,
                    topic,
                    q,
                    current,
                    &spec_for(&spec, topic, q),
                )?);
            }
        }
    }
    if queues.is_empty() && intents.is_empty() {
        return Err(invalid("nothing to reset: the scope matches no queue"));
    }
    Ok((queues, intents))
}

/// The spec for one queue: per-queue lists resolve to that queue's explicit offset.
fn spec_for(spec: &ResetSpec, topic: &str, q: i32) -> ResetSpec {
    match spec {
        ResetSpec::PerQueue(list) => list
            .iter()
            .find(|e| e.topic == topic && e.queue_id == q)
            .map(|e| ResetSpec::Offset(e.offset))
            .unwrap_or(ResetSpec::Earliest),
        other => other.clone(),
    }
}

fn intent(
    group: &str,
    topic: &str,
    queue_id: Option<i32>,
    spec: &ResetSpec,
) -> Result<Intent, ProgressError> {
    let spec = match spec {
        ResetSpec::Earliest => IntentSpec::Earliest,
        ResetSpec::Latest => IntentSpec::Latest,
        ResetSpec::Offset(o) => IntentSpec::Offset(*o),
        ResetSpec::Timestamp(t) => IntentSpec::Timestamp(*t),
        ResetSpec::Duration(_) | ResetSpec::ShiftBy(_) | ResetSpec::PerQueue(_) => {
            return Err(invalid(format!(
                "{topic} has no such queue yet, and a shift cannot be kept as an intent"
            )));
        }
    };
    Ok(Intent {
        group: group.into(),
        topic: topic.into(),
        queue_id,
        spec,
        created_ms: now_ms(),
    })
}

/// Plans one queue of an existing topic.
pub(crate) fn plan_queue(
    b: &Broker,
    group: &str,
    topic: &str,
    q: i32,
    current: Option<i64>,
    spec: &ResetSpec,
) -> Result<PlannedQueue, ProgressError> {
    let (min, max) = bounds(b, topic, q);
    let requested = match spec {
        ResetSpec::Earliest => min,
        ResetSpec::Latest => max,
        ResetSpec::Offset(o) => *o,
        ResetSpec::Timestamp(t) => b.store.offset_by_time(topic, q, *t, BoundaryType::Lower),
        ResetSpec::ShiftBy(n) => current.unwrap_or(min).saturating_add(*n),
        ResetSpec::Duration(d) => {
            b.store
                .offset_by_time(topic, q, now_ms() - d, BoundaryType::Lower)
        }
        ResetSpec::PerQueue(_) => return Err(invalid("per-queue specs are resolved per queue")),
    };
    let target = requested.clamp(min, max);
    Ok(with_impact(
        b,
        group,
        topic,
        q,
        current,
        Some(target),
        Some(requested),
    ))
}

/// A queue's `[min, max]` offsets. They are read one after the other, so a concurrent delete
/// could make min exceed max; the pair returned always satisfies min ≤ max.
pub(crate) fn bounds(b: &Broker, topic: &str, q: i32) -> (i64, i64) {
    let min = b.store.min_offset(topic, q);
    (min, b.store.max_offset(topic, q).max(min))
}

/// A planned queue with its impact: how many messages are skipped or replayed, and when they
/// were stored.
pub(crate) fn with_impact(
    b: &Broker,
    group: &str,
    topic: &str,
    q: i32,
    current: Option<i64>,
    target: Option<i64>,
    requested: Option<i64>,
) -> PlannedQueue {
    let (min, max) = bounds(b, topic, q);
    let (mut skipped, mut replayed, mut from, mut to) = (0, 0, None, None);
    if let (Some(c), Some(t)) = (current, target) {
        let (lo, hi) = (c.min(t).max(min), c.max(t).min(max));
        if hi > lo {
            if t > c {
                skipped = hi - lo;
            } else {
                replayed = hi - lo;
            }
            from = b.store.store_time_at(topic, q, lo);
            to = b.store.store_time_at(topic, q, hi - 1);
        }
    }
    PlannedQueue {
        group: group.into(),
        topic: topic.into(),
        queue_id: q,
        current,
        target,
        requested,
        clamped: requested.is_some() && requested != target,
        min_offset: min,
        max_offset: max,
        skipped,
        replayed,
        window_from_ms: from,
        window_to_ms: to,
    }
}
