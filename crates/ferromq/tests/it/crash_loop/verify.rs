//! The checks after each restart: every acknowledged message and offset is there.

use std::collections::{BTreeMap, HashMap};

use ferromq_client::MqClient;
use ferromq_protocol::codes::request as rq;
use serde_json::{json, Value};

use crate::common::read_queue;
use crate::crash_loop::model::Model;
use crate::crash_loop::{GROUPS, QUEUES, TOPIC};

/// Every message of every queue, read back with PULL_MESSAGE.
async fn read_all(client: &MqClient, broker: &str) -> HashMap<(i32, i64), String> {
    let mut stored = HashMap::new();
    for q in 0..QUEUES {
        for (offset, body) in read_queue(client, broker, "CL_check", TOPIC, q).await {
            stored.insert((q, offset), body);
        }
    }
    stored
}

/// The stored offsets of our groups (FERRO_EXPORT_OFFSETS: exactly what the table holds).
async fn stored_offsets(client: &MqClient, broker: &str) -> BTreeMap<(String, i32), i64> {
    let v: Value = client
        .ferro(
            broker,
            rq::FERRO_EXPORT_OFFSETS,
            &json!({ "groups": GROUPS }),
        )
        .await
        .expect("export offsets after restart");
    let mut out = BTreeMap::new();
    for r in v["records"].as_array().expect("records") {
        let group = r["group"].as_str().expect("group").to_string();
        assert_eq!(r["topic"].as_str(), Some(TOPIC), "unexpected record {r}");
        let q = r["queueId"].as_i64().expect("queueId") as i32;
        out.insert((group, q), r["offset"].as_i64().expect("offset"));
    }
    out
}

/// Checks the restarted broker against the model, then makes what it found the new baseline.
pub async fn verify(client: &MqClient, broker: &str, model: &Model, gen: u32) {
    let stored = read_all(client, broker).await;
    {
        let acked = model.messages.lock().unwrap();
        for ((q, off), body) in acked.iter() {
            match stored.get(&(*q, *off)) {
                Some(b) if b == body => {}
                Some(b) => panic!(
                    "after kill {gen}: queue {q} offset {off} holds {:.40}…, acknowledged was {:.40}…",
                    b, body
                ),
                None => panic!(
                    "after kill {gen}: acknowledged message {:.40}… at queue {q} offset {off} is lost",
                    body
                ),
            }
        }
    }
    let table = stored_offsets(client, broker).await;
    let mut offsets = model.offsets.lock().unwrap();
    for (key, got) in &table {
        let m = offsets
            .get(key)
            .unwrap_or_else(|| panic!("after kill {gen}: {key:?} = {got} was never written"));
        assert!(
            m.confirmed == Some(*got) || m.unknown.contains(got),
            "after kill {gen}: {key:?} = {got}; the last acknowledged write was {:?}, unanswered ones after it {:?}",
            m.confirmed,
            m.unknown
        );
    }
    for (key, m) in offsets.iter_mut() {
        match table.get(key) {
            Some(&got) => m.confirmed = Some(got),
            None => assert!(
                m.confirmed.is_none(),
                "after kill {gen}: {key:?} is gone; the last acknowledged write was {:?}",
                m.confirmed
            ),
        }
        m.unknown.clear();
    }
}
