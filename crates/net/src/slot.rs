//! [`ConnectionSlot`]: one connection's place under `max_connections`, shared by every listener
//! that counts against the same limit (the broker's Remoting ports and its gRPC endpoint).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::connection::ConnConfig;

impl ConnConfig {
    /// Takes a place for a new connection under `max_connections`.
    pub fn take_slot(&self) -> Option<ConnectionSlot> {
        ConnectionSlot::take(&self.open_connections, self.max_connections)
    }
}

/// One connection's place under a connection limit, given back when dropped (so every path
/// that ends a connection, or fails to start one, gives it back).
#[derive(Debug)]
pub struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    /// Takes a place among `max` counted by `open`; `None` when all are taken.
    pub fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        let now = open.fetch_add(1, Ordering::AcqRel) + 1;
        if now > max {
            open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnectionSlot(open.clone()))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_given_back_on_drop() {
        let open = Arc::new(AtomicUsize::new(0));
        let a = ConnectionSlot::take(&open, 2).unwrap();
        let b = ConnectionSlot::take(&open, 2).unwrap();
        assert!(ConnectionSlot::take(&open, 2).is_none(), "the limit holds");
        assert_eq!(open.load(Ordering::SeqCst), 2, "a refusal takes nothing");
        drop(a);
        let _c = ConnectionSlot::take(&open, 2).unwrap();
        drop(b);
        assert_eq!(open.load(Ordering::SeqCst), 1);
    }
}
