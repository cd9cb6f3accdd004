//! Shared setup of the progress scenarios: ferromq's own client as an admin of the broker
//! ([`Admin`]), and the deliveries the consumer scripts print.

use std::collections::BTreeMap;
use std::ops::Deref;

use bytes::Bytes;
use ferromq_protocol::codes::request as rq;
use serde_json::{json, Value};

use crate::common::{field_i64, field_str, Client, ClientProcess, Server, SyncClient};

/// Queues of the topics these scenarios create.
pub const QUEUES: i32 = 4;

/// ferromq's own client, driven synchronously from the test thread (the generic calls come
/// from [`SyncClient`]).
pub struct Admin(SyncClient);

impl Deref for Admin {
    type Target = SyncClient;

    fn deref(&self) -> &SyncClient {
        &self.0
    }
}

impl Admin {
    pub fn new(server: &Server) -> Admin {
        Admin(SyncClient::new(server))
    }

    /// Sends `count` messages to every queue of `topic`, bodies `<prefix>q<Q>-o<offset>`, and
    /// checks that they land at `first_offset..first_offset + count`.
    pub fn fill(&self, topic: &str, prefix: &str, first_offset: i64, count: i64) {
        for q in 0..QUEUES {
            for i in 0..count {
                let off = first_offset + i;
                let body = format!("{prefix}q{q}-o{off}");
                let r = self
                    .try_send("progress_e2e_producer", topic, q, Bytes::from(body.clone()))
                    .unwrap_or_else(|e| panic!("send {body}: {e}"));
                assert_eq!(
                    (r.queue_id, r.queue_offset),
                    (q, off),
                    "send {body} landed elsewhere"
                );
            }
        }
    }

    /// QUERY_CONSUMER_OFFSET of every queue.
    pub fn query_all(&self, group: &str, topic: &str) -> Vec<Option<i64>> {
        self.query_queues(group, topic, QUEUES)
    }

    /// FERRO_RESET_OFFSETS of every queue of `topic` for `group`, applied; the plan.
    pub fn reset(&self, group: &str, topic: &str, spec: Value) -> Value {
        self.ferro_ok(
            rq::FERRO_RESET_OFFSETS,
            &json!({
                "groups": [group],
                "topics": [{"topic": topic, "queues": null}],
                "spec": spec,
                "dryRun": false,
                "allowIntents": false,
            }),
        )
    }

    /// The stored offsets of `group` (FERRO_EXPORT_OFFSETS): exactly what the table holds,
    /// unlike QUERY_CONSUMER_OFFSET, which answers 0 for a young queue without an offset.
    pub fn export(&self, group: &str) -> BTreeMap<(String, i32), i64> {
        let v = self.ferro_ok(rq::FERRO_EXPORT_OFFSETS, &json!({ "groups": [group] }));
        v["records"]
            .as_array()
            .unwrap_or_else(|| panic!("export without records: {v}"))
            .iter()
            .map(|r| {
                (
                    (
                        r["topic"].as_str().unwrap().to_string(),
                        r["queueId"].as_i64().unwrap() as i32,
                    ),
                    r["offset"].as_i64().unwrap(),
                )
            })
            .collect()
    }
}

/// `plan.queues` indexed by queue id (one group, one topic).
pub fn plan_by_queue(plan: &Value) -> BTreeMap<i32, Value> {
    plan["queues"]
        .as_array()
        .unwrap_or_else(|| panic!("plan without queues: {plan}"))
        .iter()
        .map(|q| (q["queueId"].as_i64().unwrap() as i32, q.clone()))
        .collect()
}

pub fn opt_i64(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// One delivery a consumer script printed.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub queue: i32,
    pub offset: i64,
    pub body: String,
}

pub fn deliveries(lines: &[Value], topic: &str) -> Vec<Delivery> {
    lines
        .iter()
        .filter(|v| field_str(v, "event") == Some("message"))
        .filter(|v| field_str(v, "topic") == Some(topic))
        .map(|v| Delivery {
            queue: field_i64(v, "queueId").unwrap_or(-1) as i32,
            offset: field_i64(v, "queueOffset").unwrap_or(-1),
            body: field_str(v, "body").unwrap_or_default().to_string(),
        })
        .collect()
}

/// Checks that every delivery's body matches its queue and offset (`<prefix>q<Q>-o<offset>`).
pub fn assert_bodies_match_positions(ds: &[Delivery], p: &ClientProcess) {
    for d in ds {
        let suffix = format!("q{}-o{}", d.queue, d.offset);
        assert!(
            d.body.ends_with(&suffix),
            "{}: delivery {d:?} does not carry the message stored at queue {} offset {}\n{}",
            p.label(),
            d.queue,
            d.offset,
            p.diagnostics()
        );
    }
}

pub fn group_name(prefix: &str, kind: Client) -> String {
    format!("{prefix}_{}", kind.name().replace('-', "_"))
}
