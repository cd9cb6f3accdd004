//! [`PullState`]: per (group, topic, queue), how far the group has pulled, and the guard a reset
//! leaves behind so that the reset stays authoritative while clients catch up.
//!
//! A guard for a reset to `target` (from `old`) works in two phases:
//! 1. Until the group pulls at `target`, every pull elsewhere is answered PULL_OFFSET_MOVED with
//!    `nextBeginOffset = target`, and every commit is ignored: it predates the reset.
//! 2. Once the group pulls at `target`, a commit `c` is accepted only if
//!    `target ≤ c ≤ pulled`, where `pulled` is the furthest offset the group has pulled since the
//!    reset. Clients such as the C++ one keep committing their pre-reset position after a backward
//!    reset; accepting that would move the stored offset past messages never delivered again, and
//!    a crash would skip the replay. The guard ends with the first accepted commit at or past
//!    `max(old, target)`: from then on no stale value can exceed what was pulled.

use std::collections::HashMap;

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guard {
    target: i64,
    end_at: i64,
    observed: bool,
    pulled_max: i64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    pulled: Option<i64>,
    guard: Option<Guard>,
}

type Queues = HashMap<i32, Entry>;

/// What to do with a commit for a guarded queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitDecision {
    Accept,
    /// The commit predates the reset or runs past what was pulled since; it is acknowledged but
    /// not stored.
    Ignore,
}

/// The entry of one queue, created if missing.
fn entry_mut<'a>(
    groups: &'a mut HashMap<String, HashMap<String, Queues>>,
    group: &str,
    topic: &str,
    queue_id: i32,
) -> &'a mut Entry {
    groups
        .entry(group.to_string())
        .or_default()
        .entry(topic.to_string())
        .or_default()
        .entry(queue_id)
        .or_default()
}

#[derive(Default)]
pub struct PullState {
    groups: Mutex<HashMap<String, HashMap<String, Queues>>>,
}

impl PullState {
    fn with<R>(&self, group: &str, topic: &str, f: impl FnOnce(Option<&mut Queues>) -> R) -> R {
        let mut g = self.groups.lock();
        f(g.get_mut(group).and_then(|t| t.get_mut(topic)))
    }

    /// Installs (or replaces) the guard of a reset.
    pub fn install_guard(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        target: i64,
        old: Option<i64>,
    ) {
        let mut g = self.groups.lock();
        let entry = entry_mut(&mut g, group, topic, queue_id);
        // A reset on top of an unfinished one keeps the furthest pre-reset position: stale
        // commits of the first position must stay ignored.
        let previous_end = entry.guard.map_or(i64::MIN, |g| g.end_at);
        entry.guard = Some(Guard {
            target,
            end_at: old.unwrap_or(target).max(target).max(previous_end),
            observed: false,
            pulled_max: target,
        });
    }

    /// Re-installs a guard after a restart (see [`crate::progress::restore_guards`]):
    /// `committed` is the offset stored now. Equal to `target`, nothing was accepted since the
    /// reset and the guard starts over, unobserved; between `target` and `end_at`, the group
    /// had pulled at the target and committed that far, so the guard is observed with what it
    /// pulled at least that far.
    pub fn restore_guard(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        target: i64,
        end_at: i64,
        committed: i64,
    ) {
        let mut g = self.groups.lock();
        let entry = entry_mut(&mut g, group, topic, queue_id);
        entry.guard = Some(Guard {
            target,
            end_at,
            observed: committed > target,
            pulled_max: committed.max(target),
        });
    }

    /// Before serving a pull at `offset`: the offset the pull must be redirected to, if a reset
    /// has not been observed yet. A pull at the reset target marks it observed.
    pub fn redirect(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        self.with(group, topic, |q| {
            let guard = q?.get_mut(&queue_id)?.guard.as_mut()?;
            if guard.observed {
                return None;
            }
            if offset == guard.target {
                guard.observed = true;
                return None;
            }
            Some(guard.target)
        })
    }

    /// Records where a pull left the group (`nextBeginOffset`). `delivered` says whether the pull
    /// actually read the queue up to there (found, filtered or at the end); only such pulls move
    /// the limit a guarded commit may reach.
    pub fn record_pull(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        next_begin: i64,
        delivered: bool,
    ) {
        let mut g = self.groups.lock();
        if let Some(e) = g
            .get_mut(group)
            .and_then(|t| t.get_mut(topic))
            .and_then(|q| q.get_mut(&queue_id))
        {
            e.pulled = Some(next_begin);
            if let Some(guard) = e.guard.as_mut().filter(|g| g.observed && delivered) {
                guard.pulled_max = guard.pulled_max.max(next_begin);
            }
            return;
        }
        // First pull of this queue by this group: remember it without a guard.
        g.entry(group.to_string())
            .or_default()
            .entry(topic.to_string())
            .or_default()
            .insert(
                queue_id,
                Entry {
                    pulled: Some(next_begin),
                    guard: None,
                },
            );
    }

