//! [`LockManager`]: queue locks for ordered consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ).
//! A lock is held by one client id and lapses after 60 s without renewal.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ferromq_protocol::body::MessageQueue;
use parking_lot::Mutex;

pub const LOCK_MAX_LIVE: Duration = Duration::from_secs(60);
/// Most queues one group may hold locks on; lapsed locks are dropped before this is checked.
pub const MAX_LOCKS_PER_GROUP: usize = 65_536;

/// One group's locks: queue → (owning client id, last renewal).
type GroupLocks = HashMap<MessageQueue, (String, Instant)>;

#[derive(Default)]
pub struct LockManager {
    locks: Mutex<HashMap<String, GroupLocks>>,
}

impl LockManager {
    /// Locks (or renews) each queue for `client_id`; returns the queues it now holds.
    pub fn try_lock(
        &self,
        group: &str,
        client_id: &str,
        mqs: &[MessageQueue],
        now: Instant,
    ) -> Vec<MessageQueue> {
        let mut all = self.locks.lock();
        let table = all.entry(group.to_string()).or_default();
        if table.len() + mqs.len() > MAX_LOCKS_PER_GROUP {
            table.retain(|_, (_, at)| now.saturating_duration_since(*at) <= LOCK_MAX_LIVE);
        }
        let mut held = Vec::new();
        for mq in mqs {
            if table.len() >= MAX_LOCKS_PER_GROUP && !table.contains_key(mq) {
                break;
            }
            let free = match table.get(mq) {
                None => true,
                Some((owner, at)) => {
                    owner == client_id || now.saturating_duration_since(*at) > LOCK_MAX_LIVE
                }
            };
            if free {
                table.insert(mq.clone(), (client_id.to_string(), now));
                held.push(mq.clone());
            }
        }
        held
    }

    /// Releases the queues `client_id` holds.
    pub fn unlock(&self, group: &str, client_id: &str, mqs: &[MessageQueue]) {
        let mut all = self.locks.lock();
        if let Some(table) = all.get_mut(group) {
            for mq in mqs {
                if table.get(mq).is_some_and(|(owner, _)| owner == client_id) {
                    table.remove(mq);
                }
            }
        }
    }

    /// Drops locks that lapsed before `now` and groups left without locks, so the table holds
    /// only live locks (housekeeping).
    pub fn expire(&self, now: Instant) {
        let mut all = self.locks.lock();
        for table in all.values_mut() {
            table.retain(|_, (_, at)| now.saturating_duration_since(*at) <= LOCK_MAX_LIVE);
        }
        all.retain(|_, t| !t.is_empty());
    }

    /// Locks held (queues), for tests and metrics.
    pub fn len(&self) -> usize {
        self.locks.lock().values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every lock of a group (group deleted).
    pub fn remove_group(&self, group: &str) {
        self.locks.lock().remove(group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lapsed_locks_are_dropped() {
        let m = LockManager::default();
        let t0 = Instant::now();
        m.try_lock("g", "c1", &[MessageQueue::new("T", "b", 0)], t0);
        m.try_lock(
            "h",
            "c1",
            &[MessageQueue::new("T", "b", 1)],
            t0 + Duration::from_secs(30),
        );
        m.expire(t0 + Duration::from_secs(61));
        assert_eq!(m.len(), 1, "only the renewed lock is left");
        m.expire(t0 + Duration::from_secs(200));
        assert!(m.is_empty());
    }

    #[test]
    fn exclusive_renewable_and_expiring() {
        let m = LockManager::default();
        let q = vec![MessageQueue::new("T", "b", 0)];
        let t0 = Instant::now();
        assert_eq!(m.try_lock("g", "c1", &q, t0).len(), 1);
        assert!(m.try_lock("g", "c2", &q, t0).is_empty());
        assert_eq!(m.try_lock("g", "c1", &q, t0).len(), 1, "renewal");
        assert_eq!(
            m.try_lock("g", "c2", &q, t0 + Duration::from_secs(61))
                .len(),
            1,
            "expired"
        );
        m.unlock("g", "c1", &q);
        assert!(
            m.try_lock("g", "c1", &q, t0 + Duration::from_secs(62))
                .is_empty(),
            "c1 cannot unlock c2's lock"
        );
        m.unlock("g", "c2", &q);
        assert_eq!(
            m.try_lock("g", "c1", &q, t0 + Duration::from_secs(63))
                .len(),
            1
        );
    }
}
