//! [`QueueState`]: one group's POP position in one queue, and the rules that move it.
//!
//! Offsets below `base` are done (the group's committed offset in the offset table says so).
//! Offsets in `base..cursor` were handed out: each still has a [`Lease`] until it is acked, so an
//! offset in that range without a lease is acked (or was skipped by the group's filter). The
//! first leased offset, or `cursor` when none is leased, is the *frontier*: the offset the group
//! may commit. This keeps the state as small as what is in flight.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One delivery of one message, until it is acked or its window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Names this delivery (handles of earlier deliveries carry older numbers).
    pub seq: u64,
    /// 1 for the first delivery.
    pub attempt: u32,
    /// When the message becomes visible again, ms since the epoch.
    pub deadline_ms: i64,
}

/// What acking a handle did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// The lease was released.
    Acked,
    /// Already acked, or below the committed offset: nothing to do.
    AlreadyDone,
    /// Issued before the queue's last offset reset: answered, changes nothing.
    BeforeReset,
    /// The message was delivered again since this handle was issued (its current attempt).
    Superseded(u32),
    /// Names an offset this group was never given.
    NeverDelivered,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// Bumped by every reset; handles carry it.
    pub epoch: u32,
    /// The committed offset (what the offset table holds for this group and queue).
    pub base: i64,
    /// The next offset never handed out.
    pub cursor: i64,
    /// Deliveries not yet acked, by queue offset.
    pub leases: BTreeMap<i64, Lease>,
    /// A commit of this frontier to the offset table is under way (not persisted).
    #[serde(skip)]
    pub committing: Option<i64>,
    /// The offset table has no entry for this queue yet (`base` is where the group starts).
    #[serde(default)]
    pub unrecorded: bool,
}

impl QueueState {
    /// A queue first popped at `base`.
    pub fn starting_at(base: i64, epoch: u32) -> Self {
        QueueState {
            epoch,
            base,
            cursor: base,
            leases: BTreeMap::new(),
            committing: None,
            unrecorded: false,
        }
    }

    /// Moves the position to `base` (an operator's reset, or a change made through another
    /// path): every lease is dropped and handles issued so far are outdated.
    pub fn reset(&mut self, base: i64) {
        *self = QueueState::starting_at(base, self.epoch.wrapping_add(1));
    }

    /// Whether the offset table's value `table` is what this state committed (or is committing).
    /// Anything else means someone else moved the group's position.
    pub fn agrees_with(&self, table: Option<i64>) -> bool {
        match table {
            None => self.unrecorded,
            Some(v) => v == self.base || Some(v) == self.committing,
        }
    }

    /// The offset the group may commit: nothing below it is outstanding.
    pub fn frontier(&self) -> i64 {
        self.leases
            .keys()
            .next()
            .copied()
            .unwrap_or(self.cursor)
            .max(self.base)
    }

    /// Leases whose window has ended at `now_ms`, in offset order, at most `max`.
    pub fn expired(&self, now_ms: i64, max: usize) -> Vec<(i64, Lease)> {
        self.leases
            .iter()
            .filter(|(_, l)| l.deadline_ms <= now_ms)
            .take(max)
            .map(|(o, l)| (*o, *l))
            .collect()
    }

    /// The earliest end of a window, for waking a waiting receiver.
    pub fn next_deadline(&self) -> Option<i64> {
        self.leases.values().map(|l| l.deadline_ms).min()
    }

    /// Records a delivery (a fresh one, a redelivery or a changed window) of `offset`.
    pub fn lease(&mut self, offset: i64, lease: Lease) {
        if offset >= self.base {
            self.leases.insert(offset, lease);
        }
    }

    /// Everything before `to` has been handed out: offsets without a lease there were skipped.
    pub fn advance_cursor(&mut self, to: i64) {
        self.cursor = self.cursor.max(to);
    }

