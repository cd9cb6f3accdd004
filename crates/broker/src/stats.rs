//! Counters reported by GET_BROKER_RUNTIME_INFO.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Stats {
    pub msg_put_total: AtomicU64,
    pub msg_get_total: AtomicU64,
    pub put_bytes_total: AtomicU64,
}

impl Stats {
    pub fn add_put(&self, msgs: u64, bytes: u64) {
        self.msg_put_total.fetch_add(msgs, Ordering::Relaxed);
        self.put_bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_get(&self, msgs: u64) {
        self.msg_get_total.fetch_add(msgs, Ordering::Relaxed);
    }
}
