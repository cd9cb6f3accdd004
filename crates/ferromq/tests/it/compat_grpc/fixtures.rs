//! What every scenario uses: the gRPC drivers run as processes, their lines counted by body,
//! and the group's committed offsets read with `ferromq admin offsets describe`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    self, admin_ok, field_str, spawn_client, strings, Client, ClientProcess, Server,
};

pub(crate) fn body(v: &Value) -> String {
    field_str(v, "body").unwrap_or_default().to_string()
}

/// Sends `count` messages `<prefix>-<i>` through the gRPC producer; returns its `sent` lines.
pub(crate) fn produce(
    kind: Client,
    server: &Server,
    topic: &str,
    prefix: &str,
    count: usize,
    extra: &[&str],
) -> Vec<Value> {
    let mut args = strings(&[
        "--endpoint",
        &server.grpc_addr(),
        "--topic",
        topic,
        "--count",
        &count.to_string(),
        "--body-prefix",
        prefix,
        "--timeout",
        "60",
    ]);
    args.extend(strings(extra));
    let mut p = spawn_client(kind, "producer", &args);
    let lines = p.wait_success(Duration::from_secs(90));
    let sent = common::events(&lines, "sent");
    assert_eq!(sent.len(), count, "{}", p.diagnostics());
    sent
}

pub(crate) fn consumer(
    kind: Client,
    server: &Server,
    script: &str,
    topic: &str,
    group: &str,
    extra: &[&str],
) -> ClientProcess {
    let mut args = strings(&[
        "--endpoint",
        &server.grpc_addr(),
        "--topic",
        topic,
        "--group",
        group,
    ]);
    args.extend(strings(extra));
    spawn_client(kind, script, &args)
}

/// Deliveries per body.
pub(crate) fn count_by_body(msgs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in msgs {
        *m.entry(body(v)).or_insert(0) += 1;
    }
    m
}

pub(crate) fn one_queue_topic(server: &Server, topic: &str) {
    admin_ok(
        &server.namesrv_addr(),
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            topic,
            "-r",
            "1",
            "-w",
            "1",
        ],
    );
}

/// The committed offsets of a group in a topic, by queue (`offsets describe`).
pub(crate) fn committed(server: &Server, group: &str, topic: &str) -> BTreeMap<i64, i64> {
    try_committed(server, group, topic)
        .unwrap_or_else(|| panic!("offsets describe of {group} on {topic} failed"))
}

/// [`committed`], `None` while the describe fails (the topic is not there yet).
pub(crate) fn try_committed(
    server: &Server,
    group: &str,
    topic: &str,
) -> Option<BTreeMap<i64, i64>> {
    let (code, out, _) = common::run_admin(
        &server.namesrv_addr(),
        &[
            "--output", "json", "offsets", "describe", "--group", group, "--topic", topic,
        ],
    );
    if code != 0 {
        return None;
    }
    let v: Value = serde_json::from_str(&out).ok()?;
    let mut m = BTreeMap::new();
    let rows = v["queues"].as_array().cloned().unwrap_or_default();
    for r in rows {
        if let (Some(q), Some(c)) = (r["queueId"].as_i64(), r["committed"].as_i64()) {
            m.insert(q, c);
        }
    }
    Some(m)
}
