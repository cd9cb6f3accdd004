//! How fast each consumer group pulls each topic: the `consumeTps` of ConsumeStats
//! (GET_CONSUME_STATS, GET_BROKER_CONSUME_STATS; mqadmin `consumerProgress`, `brokerConsumeStats`,
//! `statsAll`). Counted per (group, topic) in fixed windows: the rate is the last full window's,
//! or the current window's so far before the first one closed, or once the current window has
//! run longer than one window (the group slowed down or stopped: it falls towards 0).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The length of one counting window.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Pairs tracked at most: a pair beyond this is not counted (its rate reads 0) rather than let
/// clients grow the table without bound.
pub const MAX_RATE_PAIRS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u64,
    /// The rate of the last full window; `None` until one has closed.
    last_rate: Option<f64>,
}

#[derive(Default)]
struct Table {
    /// group → topic → window. Nested so that the pull path looks up with `&str`, allocating
    /// only when a pair is first seen.
    groups: HashMap<String, HashMap<String, Window>>,
    pairs: usize,
}

/// One lock, taken once per pull that returned messages.
#[derive(Default)]
pub struct GroupRates {
    table: Mutex<Table>,
}

impl GroupRates {
    /// `n` messages returned to `group` from `topic`.
    pub fn add(&self, group: &str, topic: &str, n: u64, now: Instant) {
        let mut t = self.table.lock();
        if let Some(w) = t.groups.get_mut(group).and_then(|g| g.get_mut(topic)) {
            roll(w, now);
            w.count = w.count.saturating_add(n);
            return;
        }
        if t.pairs >= MAX_RATE_PAIRS {
            return;
        }
        t.pairs += 1;
        t.groups.entry(group.to_string()).or_default().insert(
            topic.to_string(),
            Window {
                start: now,
                count: n,
                last_rate: None,
            },
        );
    }

    /// Messages per second `group` pulled from `topic` (0 when never seen).
    pub fn rate(&self, group: &str, topic: &str, now: Instant) -> f64 {
        let t = self.table.lock();
        let Some(w) = t.groups.get(group).and_then(|g| g.get(topic)) else {
            return 0.0;
        };
        let open = now.saturating_duration_since(w.start);
        match w.last_rate {
            Some(last) if open < RATE_WINDOW => last,
            // The first window, or one open longer than a window: its count so far, over at
            // least a second so that a group seen a moment ago does not read thousands.
            _ => w.count as f64 / open.max(Duration::from_secs(1)).as_secs_f64(),
        }
    }

    /// Forgets a deleted group.
    pub fn forget_group(&self, group: &str) {
        let mut t = self.table.lock();
        if let Some(topics) = t.groups.remove(group) {
            t.pairs = t.pairs.saturating_sub(topics.len());
        }
    }
}

/// Closes the window when it has run its length.
fn roll(w: &mut Window, now: Instant) {
    let open = now.saturating_duration_since(w.start);
    if open >= RATE_WINDOW {
        w.last_rate = Some(w.count as f64 / open.as_secs_f64());
        w.start = now;
        w.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_last_full_window_then_decays() {
        let r = GroupRates::default();
        let t0 = Instant::now();
        assert_eq!(r.rate("g", "t", t0), 0.0);
        r.add("g", "t", 50, t0);
        // Before a window closed: the count so far, over at least a second.
        assert!((r.rate("g", "t", t0) - 50.0).abs() < 1e-9);
        r.add("g", "t", 50, t0 + Duration::from_secs(5));
        // The window closes at the next add after 10 s: 100 messages over 10 s.
        r.add("g", "t", 0, t0 + RATE_WINDOW);
        assert!((r.rate("g", "t", t0 + RATE_WINDOW) - 10.0).abs() < 1e-9);
        // Nothing more: after another full window the open one (0 messages) takes over.
        assert_eq!(r.rate("g", "t", t0 + RATE_WINDOW * 2), 0.0);
        assert_eq!(r.rate("g", "other", t0), 0.0);
    }

    #[test]
    fn pairs_are_bounded_and_forgotten_with_their_group() {
        let r = GroupRates::default();
        let now = Instant::now();
        r.table.lock().pairs = MAX_RATE_PAIRS - 1;
        r.add("g", "t1", 1, now);
        r.add("g", "t2", 1, now);
        assert_eq!(r.table.lock().pairs, MAX_RATE_PAIRS);
        assert!(!r.table.lock().groups["g"].contains_key("t2"));
        r.forget_group("g");
        assert_eq!(r.table.lock().pairs, MAX_RATE_PAIRS - 1);
    }
}
