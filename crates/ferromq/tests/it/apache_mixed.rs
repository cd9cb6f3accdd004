//! Mixed clusters during a rolling migration: a ferromq broker registered with an Apache
//! RocketMQ 5.5.0 name server beside an Apache broker, and an Apache broker registered with a
//! ferromq name server beside a ferromq broker. Real clients see one route over both brokers,
//! produce to and consume from both (every message once), and mqadmin and `ferromq admin` show
//! the group's progress on both.

use crate::common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::apache::{ApacheBroker, ApacheNamesrv};
use common::{
    admin_ok, client_args, field_str, free_port, mqadmin_ok, poll_until, spawn_client, Captured,
    Client, SyncClient,
};

const TOPIC: &str = "MixOrders";
const GROUP: &str = "MixGroup";
const CLUSTER: &str = "DefaultCluster";
const MESSAGES: usize = 80;

/// A `ferromq` subcommand (`namesrv` or `broker`) started until its ready line.
fn ferromq(args: &[&str]) -> Captured {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
    cmd.args(args).env("RUST_LOG", "warn");
    let p = Captured::spawn(cmd);
    assert!(
        p.wait_for_line("ferromq ready", Duration::from_secs(30)),
        "ferromq {args:?} did not start:\n{}",
        p.output()
    );
    p
}

fn ferromq_broker(namesrv: &str, name: &str, dir: &std::path::Path) -> (Captured, String) {
    let port = free_port().to_string();
    let data = dir.join(name).display().to_string();
    let p = ferromq(&[
        "broker",
        "--namesrv",
        namesrv,
        "--host",
        "127.0.0.1",
        "--broker-port",
        &port,
        // A free gRPC port: tests run in parallel (the default is 8081).
        "--grpc-port",
        "0",
        "--fast-port",
        "0",
        "--broker-name",
        name,
        "--cluster",
        CLUSTER,
        "--register-interval-secs",
        "1",
        "--data-dir",
        &data,
    ]);
    (p, format!("127.0.0.1:{port}"))
}

/// The checks both layouts share: one route over both brokers, a producer and a consumer of
/// `kind` across them, progress shown by mqadmin and `ferromq admin` on both.
fn produce_and_consume_across(kind: Client, namesrv: &str, brokers: [(&str, &str); 2]) {
    kind.check_installed().expect("run compat/setup.sh first");
    let out = admin_ok(namesrv, &["clusterList"]);
    for (name, addr) in brokers {
        assert!(
            out.contains(name) && out.contains(addr),
            "clusterList: {out}"
        );
    }
    admin_ok(
        namesrv,
        &[
            "updateTopic",
            "-c",
            CLUSTER,
            "-t",
            TOPIC,
            "-r",
            "4",
            "-w",
            "4",
        ],
    );
    let c = SyncClient::connect(namesrv, brokers[0].1);
    assert!(
        poll_until(Duration::from_secs(40), || c
            .block_on(c.client.route(TOPIC))
            .is_ok_and(|r| r.queue_datas.len() == 2)),
        "{TOPIC} routed on both brokers"
    );

    let count = MESSAGES.to_string();
    let args = client_args(
        namesrv,
        TOPIC,
        "mix_producer",
        &[
            "--count",
            &count,
            "--body-prefix",
            "mix-",
            "--timeout",
            "40",
        ],
    );
    let sent = spawn_client(kind, "producer", &args).wait_success(Duration::from_secs(60));
    let on: BTreeSet<&str> = sent
        .iter()
        .filter(|l| l["event"] == "sent")
        .filter_map(|l| field_str(l, "brokerName"))
        .collect();
    if kind != Client::Go {
        // The Go driver reports brokerName too; the check below by storeHost covers both.
        assert_eq!(
            on.len(),
            2,
            "{}: sends went to both brokers: {on:?}",
            kind.name()
        );
    }

    // The Go client's shutdown persists the offsets of only some of an Apache broker's queues
    // (seen against a pure Apache cluster too): it lingers past one periodic persist (5 s).
    let linger = if kind == Client::Go { "7" } else { "2" };
    let args = client_args(
        namesrv,
        TOPIC,
        GROUP,
        &[
            "--from",
            "first",
            "--expect",
            &count,
            "--linger",
            linger,
            "--timeout",
            "60",
        ],
    );
    let mut consumer = spawn_client(kind, "consumer", &args);
    consumer.wait_success(Duration::from_secs(70));
    let msgs = consumer.messages();
    let bodies: BTreeSet<&str> = msgs.iter().filter_map(|m| field_str(m, "body")).collect();
    let want: BTreeSet<String> = (0..MESSAGES).map(|i| format!("mix-{i}")).collect();
    assert_eq!(
        bodies,
        want.iter().map(String::as_str).collect(),
        "{}: every message",
        kind.name()
    );
    assert_eq!(msgs.len(), MESSAGES, "{}: each once", kind.name());
    let hosts: BTreeSet<&str> = msgs
        .iter()
        .filter_map(|m| field_str(m, "storeHost"))
        .collect();
    let addrs: BTreeSet<&str> = brokers.iter().map(|(_, a)| *a).collect();
    assert_eq!(hosts, addrs, "{}: consumed from both brokers", kind.name());

    // Progress on both brokers, as each tool shows it.
    let progress = admin_ok(namesrv, &["consumerProgress", "-g", GROUP]);
    for (name, _) in brokers {
        assert!(
            progress.contains(name),
            "ferromq admin consumerProgress: {progress}"
        );
    }
    let java = Client::Java5;
    let out = mqadmin_ok(java, namesrv, &["consumerProgress", "-g", GROUP]);
    for (name, _) in brokers {
        assert!(out.contains(name), "mqadmin consumerProgress: {out}");
    }
    assert!(
        out.contains("Consume Diff Total: 0"),
        "mqadmin consumerProgress: {out}"
    );
    let out = mqadmin_ok(java, namesrv, &["topicRoute", "-t", TOPIC]);
    for (name, _) in brokers {
        assert!(out.contains(name), "mqadmin topicRoute: {out}");
    }
}

#[test]
fn a_ferromq_broker_serves_beside_an_apache_broker_on_an_apache_name_server() {
    let ns = ApacheNamesrv::start();
    let apache = ApacheBroker::start(&ns.addr, "apache-a", CLUSTER, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (_ferro, ferro_addr) = ferromq_broker(&ns.addr, "ferro-b", dir.path());
    produce_and_consume_across(
        Client::Java4,
        &ns.addr,
        [("apache-a", &apache.addr), ("ferro-b", &ferro_addr)],
    );
}

#[test]
fn an_apache_broker_serves_beside_a_ferromq_broker_on_a_ferromq_name_server() {
    let ns = format!("127.0.0.1:{}", free_port());
    let _namesrv = ferromq(&["namesrv", "--listen", &ns]);
    let dir = tempfile::tempdir().unwrap();
    let (_ferro, ferro_addr) = ferromq_broker(&ns, "ferro-a", dir.path());
    let apache = ApacheBroker::start(&ns, "apache-b", CLUSTER, &[]);
    produce_and_consume_across(
        Client::Go,
        &ns,
        [("ferro-a", &ferro_addr), ("apache-b", &apache.addr)],
    );
}
