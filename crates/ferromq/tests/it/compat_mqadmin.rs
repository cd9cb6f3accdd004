//! Apache RocketMQ's own `mqadmin` (rocketmq-tools 4.9.8 and 5.5.0, from `compat/java`) against a
//! real `ferromq standalone` with a live Java producer and push consumer: the cluster, broker,
//! topic, group, consumer and producer commands operators type. Each must exit 0 and print what
//! it prints against Apache RocketMQ — the names and figures of this broker's real state — with
//! no stack trace and no "request code not supported". The message commands (`queryMsg*`,
//! `printMsg*`) are in `compat_mqadmin_lookup.rs`.

use crate::common;

use std::time::Duration;

use common::scenarios::{consumer, produce, Budget};
use common::{
    client_args, mqadmin_ok, poll_until, run_mqadmin, spawn_client, strings, Client, Server,
    SyncClient,
};

const TOPIC: &str = "AdminT";
const GROUP: &str = "AdminG";
const PRODUCER_GROUP: &str = "AdminPG";
const SENT: usize = 8;

fn operator_commands(kind: Client) {
    kind.check_installed().expect("run compat/setup.sh first");
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let broker = server.broker_addr();
    produce(
        kind,
        &server,
        TOPIC,
        SENT,
        &["--tags", "TagA", "--keys-prefix", "k-"],
        &budget,
    );
    // A consumer that stays online (consumerConnection, consumerStatus need one) and has
    // consumed everything (consumerProgress then shows a lag of 0).
    let c = consumer(
        kind,
        &server,
        TOPIC,
        GROUP,
        &["--from", "first", "--timeout", "170", "--instance", "adm"],
        &budget,
    );
    assert!(
        poll_until(Duration::from_secs(40), || c.messages().len() >= SENT),
        "{}: the consumer did not get the {SENT} messages\n{}",
        kind.name(),
        c.diagnostics()
    );
    // A producer that stays online (producerConnection).
    let mut args = client_args(&server.namesrv_addr(), TOPIC, PRODUCER_GROUP, &[]);
    args.extend(strings(&[
        "--count",
        "1",
        "--linger",
        "170",
        "--timeout",
        "170",
    ]));
    let p = spawn_client(kind, "producer", &args);
    assert!(
        poll_until(Duration::from_secs(30), || !p
            .events("lingering")
            .is_empty()),
        "{}: the lingering producer did not start\n{}",
        kind.name(),
        p.diagnostics()
    );
    // The consumer has committed everything (it persists every second, after 10 s).
    let s = SyncClient::new(&server);
    let caught_up = || {
        (0..8).all(|q| s.max_offset(TOPIC, q).unwrap_or(0) == s.query(GROUP, TOPIC, q).unwrap_or(0))
    };
    assert!(
        poll_until(Duration::from_secs(40), caught_up),
        "{}: the consumer's commits did not reach the end\n{}",
        kind.name(),
        c.diagnostics()
    );
    let run = |args: &[&str]| mqadmin_ok(kind, &server, args);

    // Each mqadmin command spends most of its ~3.5 s in the tool's own start and graceful
    // shutdown, not in the broker: independent chains of commands run side by side.

    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Cluster and broker.
            let out = run(&["clusterList"]);
            assert!(
                out.contains("DefaultCluster") && out.contains("broker-a") && out.contains(&broker)
            );
            let out = run(&["brokerStatus", "-b", &broker]);
            for key in [
                "putTps",
                "getTransferedTps",
                "commitLogDiskRatio",
                "brokerVersionDesc",
            ] {
                assert!(out.contains(key), "brokerStatus lacks {key}:\n{out}");
            }
            let out = run(&["getBrokerConfig", "-b", &broker]);
            assert!(
                out.contains("brokerName") && out.contains("broker-a"),
                "{out}"
            );
            let out = run(&[
                "updateBrokerConfig",
                "-b",
                &broker,
                "-k",
                "defaultTopicQueueNums",
                "-v",
                "3",
            ]);
            assert!(out.contains("success"), "{out}");
            let out = run(&["getBrokerConfig", "-b", &broker]);
            assert!(
                out.lines()
                    .any(|l| l.starts_with("defaultTopicQueueNums") && l.trim_end().ends_with('3')),
                "the update did not show:\n{out}"
            );
        });
        scope.spawn(|| {
            // Topics.
            assert!(run(&["topicList"]).lines().any(|l| l.trim() == TOPIC));
            let out = run(&["topicList", "-c"]);
            assert!(
                out.lines().any(|l| l.contains(TOPIC) && l.contains(GROUP)),
                "topicList -c does not pair {TOPIC} with {GROUP}:\n{out}"
            );
            assert!(run(&["topicRoute", "-t", TOPIC]).contains(&broker));
            let out = run(&["topicStatus", "-t", TOPIC]);
            assert!(out.contains("broker-a"), "{out}");
            assert!(run(&["topicClusterList", "-t", TOPIC]).contains("DefaultCluster"));
            let out = run(&[
                "updateTopic",
                "-t",
                "AdminNew",
                "-c",
                "DefaultCluster",
                "-r",
                "3",
                "-w",
                "3",
            ]);
            assert!(out.contains("success"), "{out}");
            assert!(run(&["topicList"]).lines().any(|l| l.trim() == "AdminNew"));
            let out = run(&["deleteTopic", "-t", "AdminNew", "-c", "DefaultCluster"]);
            assert!(out.contains("success"), "{out}");
            assert!(!run(&["topicList"]).lines().any(|l| l.trim() == "AdminNew"));
        });
        scope.spawn(|| {
            // Subscription groups.
            let out = run(&["updateSubGroup", "-g", "AdminSub", "-c", "DefaultCluster"]);
            assert!(out.contains("success"), "{out}");
            let out = run(&["deleteSubGroup", "-g", "AdminSub", "-c", "DefaultCluster"]);
            assert!(out.contains("success"), "{out}");
        });
        scope.spawn(|| {
            // Consumers and producers.
            let out = run(&["consumerProgress", "-g", GROUP]);
            let rows: Vec<&str> = out.lines().filter(|l| l.starts_with(TOPIC)).collect();
            assert!(!rows.is_empty(), "{out}");
            assert!(
                out.contains("Diff Total: 0"),
                "the group consumed everything:\n{out}"
            );
            let out = run(&["consumerConnection", "-g", GROUP]);
            assert!(
                out.contains("@adm") && out.contains("JAVA") && out.contains(TOPIC),
                "{out}"
            );
            // Answered by the consumer itself (GET_CONSUMER_RUNNING_INFO relayed by the broker).
            let out = run(&["consumerStatus", "-g", GROUP]);
            assert!(out.contains("@adm"), "{out}");
            let out = run(&["producerConnection", "-g", PRODUCER_GROUP, "-t", TOPIC]);
            assert!(out.contains("JAVA"), "{out}");
            let out = run(&["brokerConsumeStats", "-b", &broker]);
            assert!(out.contains(GROUP) && out.contains(TOPIC), "{out}");
            let out = run(&["statsAll", "-t", TOPIC]);
            assert!(out.contains(GROUP), "{out}");
        });
        scope.spawn(|| {
            // Progress commands.
            let out = run(&[
                "cloneGroupOffset",
                "-s",
                GROUP,
                "-d",
                "AdminClone",
                "-t",
                TOPIC,
            ]);
            assert!(out.contains("success"), "{out}");
            let out = run(&["consumerProgress", "-g", "AdminClone"]);
            assert!(
                out.contains("Diff Total: 0"),
                "the clone starts where {GROUP} is:\n{out}"
            );
            let out = run(&["skipAccumulatedMessage", "-g", "AdminClone", "-t", TOPIC]);
            assert!(out.contains("broker-a"), "{out}");
            let out = run(&[
                "resetOffsetByTime",
                "-g",
                "AdminClone",
                "-t",
                TOPIC,
                "-s",
                "0",
            ]);
            assert!(out.contains("broker-a"), "{out}");
            let out = run(&["consumerProgress", "-g", "AdminClone"]);
            // Reset to the start: every message is lag again (the lingering producer's one included).
            let all = SENT + 1;
            assert!(
                out.contains(&format!("Diff Total: {all}")),
                "reset to the start, all {all} messages are lag again:\n{out}"
            );
        });
    });

    // The old client-side form (-f false: ask the clients, not the broker, as mqadmin 3.x did).
    let (code, out) = run_mqadmin(
        kind,
        &server,
        &[
            "resetOffsetByTime",
            "-g",
            GROUP,
            "-t",
            TOPIC,
            "-s",
            "now",
            "-f",
            "false",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("\tat org."), "{out}");
    // A group that does not exist: a clear answer, not a crash.
    let (_, out) = run_mqadmin(kind, &server, &["consumerConnection", "-g", "NoSuchGroup"]);
    assert!(
        out.contains("not online") || out.contains("NoSuchGroup"),
        "{out}"
    );
    drop(p);
    drop(c);
}

#[test]
fn java4_mqadmin_operator_commands() {
    operator_commands(Client::Java4);
}

#[test]
fn java5_mqadmin_operator_commands() {
    operator_commands(Client::Java5);
}
