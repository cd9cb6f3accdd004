//! The check-back service (upstream `TransactionalMessageCheckService`): every
//! `transaction-check-interval-ms` it asks producers about half messages older than
//! `transaction-timeout-ms` (CHECK_TRANSACTION_STATE, oneway, to one live connection of the
//! message's producer group, which answers with END_TRANSACTION), discards messages asked
//! `transaction-check-max` times, and then writes a checkpoint of the pending set.
//!
//! A message whose group has no live producer is not asked and not counted: it waits for the
//! next scan (or until retention deletes its record, which discards it). Each scan handles at most `transaction-checks-per-scan` messages, oldest first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::message::decode_record;
use ferromq_protocol::time::now_ms;
use ferromq_protocol::transaction as tx;
use tracing::{debug, warn};

use super::recovery::Checkpoint;
use super::state::{Due, Pending};
use super::{discard, record};
use crate::{persist, Broker};

pub async fn run(b: Arc<Broker>) {
    let interval = Duration::from_millis(b.cfg.transaction_check_interval_ms.max(1));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = b.shutdown.cancelled() => break,
        }
        scan(&b).await;
        checkpoint(&b).await;
    }
    checkpoint(&b).await;
}

/// One pass over the due half messages.
pub async fn scan(b: &Broker) {
    let gone = b.transactions.state.lock().expired(
        b.store.commit_log_min_offset(),
        b.cfg.transaction_checks_per_scan,
    );
    for (offset, phys) in gone {
        discard(
            b,
            offset,
            phys,
            "retention deleted its record before a decision",
        )
        .await;
    }
    let interval = i64::try_from(b.cfg.transaction_check_interval_ms).unwrap_or(i64::MAX);
    let mut online: HashMap<String, bool> = HashMap::new();
    let due = b.transactions.state.lock().due(
        now_ms(),
        interval,
        b.cfg.transaction_check_max,
        b.cfg.transaction_checks_per_scan,
        |group| {
            *online.entry(group.to_string()).or_insert_with(|| {
                !b.clients.producers(group).is_empty()
                    || b.transactions.remote_producers(group).is_some()
            })
        },
    );
    for d in due {
        match d {
            Due::Check { offset, pending } => check_one(b, offset, &pending).await,
            Due::Discard { offset, pending } => {
                let why = format!(
                    "producer group {} was asked {} times without a commit or rollback \
                     (transaction-check-max)",
                    pending.group, pending.checks
                );
                discard(b, offset, pending.phys, &why).await;
            }
        }
    }
}

async fn check_one(b: &Broker, offset: i64, pending: &Pending) {
    let producers = b.clients.producers(&pending.group);
    let remote = b.transactions.remote_producers(&pending.group);
    if producers.is_empty() && remote.is_none() {
        debug!(offset, group = %pending.group, "no live producer to ask about a half message");
        return;
    }
    let half = b
        .store
        .read_record(pending.phys)
        .and_then(|raw| decode_record(&raw).ok().map(|(m, _)| m))
        .filter(|m| m.topic == tx::HALF_TOPIC && m.queue_offset == offset);
    let Some(half) = half else {
        discard(
            b,
            offset,
            pending.phys,
            "its record is no longer in the store",
        )
        .await;
        return;
    };
    let checks = pending.checks.saturating_add(1);
    if let (true, Some(remote)) = (producers.is_empty(), remote) {
        match remote.ask(&pending.group, &half, checks) {
            Ok(()) => {
                b.transactions.state.lock().checked(offset, now_ms());
                debug!(offset, checks, "transaction check-back sent over gRPC");
            }
            Err(e) => debug!(offset, "transaction check-back not sent: {e}"),
        }
        return;
    }
    let Some(req) = record::check_request(&half, b.store_host, checks) else {
        discard(b, offset, pending.phys, "it names no REAL_TOPIC/REAL_QID").await;
        return;
    };
    // Rotate over the group's connections, so one that stopped answering is not the only one
    // ever asked.
    let (conn, client_id) = &producers[checks as usize % producers.len()];
    match conn.try_oneway(req) {
        Ok(()) => {
            b.transactions.state.lock().checked(offset, now_ms());
            debug!(offset, client = %client_id, checks, "transaction check-back sent");
        }
        Err(e) => debug!(offset, client = %client_id, "transaction check-back not sent: {e}"),
    }
}

/// Saves the pending set and the queue offsets it accounts for, if anything changed.
pub async fn checkpoint(b: &Broker) {
    let tx = &b.transactions;
    let snapshot = {
        let _gate = tx.gate.write().await;
        let mut st = tx.state.lock();
        if !st.dirty {
            return;
        }
        st.dirty = false;
        Checkpoint {
            half_offset: b.store.max_offset(tx::HALF_TOPIC, 0),
            op_offset: b.store.max_offset(tx::OP_HALF_TOPIC, 0),
            pending: st.pending.clone(),
        }
    };
    let path = tx.checkpoint_path.clone();
    let saved = tokio::task::spawn_blocking(move || persist::save_json(&path, &snapshot)).await;
    let err = match saved {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    warn!("cannot write the transaction checkpoint, will retry: {err}");
    tx.state.lock().dirty = true;
}