    /// What acking the lease `seq` of `offset`, made in `epoch`, would do.
    pub fn classify_ack(&self, offset: i64, seq: u64, epoch: u32) -> AckOutcome {
        if epoch != self.epoch {
            return AckOutcome::BeforeReset;
        }
        if offset < self.base {
            return AckOutcome::AlreadyDone;
        }
        match self.leases.get(&offset) {
            Some(l) if l.seq == seq => AckOutcome::Acked,
            Some(l) => AckOutcome::Superseded(l.attempt),
            None if offset < self.cursor => AckOutcome::AlreadyDone,
            None => AckOutcome::NeverDelivered,
        }
    }

    /// Releases the lease `seq` of `offset`, made in `epoch`.
    pub fn ack(&mut self, offset: i64, seq: u64, epoch: u32) -> AckOutcome {
        let outcome = self.classify_ack(offset, seq, epoch);
        if outcome == AckOutcome::Acked {
            self.leases.remove(&offset);
        }
        outcome
    }

    /// The offset table now holds `base` for this queue (this state's own commit).
    pub fn committed(&mut self, base: i64) {
        if base > self.base {
            self.base = base;
            self.cursor = self.cursor.max(base);
            self.leases = self.leases.split_off(&base);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(seq: u64, deadline_ms: i64) -> Lease {
        Lease {
            seq,
            attempt: 1,
            deadline_ms,
        }
    }

    #[test]
    fn frontier_follows_the_oldest_lease() {
        let mut q = QueueState::starting_at(10, 0);
        for (i, o) in (10..14).enumerate() {
            q.lease(o, lease(i as u64, 100));
        }
        q.advance_cursor(15); // 14 was filtered out
        assert_eq!(q.frontier(), 10);
        assert_eq!(q.ack(11, 1, 0), AckOutcome::Acked);
        assert_eq!(q.frontier(), 10);
        assert_eq!(q.ack(10, 0, 0), AckOutcome::Acked);
        assert_eq!(q.frontier(), 12);
        assert_eq!(q.ack(12, 2, 0), AckOutcome::Acked);
        assert_eq!(q.ack(13, 3, 0), AckOutcome::Acked);
        assert_eq!(q.frontier(), 15);
        q.committed(15);
        assert_eq!(q.base, 15);
        assert_eq!(q.ack(13, 3, 0), AckOutcome::AlreadyDone);
        assert_eq!(q.ack(20, 9, 0), AckOutcome::NeverDelivered);
    }

    #[test]
    fn stale_and_pre_reset_handles_change_nothing() {
        let mut q = QueueState::starting_at(0, 4);
        q.lease(0, lease(1, 100));
        q.advance_cursor(1);
        q.lease(
            0,
            Lease {
                seq: 2,
                attempt: 2,
                deadline_ms: 200,
            },
        );
        assert_eq!(q.ack(0, 1, 4), AckOutcome::Superseded(2));
        assert_eq!(q.ack(0, 2, 3), AckOutcome::BeforeReset);
        q.reset(0);
        assert_eq!(q.epoch, 5);
        assert!(q.leases.is_empty());
        assert_eq!(q.ack(0, 2, 4), AckOutcome::BeforeReset);
    }

    #[test]
    fn expired_in_offset_order() {
        let mut q = QueueState::starting_at(0, 0);
        q.lease(2, lease(1, 50));
        q.lease(1, lease(2, 300));
        q.lease(0, lease(3, 40));
        q.advance_cursor(3);
        let e: Vec<i64> = q.expired(100, 10).into_iter().map(|(o, _)| o).collect();
        assert_eq!(e, vec![0, 2]);
        assert_eq!(q.next_deadline(), Some(40));
    }

    #[test]
    fn agreement_with_the_table() {
        let mut q = QueueState::starting_at(5, 0);
        assert!(q.agrees_with(Some(5)));
        assert!(!q.agrees_with(None));
        q.unrecorded = true;
        assert!(q.agrees_with(None));
        q.unrecorded = false;
        q.committing = Some(8);
        assert!(q.agrees_with(Some(8)));
        assert!(!q.agrees_with(Some(7)));
    }
}
