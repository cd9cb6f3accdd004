//! Apache RocketMQ's own `mqadmin` (rocketmq-tools 4.9.8 and 5.5.0, from `compat/java`) looking
//! messages up on a real `ferromq standalone`: `queryMsgByKey`, `queryMsgByUniqueKey`
//! (QUERY_MESSAGE 12 through the message index), `queryMsgById` (VIEW_MESSAGE_BY_ID 33),
//! `queryMsgByOffset`, `printMsg`, `printMsgByQueue`; each message command also asks
//! QUERY_TOPIC_CONSUME_BY_WHO (300) to track the groups that consume the topic. The broker is
//! SIGKILLed and restarted between sending and looking up, so the index they read is the one
//! rebuilt from the commit log after a crash.

use crate::common;

use std::path::PathBuf;

use common::scenarios::{ferromq_admin, produce, Budget};
use common::{field_i64, field_str, mqadmin_ok as mqadmin, Client, Server};
use serde_json::Value;

const TOPIC: &str = "LookupT";
const GROUP: &str = "trackG";

/// The body file mqadmin wrote for the message it printed ("Message Body Path: …").
fn body_file(out: &str) -> String {
    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("Message Body Path:"))
        .map(|p| PathBuf::from(p.trim()))
        .unwrap_or_else(|| panic!("no body path in:\n{out}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn lookups(kind: Client) {
    kind.check_installed().expect("run compat/setup.sh first");
    let budget = Budget::new();
    let mut server = Server::standalone(&[]);
    let sent: Vec<Value> = produce(
        kind,
        &server,
        TOPIC,
        3,
        &["--keys-prefix", "lk-", "--body-prefix", "lookup-body-"],
        &budget,
    );
    // A group with committed offsets on the topic: the commands track it (300, then 203).
    ferromq_admin(
        &server,
        &[
            "offsets",
            "reset",
            "--group",
            GROUP,
            "--topic",
            TOPIC,
            "--to-offset",
            "0",
            "--execute",
        ],
    );
    server.kill();
    server.restart();

    let m = &sent[1];
    let uniq = field_str(m, "msgId").expect("msgId");
    let offset_id = field_str(m, "offsetMsgId").expect("offsetMsgId");
    let qid = field_i64(m, "queueId").expect("queueId").to_string();
    let qoff = field_i64(m, "queueOffset")
        .expect("queueOffset")
        .to_string();

    let out = mqadmin(kind, &server, &["queryMsgByKey", "-t", TOPIC, "-k", "lk-1"]);
    assert!(
        out.contains(uniq),
        "queryMsgByKey does not list {uniq}:\n{out}"
    );
    assert!(
        !out.contains(field_str(&sent[0], "msgId").unwrap()),
        "{out}"
    );

    let detail_checks = |out: &str, what: &str| {
        assert!(
            out.contains(&format!("Topic:               {TOPIC}")),
            "{what}:\n{out}"
        );
        assert!(
            out.contains("Keys:                [lk-1]"),
            "{what}:\n{out}"
        );
        assert!(out.contains(GROUP), "{what} does not track {GROUP}:\n{out}");
        assert_eq!(body_file(out), "lookup-body-1", "{what}");
    };
    let out = mqadmin(
        kind,
        &server,
        &["queryMsgByUniqueKey", "-t", TOPIC, "-i", uniq],
    );
    detail_checks(&out, "queryMsgByUniqueKey");
    let mut by_id = vec!["queryMsgById", "-i", offset_id];
    if kind == Client::Java5 {
        by_id.extend(["-t", TOPIC]); // required by the 5.x command
    }
    let out = mqadmin(kind, &server, &by_id);
    detail_checks(&out, "queryMsgById");
    let args = [
        "queryMsgByOffset",
        "-t",
        TOPIC,
        "-b",
        "broker-a",
        "-i",
        &qid,
        "-o",
        &qoff,
    ];
    let out = mqadmin(kind, &server, &args);
    detail_checks(&out, "queryMsgByOffset");

    let out = mqadmin(kind, &server, &["printMsg", "-t", TOPIC, "-d", "true"]);
    for i in 0..3 {
        assert!(
            out.contains(&format!("BODY: lookup-body-{i}")),
            "printMsg:\n{out}"
        );
    }
    let args = [
        "printMsgByQueue",
        "-t",
        TOPIC,
        "-a",
        "broker-a",
        "-i",
        &qid,
        "-p",
        "true",
        "-d",
        "true",
    ];
    let out = mqadmin(kind, &server, &args);
    assert!(
        out.contains("lookup-body-1") && out.contains(uniq),
        "printMsgByQueue:\n{out}"
    );

    server.stop();
}

#[test]
fn java4_mqadmin_message_lookups() {
    lookups(Client::Java4);
}

#[test]
fn java5_mqadmin_message_lookups() {
    lookups(Client::Java5);
}
