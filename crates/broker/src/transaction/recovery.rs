//! The pending set survives a restart (clean or SIGKILL) without being written on every change:
//! `config/transactions.json` holds a checkpoint (the pending set, plus the half-queue and
//! op-queue offsets it accounts for), and start-up replays the two queues from those offsets —
//! half records add pending messages, op records remove them. The queues are the truth; the
//! checkpoint only bounds how much of them is read.
//!
//! The checkpoint is taken with the transaction gate held exclusively (see `super`), so no half
//! message is stored-but-uncounted and no resolution stored-but-unapplied at that moment: every
//! half record below `half_offset` is in `pending` or was resolved by an op record below
//! `op_offset`. Without a usable checkpoint both queues are replayed from their start.

use std::collections::BTreeMap;
use std::path::Path;

use ferromq_protocol::message::{decode_records, find_property, DecodedMessage};
use ferromq_protocol::transaction::{self as tx};
use ferromq_store::{GetStatus, MessageStore};
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::record::op_offsets;
use super::state::{Pending, State};
use crate::persist;

/// What `config/transactions.json` holds.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Checkpoint {
    /// Half-queue offset up to which `pending` accounts for every half record.
    pub half_offset: i64,
    /// Op-queue offset up to which every op record has been applied to `pending`.
    pub op_offset: i64,
    /// Unresolved half messages by half-queue offset.
    pub pending: BTreeMap<i64, Pending>,
}

/// Rebuilds the pending set: the checkpoint, then the records written after it.
pub fn recover(store: &MessageStore, path: &Path, timeout_ms: i64) -> State {
    let cp: Checkpoint = match persist::load_json(path) {
        Ok(c) => c,
        Err(e) => {
            warn!("transaction checkpoint unusable, replaying the half and op queues: {e}");
            Checkpoint::default()
        }
    };
    let mut st = State::default();
    st.pending = cp.pending;
    for_each_record(store, tx::HALF_TOPIC, cp.half_offset, |m| {
        st.pending.insert(m.queue_offset, pending_of(m, timeout_ms));
    });
    for_each_record(store, tx::OP_HALF_TOPIC, cp.op_offset, |m| {
        for offset in op_offsets(&m.body) {
            st.pending.remove(&offset);
        }
    });
    st.dirty = true;
    st
}

/// The pending entry of a half record just stored or replayed.
pub fn pending_of(m: &DecodedMessage, timeout_ms: i64) -> Pending {
    Pending {
        phys: m.physical_offset,
        store_ts: m.store_timestamp,
        group: find_property(&m.properties, tx::prop::PGROUP)
            .unwrap_or_default()
            .to_string(),
        checks: 0,
        last_check_ms: 0,
        first_wait_ms: first_wait_ms(&m.properties, timeout_ms),
    }
}

/// The wait before the first check-back: the timeout, or longer when the message asks for it
/// with `CHECK_IMMUNITY_TIME_IN_SECONDS`.
pub fn first_wait_ms(properties: &str, timeout_ms: i64) -> i64 {
    let immunity = find_property(properties, tx::prop::CHECK_IMMUNITY_SECS)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(0, |s| s.saturating_mul(1000));
    timeout_ms.max(immunity)
}

/// Calls `f` for each record of queue 0 of `topic` from `from`, skipping what retention
/// deleted and records that do not decode (logged; the store verified them when written).
fn for_each_record(
    store: &MessageStore,
    topic: &str,
    from: i64,
    mut f: impl FnMut(&DecodedMessage),
) {
    let mut offset = from.max(store.min_offset(topic, 0));
    loop {
        let r = store.get(topic, 0, offset, 256, 4 << 20, &|_| true);
        match r.status {
            GetStatus::Found => match decode_records(&r.body) {
                Ok(msgs) => msgs.iter().for_each(&mut f),
                Err(e) => warn!(topic, offset, "unreadable records skipped in replay: {e}"),
            },
            GetStatus::OffsetTooSmall
            | GetStatus::NoMatchedMessage
            | GetStatus::MessageWasRemoving => {}
            _ => return,
        }
        if r.next_begin_offset <= offset {
            return;
        }
        offset = r.next_begin_offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immunity_only_extends_the_timeout() {
        let mut p = String::new();
        assert_eq!(first_wait_ms(&p, 6000), 6000);
        ferromq_protocol::message::push_property(&mut p, tx::prop::CHECK_IMMUNITY_SECS, "60");
        assert_eq!(first_wait_ms(&p, 6000), 60_000);
        let mut q = String::new();
        ferromq_protocol::message::push_property(&mut q, tx::prop::CHECK_IMMUNITY_SECS, "1");
        assert_eq!(first_wait_ms(&q, 6000), 6000);
    }

    #[test]
    fn checkpoints_round_trip_through_json() {
        let mut cp = Checkpoint {
            half_offset: 5,
            op_offset: 3,
            ..Checkpoint::default()
        };
        cp.pending.insert(
            4,
            Pending {
                phys: 400,
                store_ts: 1,
                group: "PG".into(),
                checks: 2,
                last_check_ms: 9,
                first_wait_ms: 6000,
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transactions.json");
        persist::save_json(&path, &cp).unwrap();
        let back: Checkpoint = persist::load_json(&path).unwrap();
        assert_eq!((back.half_offset, back.op_offset), (5, 3));
        assert_eq!(back.pending, cp.pending);
    }
}
