//! [`PullHold`]: wake-ups for long-polling pulls. A held pull waits on its queue's
//! [`Notify`]; every append to that queue wakes all of them, and each re-reads the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::Broker;

use parking_lot::RwLock;
use tokio::sync::Notify;

#[derive(Default)]
pub struct PullHold {
    queues: RwLock<HashMap<String, HashMap<i32, Arc<Notify>>>>,
    held: AtomicUsize,
}

/// One held pull, counted until dropped.
pub struct HeldPull<'a> {
    hold: &'a PullHold,
    broker: &'a Broker,
    bytes: i64,
}

impl Drop for HeldPull<'_> {
    fn drop(&mut self) {
        self.hold.held.fetch_sub(1, Ordering::AcqRel);
        self.broker.metrics.held_pull(-1, -self.bytes);
    }
}

impl PullHold {
    /// Counts a pull about to be held (`bytes` it keeps in memory); `None` when
    /// `max-held-pulls` are held already.
    pub fn try_hold<'a>(&'a self, b: &'a Broker, bytes: usize) -> Option<HeldPull<'a>> {
        let n = self.held.fetch_add(1, Ordering::AcqRel) + 1;
        if n > b.cfg.max_held_pulls {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let bytes = bytes as i64;
        b.metrics.held_pull(1, bytes);
        Some(HeldPull {
            hold: self,
            broker: b,
            bytes,
        })
    }

    /// Pulls held right now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// The notifier of a queue, created on first use.
    pub fn notifier(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        if let Some(n) = self.queues.read().get(topic).and_then(|q| q.get(&queue_id)) {
            return n.clone();
        }
        self.queues
            .write()
            .entry(topic.to_string())
            .or_default()
            .entry(queue_id)
            .or_default()
            .clone()
    }

    /// Wakes every pull held on the queue. Costs one read-locked lookup when nobody waits.
    pub fn wake(&self, topic: &str, queue_id: i32) {
        if let Some(n) = self.queues.read().get(topic).and_then(|q| q.get(&queue_id)) {
            n.notify_waiters();
        }
    }

    /// Wakes every held pull (shutdown).
    pub fn wake_all(&self) {
        for q in self.queues.read().values() {
            q.values().for_each(|n| n.notify_waiters());
        }
    }

    /// Forgets a topic's notifiers (topic deleted).
    pub fn remove_topic(&self, topic: &str) {
        if let Some(q) = self.queues.write().remove(topic) {
            q.values().for_each(|n| n.notify_waiters());
        }
    }
}
