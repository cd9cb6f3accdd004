//! Applying exactly the plan an operator approved. A mutating request may carry the queues of
//! the plan it was shown (`expect`); the broker re-plans, and the change goes ahead only if it
//! names the same queues, each still at the plan's `current`, and then with the plan's targets.
//! The offsets are checked again under the offset log's lock in the step that applies the
//! change ([`ChangeDraft::expect`](ferromq_offsets::ChangeDraft::expect)), so a commit that
//! lands between this check and the change refuses it too.

use std::collections::BTreeMap;

use ferromq_offsets::{MovedQueue, QueueKey};

use super::model::{ExpectedQueue, PlanMoved, PlannedQueue};
use super::plan::with_impact;
use super::{invalid, ProgressError};
use crate::Broker;

fn key(group: &str, topic: &str, queue_id: i32) -> QueueKey {
    QueueKey::new(group, topic, queue_id)
}

fn row(k: &QueueKey) -> String {
    format!("group {} topic {} queue {}", k.group, k.topic, k.queue_id)
}

/// The queues to apply, and the offsets the store must still find when it applies them.
type Held = (Vec<PlannedQueue>, Vec<(QueueKey, Option<i64>)>);

/// Holds `planned` (what the broker would do now) to `expect` (what the operator approved).
/// Returns the queues to apply, with the approved targets, and the offsets the store must still
/// find when it applies them.
///
/// # Errors
/// [`ProgressError::Invalid`] naming the row of a plan that cannot be right whatever happened
/// since (a negative or duplicated row, a target past the queue's end, a delete where the
/// operation sets offsets); [`ProgressError::PlanMoved`] when queues moved, appeared or went.
pub(crate) fn hold_to_plan(
    b: &Broker,
    planned: Vec<PlannedQueue>,
    expect: &[ExpectedQueue],
) -> Result<Held, ProgressError> {
    let mut approved: BTreeMap<QueueKey, &ExpectedQueue> = BTreeMap::new();
    for e in expect {
        let k = key(&e.group, &e.topic, e.queue_id);
        if e.queue_id < 0 || e.current.is_some_and(|c| c < 0) || e.target.is_some_and(|t| t < 0) {
            return Err(invalid(format!(
                "plan row {}: queue ids and offsets must be ≥ 0",
                row(&k)
            )));
        }
        if approved.insert(k.clone(), e).is_some() {
            return Err(invalid(format!("plan row {} appears twice", row(&k))));
        }
    }
    let mut verdict = PlanMoved::default();
    let mut out = Vec::with_capacity(planned.len());
    let mut checks = Vec::with_capacity(planned.len());
    for q in planned {
        let k = key(&q.group, &q.topic, q.queue_id);
        let Some(e) = approved.remove(&k) else {
            verdict.missing.push(k);
            continue;
        };
        if e.current != q.current {
            verdict.moved.push(MovedQueue {
                key: k,
                expected: e.current,
                actual: q.current,
            });
            continue;
        }
        if e.target.is_none() && q.target.is_some() {
            return Err(invalid(format!(
                "plan row {}: no target, but this operation sets one",
                row(&k)
            )));
        }
        if let Some(t) = e.target {
            if t > q.max_offset {
                return Err(invalid(format!(
                    "plan row {}: target {t} is past the queue's max offset {}",
                    row(&k),
                    q.max_offset
                )));
            }
        }
        checks.push((k, e.current));
        out.push(if e.target == q.target {
            q
        } else {
            with_impact(
                b, &q.group, &q.topic, q.queue_id, q.current, e.target, e.target,
            )
        });
    }
    verdict.unplanned = approved.into_keys().collect();
    if verdict.moved.is_empty() && verdict.missing.is_empty() && verdict.unplanned.is_empty() {
        Ok((out, checks))
    } else {
        Err(ProgressError::PlanMoved(verdict))
    }
}

/// The sentence for a refused plan: every queue that moved, appeared or went, by name.
pub(crate) fn describe(v: &PlanMoved) -> String {
    let show = |o: Option<i64>| o.map_or_else(|| "none".to_string(), |v| v.to_string());
    let mut parts: Vec<String> = Vec::new();
    parts.extend(v.moved.iter().map(|m| {
        format!(
            "{} moved (plan: {}, now: {})",
            row(&m.key),
            show(m.expected),
            show(m.actual)
        )
    }));
    parts.extend(
        v.missing
            .iter()
            .map(|k| format!("{} is not in the plan (added since?)", row(k))),
    );
    parts.extend(
        v.unplanned
            .iter()
            .map(|k| format!("{} is in the plan but no longer in scope", row(k))),
    );
    let total = parts.len();
    parts.truncate(20);
    if total > 20 {
        parts.push(format!("and {} more", total - 20));
    }
    format!(
        "the plan no longer holds, nothing was changed: {}; plan again",
        parts.join("; ")
    )
}
