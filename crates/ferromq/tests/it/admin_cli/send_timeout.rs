//! `DefaultMQProducer.setSendMsgTimeout` against ferromq: while both brokers are frozen
//! (SIGSTOP) a sync send fails within its timeout with the client's timeout error instead of
//! hanging, and once they resume the same producer configuration sends again.

use std::time::Duration;

use crate::admin_cli::fixtures::Cluster;
use crate::admin_cli::TOPIC;
use crate::common::{client_args, events, field_i64, field_str, spawn_client, Client};

const SEND_TIMEOUT_MS: i64 = 1500;

fn send_once(kind: Client, c: &Cluster, body: &str) -> Vec<serde_json::Value> {
    let timeout = SEND_TIMEOUT_MS.to_string();
    let args = client_args(
        &c.namesrv,
        TOPIC,
        "TimeoutProducer",
        &[
            "--count",
            "1",
            "--body-prefix",
            body,
            "--send-timeout-ms",
            &timeout,
            "--timeout",
            "30",
        ],
    );
    let mut p = spawn_client(kind, "producer", &args);
    p.wait(Duration::from_secs(40));
    p.lines()
}

fn send_timeout_is_honoured(kind: Client) {
    kind.check_installed().expect("run compat/setup.sh first");
    let c = Cluster::start();
    let brokers = &c.procs[1..];
    for b in brokers {
        b.signal("STOP");
    }
    let lines = send_once(kind, &c, "frozen-");
    for b in brokers {
        b.signal("CONT");
    }
    let errors = events(&lines, "send_error");
    assert_eq!(errors.len(), 1, "{}: {lines:?}", kind.name());
    let error = field_str(&errors[0], "error").unwrap_or_default();
    assert!(
        error.to_lowercase().contains("timeout"),
        "{}: the client's timeout error, got {error}",
        kind.name()
    );
    let took = field_i64(&errors[0], "elapsedMs").unwrap_or(i64::MAX);
    eprintln!("[send_timeout] {}: {error} after {took} ms", kind.name());
    // The client's own budget plus its scheduling slack; a hang would be the 30 s --timeout.
    assert!(
        took < SEND_TIMEOUT_MS + 5000,
        "{}: the send took {took} ms against a {SEND_TIMEOUT_MS} ms timeout",
        kind.name()
    );
    let lines = send_once(kind, &c, "resumed-");
    let sent = events(&lines, "sent");
    assert_eq!(sent.len(), 1, "{}: {lines:?}", kind.name());
    assert_eq!(field_str(&sent[0], "status"), Some("SEND_OK"));
}

#[test]
fn java4_send_times_out_on_frozen_brokers() {
    send_timeout_is_honoured(Client::Java4);
}

#[test]
fn java5_send_times_out_on_frozen_brokers() {
    send_timeout_is_honoured(Client::Java5);
}
