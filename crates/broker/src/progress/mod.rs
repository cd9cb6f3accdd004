//! Consumer progress as a service: resets (by offset, time, duration, shift, per queue, to either
//! end) for any group — online, offline or never seen — plus clone, import, export, delete,
//! history, undo, intents and lag. Every mutation is planned first (a dry run returns the plan),
//! then applied all-or-nothing as one recorded change of the offset table.
//!
//! This layer knows nothing of the transport: [`crate::handlers::progress`] maps Remoting
//! requests (upstream codes and ferromq's own range, `docs/protocol.md`) onto it.
//!
//! - [`model`]: request and result types (serde).
//! - [`plan`]: turning a reset request into per-queue targets with their impact.
//! - [`ops`]: clone, delete, import, export, undo.
//! - [`lag`]: lag in messages and time.
//! - [`pull_state`]: how far groups pulled, and the guards that keep resets authoritative.
//! - [`notify`]: RESET_CONSUMER_CLIENT_OFFSET to online clients.

mod exact;
pub mod lag;
pub mod model;
pub mod notify;
pub mod ops;
pub mod plan;
pub mod pull_state;

use std::collections::BTreeSet;

use ferromq_offsets::{ChangeDraft, Intent, IntentSpec, OffsetError, QueueKey};
use thiserror::Error;

use crate::Broker;
use model::{PlanResult, PlannedQueue};

/// Why a progress operation was refused. Nothing is changed when one is returned. The response
/// code for each is in the broker's one table (`crate::error`).
#[derive(Debug, Error)]
pub enum ProgressError {
    #[error("{0}")]
    Invalid(String),
    #[error("topic {0} does not exist (pass allowIntents to store an intent for it)")]
    TopicNotExist(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{}", exact::describe(.0))]
    PlanMoved(model::PlanMoved),
    #[error("offset store: {0}")]
    Offsets(OffsetError),
}

impl From<OffsetError> for ProgressError {
    fn from(e: OffsetError) -> Self {
        match e {
            // The store found queues moved in the very step that would have applied the change.
            OffsetError::Moved(moved) => ProgressError::PlanMoved(model::PlanMoved {
                moved,
                ..model::PlanMoved::default()
            }),
            other => ProgressError::Offsets(other),
        }
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> ProgressError {
    ProgressError::Invalid(msg.into())
}

/// The progress service of one broker.
pub struct Progress<'a> {
    pub(crate) b: &'a Broker,
}

impl Broker {
    pub fn progress(&self) -> Progress<'_> {
        Progress { b: self }
    }
}

/// What an applied change is made of.
pub(crate) struct Mutation {
    pub operation: &'static str,
    pub scope: String,
    pub actor: String,
    pub queues: Vec<PlannedQueue>,
    pub set_intents: Vec<Intent>,
    pub clear_intents: Vec<Intent>,
    pub undo_of: Option<u64>,
    pub dry_run: bool,
    /// The plan the operator approved, if the request carried one ([`exact`]).
    pub expect: Option<Vec<model::ExpectedQueue>>,
}

impl Progress<'_> {
    /// Applies a planned mutation as one atomic, recorded change (or returns the plan on a dry
    /// run), then makes online consumers follow: reset guards, woken pulls, and
    /// RESET_CONSUMER_CLIENT_OFFSET to clients that accept it.
    pub(crate) async fn apply(&self, m: Mutation) -> Result<PlanResult, ProgressError> {
        let (queues, expect) = match &m.expect {
            // A dry run with a plan checks it: the admin asks every broker before any applies.
            Some(plan) => exact::hold_to_plan(self.b, m.queues, plan)?,
            _ => (m.queues, Vec::new()),
        };
        let mut result = PlanResult {
            dry_run: m.dry_run,
            queues,
            intents: m.set_intents,
            change_id: None,
        };
        if m.dry_run
            || (result.queues.is_empty() && result.intents.is_empty() && m.clear_intents.is_empty())
        {
            return Ok(result);
        }
        let draft = ChangeDraft {
            actor: m.actor,
            operation: m.operation.to_string(),
            scope: m.scope,
            set: result
                .queues
                .iter()
                .map(|q| {
                    (
                        QueueKey {
                            group: q.group.clone(),
                            topic: q.topic.clone(),
                            queue_id: q.queue_id,
                        },
                        q.target,
                    )
                })
                .collect(),
            set_intents: result.intents.clone(),
            clear_intents: m
                .clear_intents
                .iter()
                .map(|i| (i.group.clone(), i.topic.clone(), i.queue_id))
                .collect(),
            undo_of: m.undo_of,
            expect,
        };
        // Guards are installed under the offset log's lock, in the same step that applies the
        // change: a client commit checks the guards under that lock too, so a stale commit can
        // never land between the reset and its guard. The pre-reset offset is the value the
        // change replaced, read under the lock.
        let pull_state = &self.b.pull_state;
        let change = self
            .b
            .offsets
            .apply_change_then(draft, |c| {
                for e in &c.entries {
                    match e.after {
                        Some(t) => pull_state.install_guard(
                            &e.key.group,
                            &e.key.topic,
                            e.key.queue_id,
                            t,
                            e.before,
                        ),
                        None => pull_state.forget(&e.key.group, &e.key.topic, e.key.queue_id),
                    }
                }
            })
            .await?;
        result.change_id = Some(change.id);
        let mut touched = BTreeSet::new();
        for q in &result.queues {
            // A pull held at the old position re-checks now and is redirected.
            self.b.pull_hold.wake(&q.topic, q.queue_id);
            touched.insert((q.group.clone(), q.topic.clone()));
        }
        // Resolving an intent answers the client that asked; telling its group to reset (Java
        // clients pause ~10 s on RESET_CONSUMER_CLIENT_OFFSET) would only stall it.
        if m.operation != "intent" {
            for (group, topic) in touched {
                let offsets: Vec<(i32, i64)> = result
                    .queues
                    .iter()
                    .filter(|q| q.group == group && q.topic == topic)
                    .filter_map(|q| q.target.map(|t| (q.queue_id, t)))
                    .collect();
                notify::reset_clients(self.b, &group, &topic, &offsets);
            }
        }
        tracing::info!(change = change.id, operation = %change.operation, scope = %change.scope, actor = %change.actor,
            queues = change.entries.len(), "offsets changed");
        Ok(result)
    }