    /// Whether a commit may be stored.
    pub fn filter_commit(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> CommitDecision {
        self.with(group, topic, |q| {
            let Some(entry) = q.and_then(|q| q.get_mut(&queue_id)) else {
                return CommitDecision::Accept;
            };
            let Some(guard) = entry.guard else {
                return CommitDecision::Accept;
            };
            if !guard.observed || offset < guard.target || offset > guard.pulled_max {
                return CommitDecision::Ignore;
            }
            if offset >= guard.end_at {
                entry.guard = None;
            }
            CommitDecision::Accept
        })
    }

    /// The furthest offset the group pulled to on this queue, in this broker run.
    pub fn pull_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.with(group, topic, |q| q?.get(&queue_id)?.pulled)
    }

    /// Whether a reset guard is still active (tests, diagnostics).
    pub fn is_guarded(&self, group: &str, topic: &str, queue_id: i32) -> bool {
        self.with(group, topic, |q| {
            q.and_then(|q| q.get(&queue_id))
                .is_some_and(|e| e.guard.is_some())
        })
    }

    /// Forgets one queue (its offset was deleted).
    pub fn forget(&self, group: &str, topic: &str, queue_id: i32) {
        self.with(group, topic, |q| {
            if let Some(q) = q {
                q.remove(&queue_id);
            }
        })
    }

    pub fn remove_group(&self, group: &str) {
        self.groups.lock().remove(group);
    }

    pub fn remove_topic(&self, topic: &str) {
        for topics in self.groups.lock().values_mut() {
            topics.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_reset_ignores_stale_commits_until_caught_up() {
        let s = PullState::default();
        s.record_pull("g", "t", 0, 100, true);
        s.install_guard("g", "t", 0, 40, Some(100));
        // Before the group pulls at 40: redirect, and ignore its old commits.
        assert_eq!(s.redirect("g", "t", 0, 100), Some(40));
        assert_eq!(s.filter_commit("g", "t", 0, 100), CommitDecision::Ignore);
        // It pulls at 40 and gets up to 72.
        assert_eq!(s.redirect("g", "t", 0, 40), None);
        s.record_pull("g", "t", 0, 72, true);
        // A stale commit of its pre-reset position must not skip the replay.
        assert_eq!(s.filter_commit("g", "t", 0, 100), CommitDecision::Ignore);
        assert_eq!(s.filter_commit("g", "t", 0, 39), CommitDecision::Ignore);
        assert_eq!(s.filter_commit("g", "t", 0, 70), CommitDecision::Accept);
        assert!(s.is_guarded("g", "t", 0));
        s.record_pull("g", "t", 0, 130, true);
        assert_eq!(s.filter_commit("g", "t", 0, 105), CommitDecision::Accept);
        assert!(
            !s.is_guarded("g", "t", 0),
            "caught up past the old position"
        );
        assert_eq!(s.filter_commit("g", "t", 0, 200), CommitDecision::Accept);
    }

    #[test]
    fn forward_reset_and_never_seen_groups() {
        let s = PullState::default();
        s.install_guard("new", "t", 3, 500, None);
        assert_eq!(s.redirect("new", "t", 3, 0), Some(500));
        assert_eq!(s.redirect("new", "t", 3, 500), None);
        s.record_pull("new", "t", 3, 532, true);
        assert_eq!(s.filter_commit("new", "t", 3, 499), CommitDecision::Ignore);
        assert_eq!(s.filter_commit("new", "t", 3, 510), CommitDecision::Accept);
        assert!(!s.is_guarded("new", "t", 3));
        assert_eq!(s.pull_offset("new", "t", 3), Some(532));
        // A reset on top of an unfinished one keeps ignoring the first position's commits:
        // 950 → 400, then 400 → 500 before the group caught up.
        s.install_guard("new", "t", 3, 400, Some(950));
        s.install_guard("new", "t", 3, 500, Some(400));
        assert_eq!(s.redirect("new", "t", 3, 500), None);
        s.record_pull("new", "t", 3, 5000, false);
        assert_eq!(
            s.filter_commit("new", "t", 3, 700),
            CommitDecision::Ignore,
            "an offset-moved answer is not a read"
        );
        s.record_pull("new", "t", 3, 800, true);
        assert_eq!(s.filter_commit("new", "t", 3, 700), CommitDecision::Accept);
        assert!(
            s.is_guarded("new", "t", 3),
            "700 is below the first reset's pre-reset 950"
        );
        assert_eq!(
            s.filter_commit("new", "t", 3, 950),
            CommitDecision::Ignore,
            "stale and past what was pulled"
        );
        s.remove_group("new");
        assert_eq!(s.pull_offset("new", "t", 3), None);
    }
}
