//! Delay levels and timed messages. A delayed message waits in `SCHEDULE_TOPIC_XXXX`, queue
//! `level − 1`; a timed one in [`TIMER_TOPIC`] (see [`crate::timer`]). Every queue is in
//! delivery order (same wait, store order), so one cursor per queue suffices. Due messages are
//! re-stored to their real topic and queue (a timed one with time left moves to the timer queue
//! that fits it). Cursors persist in `config/delayOffset.json` and `config/timerOffset.json`; a
//! crash may deliver a message twice, never lose it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::message::{decode_records, encode_properties, prop, DecodedMessage};
use ferromq_protocol::names::SCHEDULE_TOPIC;
use ferromq_store::GetStatus;
use tracing::warn;

use crate::handlers::{store_messages, Outgoing};
use crate::timer::{self, TIMER_TOPIC};
use crate::{persist, topics::now_ms, Broker};

const TICK: Duration = Duration::from_millis(100);

/// One topic of waiting messages: how long each queue holds them, and where its cursors live.
struct Wheel {
    topic: &'static str,
    waits: Vec<Duration>,
    cursors: BTreeMap<i32, i64>,
    path: PathBuf,
}

impl Wheel {
    fn load(topic: &'static str, waits: Vec<Duration>, path: PathBuf) -> Self {
        let cursors = match persist::load_json(&path) {
            Ok(c) => c,
            Err(e) => {
                warn!(%topic, "cursors unreadable, restarting them from each queue's start: {e}");
                BTreeMap::new()
            }
        };
        Wheel {
            topic,
            waits,
            cursors,
            path,
        }
    }

    /// Delivers what is due in every queue; persists the cursors that moved.
    async fn turn(&mut self, b: &Broker) {
        let mut moved = false;
        for (q, wait) in self.waits.iter().enumerate() {
            let q = q as i32;
            let cursor = self.cursors.entry(q).or_insert(0);
            match deliver_due(b, self.topic, q, *wait, *cursor).await {
                Ok(next) if next != *cursor => {
                    *cursor = next;
                    moved = true;
                }
                Ok(_) => {}
                Err(e) => warn!(
                    topic = self.topic,
                    queue = q,
                    "delayed delivery failed, will retry: {e}"
                ),
            }
        }
        if moved {
            if let Err(e) = persist::save_json(&self.path, &self.cursors) {
                warn!(topic = self.topic, "cannot persist cursors: {e}");
            }
        }
    }
}

pub async fn run(b: Arc<Broker>) {
    let config = b.cfg.data_dir.join("config");
    let mut wheels = [
        Wheel::load(
            SCHEDULE_TOPIC,
            b.delay_levels.clone(),
            config.join("delayOffset.json"),
        ),
        Wheel::load(
            TIMER_TOPIC,
            (0..timer::LEVELS).map(timer::wait_of).collect(),
            config.join("timerOffset.json"),
        ),
    ];
    let mut tick = tokio::time::interval(TICK);
    let mut turns = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = b.shutdown.cancelled() => break,
        }
        for w in &mut wheels {
            w.turn(&b).await;
        }
        turns += 1;
        if turns.is_multiple_of(600) {
            b.timer_recalls.expire(now_ms());
        }
    }
}

/// Where a due message goes: its real topic, or (timed, with time left) the timer queue that
/// fits what remains.
fn next_stop(b: &Broker, from_topic: &str, m: DecodedMessage, now: i64) -> Option<Outgoing> {
    let mut props = m.properties_map();
    if from_topic == TIMER_TOPIC {
        let topic = props.get(prop::REAL_TOPIC).map_or("", String::as_str);
        let id = props.get(prop::UNIQ_KEY).map_or("", String::as_str);
        if b.timer_recalls.take(topic, id) {
            tracing::info!(%topic, %id, "timed message recalled, dropped");
            return None;
        }
    }
    let mut topic = props.get(prop::REAL_TOPIC).cloned().unwrap_or_default();
    let mut queue_id = props
        .get(prop::REAL_QID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    let left = props
        .get(prop::TIMER_DELIVER_MS)
        .and_then(|t| t.parse::<i64>().ok())
        .map_or(0, |at| at.saturating_sub(now));
    if from_topic == TIMER_TOPIC && left >= timer::PRECISION_MS {
        topic = TIMER_TOPIC.to_string();
        queue_id = timer::level_for(left);
    } else {
        props.remove(prop::REAL_TOPIC);
        props.remove(prop::REAL_QID);
        props.remove(prop::DELAY);
    }
    if topic.is_empty() {
        warn!(
            offset = m.queue_offset,
            "delayed message without REAL_TOPIC dropped"
        );
        return None;
    }
    Some(Outgoing {
        topic,
        queue_id,
        flag: m.flag,
        sys_flag: m.sys_flag,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times: m.reconsume_times,
        body: m.body,
        properties: encode_properties(&props),
    })
}

/// Delivers the due messages of one queue from `cursor`; returns the new cursor.
async fn deliver_due(
    b: &Broker,
    topic: &str,
    queue: i32,
    wait: Duration,
    mut cursor: i64,
) -> Result<i64, String> {
    loop {
        let r = b.store.get(topic, queue, cursor, 32, 1 << 20, &|_| true);
        match r.status {
            GetStatus::Found => {}
            GetStatus::OffsetTooSmall => return Ok(r.next_begin_offset),
            _ => return Ok(cursor),
        }
        let msgs = decode_records(&r.body).map_err(|e| e.to_string())?;
        let now = now_ms();
        let mut batch = Vec::new();
        let mut seen = 0;
        for m in msgs {
            if m.store_timestamp + wait.as_millis() as i64 > now {
                break;
            }
            seen += 1;
            cursor = m.queue_offset + 1;
            batch.extend(next_stop(b, topic, m, now));
        }
        let full = seen == r.count;
        // One store call per destination topic (a put carries one topic).
        while !batch.is_empty() {
            let first = batch[0].topic.clone();
            let (same, rest): (Vec<_>, Vec<_>) = batch.into_iter().partition(|o| o.topic == first);
            store_messages(b, same).await.map_err(|e| e.to_string())?;
            batch = rest;
        }
        if !full {
            return Ok(cursor);
        }
    }
}
