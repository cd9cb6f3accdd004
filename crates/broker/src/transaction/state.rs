//! The pending set: every half message not yet committed, rolled back or discarded, keyed by
//! its offset in the half queue. Pure bookkeeping (no I/O), so the rules are unit-tested here.
//!
//! A resolution *claims* its entry first (`in_flight`) and settles it after its records are
//! stored, so two END_TRANSACTIONs for one message (the producer's late answer racing its
//! check-back answer) cannot both commit it, and the check scan leaves claimed entries alone.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// One unresolved half message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Commit-log offset of the half record.
    pub phys: i64,
    /// When the half message was stored (ms since the epoch).
    pub store_ts: i64,
    /// The producer group (`PGROUP`), whose connections are asked.
    pub group: String,
    /// Check-backs sent so far.
    pub checks: u32,
    /// When the last check-back was sent (0 = never).
    pub last_check_ms: i64,
    /// Wait before the first check-back, ms (the timeout, or the message's longer immunity).
    pub first_wait_ms: i64,
}

/// Why a claim was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimError {
    /// Not pending: resolved or discarded already, or never a half message at that offset.
    NotPending,
    /// Another resolution of the same message is being stored right now.
    Busy,
    /// Pending, but its half record is at another commit-log offset than the request says.
    WrongCommitLogOffset { actual: i64 },
}

/// What the check scan should do with a due message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Ask the producer group (the entry is not yet counted; [`State::checked`] does that).
    Check { offset: i64, pending: Pending },
    /// The check limit is reached: record it as resolved without delivering it.
    Discard { offset: i64, pending: Pending },
}

#[derive(Debug, Default)]
pub struct State {
    pub pending: BTreeMap<i64, Pending>,
    in_flight: HashSet<i64>,
    /// Half messages being stored now, counted against the pending limit.
    reserved: usize,
    /// Changed since the last checkpoint.
    pub dirty: bool,
}

impl State {
    /// Reserves room for one more half message, or `false` when `max` are pending already.
    pub fn reserve(&mut self, max: usize) -> bool {
        if self.pending.len() + self.reserved >= max {
            return false;
        }
        self.reserved += 1;
        true
    }

    /// Ends a reservation; with `Some`, the half message was stored and is now pending.
    pub fn settle_reserved(&mut self, stored: Option<(i64, Pending)>) {
        self.reserved = self.reserved.saturating_sub(1);
        if let Some((offset, p)) = stored {
            self.pending.insert(offset, p);
            self.dirty = true;
        }
    }

    /// Claims the pending message at `offset` for resolution.
    pub fn claim(&mut self, offset: i64, phys: Option<i64>) -> Result<Pending, ClaimError> {
        let p = self.pending.get(&offset).ok_or(ClaimError::NotPending)?;
        if phys.is_some_and(|v| v != p.phys) {
            return Err(ClaimError::WrongCommitLogOffset { actual: p.phys });
        }
        if !self.in_flight.insert(offset) {
            return Err(ClaimError::Busy);
        }
        Ok(p.clone())
    }

    /// Ends a claim: `resolved` removes the message from the pending set for good.
    pub fn release(&mut self, offset: i64, resolved: bool) {
        self.in_flight.remove(&offset);
        if resolved {
            self.pending.remove(&offset);
            self.dirty = true;
        }
    }

    /// Up to `limit` messages due for a check-back or a discard at `now_ms`, oldest first.
    /// A message is first due `first_wait_ms` after it was stored, then every `interval_ms`.
    /// Check-backs are only proposed for groups that are `askable` (have a live producer), so
    /// old messages of a vanished group do not use up every scan's `limit`.
    pub fn due(
        &self,
        now_ms: i64,
        interval_ms: i64,
        check_max: u32,
        limit: usize,
        mut askable: impl FnMut(&str) -> bool,
    ) -> Vec<Due> {
        let mut out = Vec::new();
        for (offset, p) in &self.pending {
            if out.len() >= limit {
                break;
            }
            if self.in_flight.contains(offset) {
                continue;
            }
            let waited = if p.checks == 0 {
                now_ms - p.store_ts >= p.first_wait_ms
            } else {
                now_ms - p.last_check_ms >= interval_ms
            };
            if !waited {
                continue;
            }
            let (offset, pending) = (*offset, p.clone());
            if p.checks >= check_max {
                out.push(Due::Discard { offset, pending });
            } else if askable(&p.group) {
                out.push(Due::Check { offset, pending });
            }
        }
        out
    }

