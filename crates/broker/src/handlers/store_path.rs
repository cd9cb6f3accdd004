//! The one path by which messages enter the store: producer sends, consumer send-backs and the
//! delay scheduler all go through [`store_messages`], which applies delay levels and delivery
//! times, encodes the record once, appends, and wakes held pulls.

use std::net::SocketAddr;

use bytes::Bytes;
use ferromq_protocol::message::{
    encode_properties, encode_record, find_property, parse_properties, prop,
    push_missing_properties, tags_code, NewMessage,
};
use ferromq_protocol::names::SCHEDULE_TOPIC;
use ferromq_protocol::transaction::{HALF_TOPIC, OP_HALF_TOPIC};
use ferromq_store::{AppendRecord, PutResult, StoreError};

use crate::timer::{self, TIMER_TOPIC};
use crate::Broker;

/// A message on its way into the store.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub reconsume_times: i32,
    pub body: Bytes,
    /// Encoded properties (`k\x01v\x02…`); parsed only when a delay level must be applied.
    pub properties: String,
}

/// Where a message was stored.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub put: PutResult,
    pub queue_id: i32,
}

/// Appends messages atomically (contiguous, consecutive queue offsets per queue).
///
/// # Errors
/// The store's error; for a flush timeout the messages are written but not yet durable.
pub(crate) async fn store_messages(
    b: &Broker,
    msgs: Vec<Outgoing>,
) -> Result<Vec<Stored>, StoreError> {
    store_messages_at(b, msgs, None).await
}

/// [`store_messages`], with `expect` = the queue offset the first message must get (all
/// messages then go to one queue; see `MessageStore::put_expecting`).
pub(crate) async fn store_messages_at(
    b: &Broker,
    msgs: Vec<Outgoing>,
    expect: Option<i64>,
) -> Result<Vec<Stored>, StoreError> {
    let mut records = Vec::with_capacity(msgs.len());
    let mut places = Vec::with_capacity(msgs.len());
    let mut bytes_total = 0u64;
    for mut m in msgs {
        let code = route_delay(b, &mut m);
        // As upstream's broker stamps every message: consumers' trace hooks read region and
        // trace switch from the message (mirrored messages keep their source's values).
        push_missing_properties(
            &mut m.properties,
            &[
                (prop::CLUSTER, b.cfg.cluster.as_str()),
                (prop::MSG_REGION, prop::DEFAULT_REGION),
                (prop::TRACE_ON, "true"),
            ],
        );
        let new = NewMessage {
            topic: m.topic,
            queue_id: m.queue_id,
            flag: m.flag,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            store_host: b.store_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: 0,
            body: m.body,
            properties: m.properties,
        };
        let mut bytes = Vec::new();
        encode_record(&new, &mut bytes)
            .map_err(|_| StoreError::InvalidRecord("properties longer than 32767 bytes"))?;
        bytes_total += bytes.len() as u64;
        places.push((new.topic.clone(), new.queue_id));
        records.push(AppendRecord {
            bytes,
            topic: new.topic,
            queue_id: new.queue_id,
            tags_code: code,
        });
    }
    let count = records.len() as u64;
    let results = match expect {
        Some(offset) => b.store.put_expecting(records, offset).await,
        None => b.store.put(records).await,
    };
    // Wake held pulls even on a flush timeout: the messages are written and readable.
    for (topic, q) in &places {
        b.pull_hold.wake(topic, *q);
    }
    let results = results?;
    b.stats.add_put(count, bytes_total);
    // A put carries one topic (a batch is one topic, as upstream requires).
    if let Some((topic, _)) = places.first() {
        b.metrics.add_in(topic, count, bytes_total);
    }
    Ok(results
        .into_iter()
        .zip(places)
        .map(|(put, (_, queue_id))| Stored { put, queue_id })
        .collect())
}

/// Moves a message with a `DELAY` level into the schedule topic (queue = level − 1), or one
/// with a delivery time into the timer topic ([`crate::timer`]), keeping its real destination
/// in `REAL_TOPIC`/`REAL_QID`. Returns the consume-queue tag code: the delivery time for
/// delayed and timed messages, the tag hash otherwise.
fn route_delay(b: &Broker, m: &mut Outgoing) -> i64 {
    if m.topic == TIMER_TOPIC {
        // A timed message moving between timer queues (its time is already absolute).
        if let Some(at) =
            find_property(&m.properties, prop::TIMER_DELIVER_MS).and_then(|t| t.parse().ok())
        {
            return at;
        }
    }
    // Waiting already, or a half message (its delivery time applies once it is committed).
    if [SCHEDULE_TOPIC, TIMER_TOPIC, HALF_TOPIC, OP_HALF_TOPIC].contains(&m.topic.as_str()) {
        return tags_code(find_property(&m.properties, prop::TAGS));
    }
    let level = find_property(&m.properties, prop::DELAY)
        .and_then(|d| d.trim().parse::<usize>().ok())
        .filter(|l| *l > 0);
    if let Some(level) = level {
        let level = level.min(b.delay_levels.len());
        let delay = b.delay_levels[level - 1];
        let mut props = parse_properties(&m.properties);
        props.insert(prop::REAL_TOPIC.into(), std::mem::take(&mut m.topic));
        props.insert(prop::REAL_QID.into(), m.queue_id.to_string());
        props.insert(prop::DELAY.into(), level.to_string());
        m.properties = encode_properties(&props);
        m.topic = SCHEDULE_TOPIC.into();
        m.queue_id = level as i32 - 1;
        return crate::topics::now_ms() + delay.as_millis() as i64;
    }
    if timer::is_timed(&m.properties) {
        let mut props = parse_properties(&m.properties);
        let now = crate::topics::now_ms();
        match timer::deliver_at(&props, now) {
            Ok(Some(at)) if at.saturating_sub(now) >= timer::PRECISION_MS => {
                props.insert(prop::REAL_TOPIC.into(), std::mem::take(&mut m.topic));
                props.insert(prop::REAL_QID.into(), m.queue_id.to_string());
                // Absolute from here on: each move between timer queues reads what is left.
                props.insert(prop::TIMER_DELIVER_MS.into(), at.to_string());
                props.remove(prop::TIMER_DELAY_SEC);
                props.remove(prop::TIMER_DELAY_MS);
                m.properties = encode_properties(&props);
                m.topic = TIMER_TOPIC.into();
                m.queue_id = timer::level_for(at.saturating_sub(now));
                return at;
            }
            // Due already: stored for consumption now.
            Ok(_) => {}
            // Sends are checked before they get here ([`check_timer`]); what else carries a bad
            // time (a batch item, a copy) is delivered now rather than lost.
            Err(e) => tracing::warn!(topic = %m.topic, "delivery time ignored: {e}"),
        }
    }
    tags_code(find_property(&m.properties, prop::TAGS))
}

/// Refuses a message whose delivery time is malformed or too far away.
///
/// # Errors
/// What is wrong with it, as upstream words it.
pub(crate) fn check_timer(properties: &str) -> Result<(), String> {
    if !timer::is_timed(properties) {
        return Ok(());
    }
    timer::deliver_at(&parse_properties(properties), crate::topics::now_ms()).map(|_| ())
}
