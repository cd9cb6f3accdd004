//! The Java client's message trace (`enableMsgTrace`) against a real `ferromq standalone`, both
//! lines: the producer's and the consumer's trace records land in `RMQ_SYS_TRACE_TOPIC` (sent
//! as ordinary messages whose keys are the traced message ids), and mqadmin `queryMsgTraceById`
//! finds them through QUERY_MESSAGE and the message index.

use crate::common;

use std::time::Duration;

use common::scenarios::{consumer, produce, Budget};
use common::{field_str, poll_until, run_mqadmin, Client, Server, MQADMIN_FAILURE_MARKS};

fn trace(kind: Client) {
    kind.check_installed().expect("run compat/setup.sh first");
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let sent = produce(
        kind,
        &server,
        "TraceT",
        2,
        // The client sends trace records in the background and gives its dispatcher only a
        // short flush at shutdown: a producer that stops right after its sends can lose its
        // Pub records (seen once in a suite run with 4.9.8). Real producers stay up.
        &["--trace", "--keys-prefix", "k-", "--linger", "2"],
        &budget,
    );
    let mut c = consumer(
        kind,
        &server,
        "TraceT",
        "TraceG",
        &["--from", "first", "--expect", "2", "--trace"],
        &budget,
    );
    assert!(
        poll_until(budget.cap(Duration::from_secs(30)), || c.messages().len()
            >= 2),
        "{}: the traced messages were not consumed\n{}",
        kind.name(),
        c.diagnostics()
    );
    let msg_id = field_str(&sent[0], "msgId").expect("msgId").to_string();
    // Trace records are sent in the background, in batches: wait for both kinds.
    let mut last = String::new();
    let found = poll_until(budget.cap(Duration::from_secs(40)), || {
        let (code, out) = run_mqadmin(kind, &server, &["queryMsgTraceById", "-i", &msg_id]);
        let pub_line = out
            .lines()
            .any(|l| l.starts_with("Pub") && l.contains("compat_producer_group"));
        let sub_line = out
            .lines()
            .any(|l| l.starts_with("Sub") && l.contains("TraceG") && l.contains("success"));
        let clean = !MQADMIN_FAILURE_MARKS.iter().any(|m| out.contains(m));
        last = out;
        code == Some(0) && pub_line && sub_line && clean
    });
    assert!(
        found,
        "{}: queryMsgTraceById did not show the Pub and Sub records of {msg_id}:\n{last}",
        kind.name()
    );
    c.stop();
}

#[test]
fn java4_message_trace_is_stored_and_queried_by_id() {
    trace(Client::Java4);
}

#[test]
fn java5_message_trace_is_stored_and_queried_by_id() {
    trace(Client::Java5);
}