    /// Up to `limit` messages whose half record retention already deleted (commit-log offset
    /// below `log_min`): nothing can commit them any more, whether or not their producer
    /// returns. Half records are appended in queue order, so these are the oldest entries.
    pub fn expired(&self, log_min: i64, limit: usize) -> Vec<(i64, i64)> {
        self.pending
            .iter()
            .take_while(|(_, p)| p.phys < log_min)
            .filter(|(offset, _)| !self.in_flight.contains(offset))
            .take(limit)
            .map(|(offset, p)| (*offset, p.phys))
            .collect()
    }

    /// Counts a check-back that was sent.
    pub fn checked(&mut self, offset: i64, now_ms: i64) -> Option<u32> {
        let p = self.pending.get_mut(&offset)?;
        p.checks = p.checks.saturating_add(1);
        p.last_check_ms = now_ms;
        self.dirty = true;
        Some(p.checks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(phys: i64, store_ts: i64) -> Pending {
        Pending {
            phys,
            store_ts,
            group: "PG".into(),
            checks: 0,
            last_check_ms: 0,
            first_wait_ms: 100,
        }
    }

    #[test]
    fn the_limit_counts_messages_being_stored() {
        let mut s = State::default();
        assert!(s.reserve(2));
        assert!(s.reserve(2));
        assert!(!s.reserve(2));
        s.settle_reserved(Some((0, pending(0, 0))));
        s.settle_reserved(None);
        assert!(s.reserve(2));
        assert!(!s.reserve(2));
    }

    #[test]
    fn a_message_is_resolved_once() {
        let mut s = State::default();
        s.pending.insert(3, pending(300, 0));
        assert_eq!(
            s.claim(3, Some(301)),
            Err(ClaimError::WrongCommitLogOffset { actual: 300 })
        );
        assert!(s.claim(3, Some(300)).is_ok());
        assert_eq!(s.claim(3, Some(300)), Err(ClaimError::Busy));
        assert!(
            s.due(10_000, 10, 15, 10, |_| true).is_empty(),
            "claimed: not checked"
        );
        s.release(3, true);
        assert_eq!(s.claim(3, Some(300)), Err(ClaimError::NotPending));
    }

    #[test]
    fn a_failed_resolution_leaves_the_message_pending() {
        let mut s = State::default();
        s.pending.insert(3, pending(300, 0));
        s.claim(3, None).unwrap();
        s.release(3, false);
        assert!(s.claim(3, None).is_ok());
    }

    #[test]
    fn records_removed_by_retention_expire() {
        let mut s = State::default();
        for (i, phys) in [(0, 0), (1, 100), (2, 200)] {
            s.pending.insert(i, pending(phys, 0));
        }
        assert_eq!(s.expired(150, 10), vec![(0, 0), (1, 100)]);
        assert_eq!(s.expired(150, 1), vec![(0, 0)]);
        assert!(s.expired(0, 10).is_empty());
    }

    #[test]
    fn checks_wait_then_repeat_then_discard() {
        let mut s = State::default();
        s.pending.insert(0, pending(0, 1_000));
        s.pending.insert(1, pending(50, 1_050));
        assert!(s.due(1_099, 500, 2, 10, |_| true).is_empty());
        let due = s.due(1_100, 500, 2, 10, |_| true);
        assert_eq!(due.len(), 1);
        assert!(matches!(due[0], Due::Check { offset: 0, .. }));
        assert_eq!(
            s.due(1_200, 500, 2, 1, |_| true).len(),
            1,
            "limited per scan"
        );
        assert_eq!(s.checked(0, 1_200), Some(1));
        assert!(matches!(
            s.due(1_600, 500, 2, 10, |_| true)[..],
            [Due::Check { offset: 1, .. }]
        ));
        s.checked(0, 1_700);
        // A group nobody can be asked for is skipped without using the scan's limit.
        s.pending.get_mut(&1).unwrap().group = "GONE".into();
        assert!(matches!(
            s.due(2_200, 500, 2, 1, |g| g != "GONE")[..],
            [Due::Discard { offset: 0, .. }]
        ));
        s.pending.get_mut(&1).unwrap().group = "PG".into();
        assert!(matches!(
            s.due(2_200, 500, 2, 10, |_| true)[..],
            [Due::Discard { offset: 0, .. }, Due::Check { offset: 1, .. }]
        ));
    }
}