    /// The committed offset of a queue, resolving a pending intent first: the first time a group
    /// asks for a queue it has no offset for, an intent (earliest, latest, a time, an offset)
    /// becomes its committed offset, recorded as an `intent` change.
    pub async fn resolve(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, ProgressError> {
        if let Some(o) = self.b.offsets.get(group, topic, queue_id) {
            return Ok(Some(o));
        }
        if self.b.offsets.intent_for(group, topic, queue_id).is_none() {
            return Ok(None);
        }
        // Two first asks at once (a pull and an offset query of the same client, two members)
        // must resolve the intent once: a second resolution of "latest" would move the offset
        // past what the first asker already consumed. Resolution is rare (once per queue), so
        // one lock for all of them costs nothing; the checks are repeated under it.
        let _resolving = self.b.intent_resolution.lock().await;
        if let Some(o) = self.b.offsets.get(group, topic, queue_id) {
            return Ok(Some(o));
        }
        let Some(intent) = self.b.offsets.intent_for(group, topic, queue_id) else {
            return Ok(None);
        };
        let Some(cfg) = self.b.topics.get(topic) else {
            return Ok(None);
        };
        if queue_id >= cfg.queue_count() {
            return Ok(None);
        }
        let spec = match &intent.spec {
            IntentSpec::Earliest => model::ResetSpec::Earliest,
            IntentSpec::Latest => model::ResetSpec::Latest,
            IntentSpec::Timestamp(t) => model::ResetSpec::Timestamp(*t),
            IntentSpec::Offset(o) => model::ResetSpec::Offset(*o),
        };
        let planned = plan::plan_queue(self.b, group, topic, queue_id, None, &spec)?;
        let target = planned.target;
        // A queue-specific intent is used up; a topic-wide one stays for queues added later.
        let clear = if intent.queue_id.is_some() {
            vec![intent.clone()]
        } else {
            Vec::new()
        };
        self.apply(Mutation {
            operation: "intent",
            scope: format!(
                "group={group} topic={topic} queue={queue_id} intent={:?}",
                intent.spec
            ),
            actor: "broker".into(),
            queues: vec![planned],
            set_intents: Vec::new(),
            clear_intents: clear,
            undo_of: None,
            dry_run: false,
            expect: None,
        })
        .await?;
        Ok(target)
    }
}

/// Rebuilds, after a restart, the reset guards that were still active, from the durable offset
/// table and its change history: a guard lives in memory, but everything it depends on is on
/// disk. For each queue, the newest recorded change that set it is the reset that installed
/// its guard; the guard was still active unless a commit at or past its end (the pre-reset
/// position) was accepted since. A queue whose stored offset is the reset target is guarded as
/// new (a stale commit or pull at the old position is refused again); one between the target
/// and the end is guarded as observed. Restoring errs on the side of replaying: a client that
/// had pulled past the target without committing is sent back to its last commit.
pub fn restore_guards(b: &Broker) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut restored = 0;
    for change in b.offsets.history(None, usize::MAX) {
        for e in &change.entries {
            if !seen.insert(e.key.clone()) {
                continue;
            }
            let (Some(target), Some(committed)) = (
                e.after,
                b.offsets.get(&e.key.group, &e.key.topic, e.key.queue_id),
            ) else {
                continue;
            };
            let end_at = e.before.unwrap_or(target).max(target);
            if committed == target || (target < committed && committed < end_at) {
                b.pull_state.restore_guard(
                    &e.key.group,
                    &e.key.topic,
                    e.key.queue_id,
                    target,
                    end_at,
                    committed,
                );
                restored += 1;
            }
        }
    }
    restored
}
