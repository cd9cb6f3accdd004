//! Planning a reset: the target of every queue in scope, clamped to what the queue holds, with
//! the messages it skips or replays; intents for what does not exist yet. Every input is
//! validated before anything is planned, so a bad request changes nothing.

use std::collections::{HashMap, HashSet};

use ferromq_offsets::{Intent, IntentSpec};
use ferromq_protocol::{limits, names};
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
            expect: req.expect,
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
    limits::check_entries("groups", req.groups.len()).map_err(invalid)?;
    limits::check_entries("topics", req.topics.len()).map_err(invalid)?;
    if let ResetSpec::PerQueue(list) = &req.spec {
        limits::check_entries("queues", list.len()).map_err(invalid)?;
    }
    let mut seen_groups = HashSet::new();
    for g in &req.groups {
        if !seen_groups.insert(g.as_str()) {
            return Err(invalid(format!("the group {g} is named twice")));
        }
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
    // Explicit per-queue offsets, looked up once per queue (a list is never searched per queue:
    // that made a plan quadratic in its size).
    let mut explicit: HashMap<(&str, i32), i64> = HashMap::new();
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
                if explicit
                    .insert((e.topic.as_str(), e.queue_id), e.offset)
                    .is_some()
                {
                    return Err(invalid(format!(
                        "the queue {}:{} is listed twice",
                        e.topic, e.queue_id
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
    let spec_for = |topic: &str, q: i32| match &spec {
        ResetSpec::PerQueue(_) => explicit
            .get(&(topic, q))
            .map(|o| ResetSpec::Offset(*o))
            .unwrap_or(ResetSpec::Earliest),
        other => other.clone(),
    };
    let mut queues = Vec::new();
    let mut intents = Vec::new();
    let mut seen_topics = HashSet::new();
    for (topic, wanted) in &targets {
        limits::check_entries("queues in the plan", queues.len() + intents.len())
            .map_err(invalid)?;
        validate_topic(topic)?;
        if !seen_topics.insert(topic.as_str()) {
            return Err(invalid(format!("the topic {topic} is named twice")));
        }
        if let Some(qs) = wanted {
            let mut seen = HashSet::new();
            for q in qs {
                if !(0..limits::MAX_QUEUE_NUMS).contains(q) {
                    return Err(invalid(format!(
                        "the queue id {q} of {topic} is out of range (0..{})",
                        limits::MAX_QUEUE_NUMS
                    )));
                }
                if !seen.insert(*q) {
                    return Err(invalid(format!("the queue {topic}:{q} is named twice")));
                }
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
                            intents.push(intent(group, topic, Some(*q), &spec_for(topic, *q))?);
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
                    intents.push(intent(group, topic, Some(q), &spec_for(topic, q))?);
                    continue;
                }
                let current = b.offsets.get(group, topic, q);
                queues.push(plan_queue(
                    b,
                    group,
                    topic,
                    q,
                    current,
                    &spec_for(topic, q),
                )?);
            }
        }
    }
    if queues.is_empty() && intents.is_empty() {
        return Err(invalid("nothing to reset: the scope matches no queue"));
    }
    Ok((queues, intents))
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
