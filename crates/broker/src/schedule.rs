//! Delay levels. A delayed message waits in `SCHEDULE_TOPIC_XXXX`, queue `level − 1`; every
//! queue is in delivery order (same delay, store order), so one cursor per level suffices. Due
//! messages are re-stored to their real topic and queue. Cursors persist in
//! `config/delayOffset.json`; a crash may deliver a message twice, never lose it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::message::{decode_records, encode_properties, prop};
use ferromq_protocol::names::SCHEDULE_TOPIC;
use ferromq_store::GetStatus;
use tracing::warn;

use crate::handlers::{store_messages, Outgoing};
use crate::{persist, topics::now_ms, Broker};

const TICK: Duration = Duration::from_millis(100);

pub async fn run(b: Arc<Broker>) {
    let path = b.cfg.data_dir.join("config").join("delayOffset.json");
    let mut cursors: BTreeMap<i32, i64> = match persist::load_json(&path) {
        Ok(c) => c,
        Err(e) => {
            warn!("delay cursors unreadable, restarting them from each queue's start: {e}");
            BTreeMap::new()
        }
    };
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = b.shutdown.cancelled() => break,
        }
        let mut moved = false;
        for (level, delay) in b.delay_levels.iter().enumerate() {
            let q = level as i32;
            let cursor = cursors.entry(q).or_insert(0);
            match deliver_due(&b, q, *delay, *cursor).await {
                Ok(next) if next != *cursor => {
                    *cursor = next;
                    moved = true;
                }
                Ok(_) => {}
                Err(e) => warn!(
                    level = level + 1,
                    "delayed delivery failed, will retry: {e}"
                ),
            }
        }
        if moved {
            if let Err(e) = persist::save_json(&path, &cursors) {
                warn!("cannot persist delay cursors: {e}");
            }
        }
    }
}

/// Delivers the due messages of one level from `cursor`; returns the new cursor.
async fn deliver_due(
    b: &Broker,
    queue: i32,
    delay: Duration,
    mut cursor: i64,
) -> Result<i64, String> {
    loop {
        let r = b
            .store
            .get(SCHEDULE_TOPIC, queue, cursor, 32, 1 << 20, &|_| true);
        match r.status {
            GetStatus::Found => {}
            GetStatus::OffsetTooSmall => return Ok(r.next_begin_offset),
            _ => return Ok(cursor),
        }
        let msgs = decode_records(&r.body).map_err(|e| e.to_string())?;
        let now = now_ms();
        let mut batch = Vec::new();
        for m in msgs {
            if m.store_timestamp + delay.as_millis() as i64 > now {
                break;
            }
            let mut props = m.properties_map();
            let topic = props.remove(prop::REAL_TOPIC).unwrap_or_default();
            let queue_id = props
                .remove(prop::REAL_QID)
                .and_then(|q| q.parse().ok())
                .unwrap_or(0);
            props.remove(prop::DELAY);
            cursor = m.queue_offset + 1;
            if topic.is_empty() {
                warn!(
                    offset = m.queue_offset,
                    "delayed message without REAL_TOPIC dropped"
                );
                continue;
            }
            batch.push(Outgoing {
                topic,
                queue_id,
                flag: m.flag,
                sys_flag: m.sys_flag,
                born_timestamp: m.born_timestamp,
                born_host: m.born_host,
                reconsume_times: m.reconsume_times,
                body: m.body,
                properties: encode_properties(&props),
            });
        }
        let full = batch.len() == r.count;
        if !batch.is_empty() {
            store_messages(b, batch).await.map_err(|e| e.to_string())?;
        }
        if !full {
            return Ok(cursor);
        }
    }
}
