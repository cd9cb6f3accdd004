//! Authentication and authorization with real clients: the Apache Java client (4.9.8 and 5.5.0,
//! `AclClientRPCHook`) against a broker with ACL on. Allowed sends and consumption work; a
//! denied send fails with nothing stored; a wrong secret and an unknown user are refused; a
//! consumer credential (Sub) cannot reset its group while an operator's reset is recorded with
//! the operator's name; users and ACLs survive a SIGKILL.

use crate::common;

use std::time::Duration;

use common::scenarios::{consumer, count_by_body, produce, Budget};
use common::{client_args, run_admin, run_client_output, Client, Server};
use serde_json::Value;

const ROOT: [&str; 4] = ["--access-key", "root", "--secret-key", "rootpw"];

fn acl_server() -> Server {
    Server::standalone(&[
        "--authorization-enabled",
        "--init-authentication-user",
        "root:rootpw",
    ])
}

/// `ferromq admin` as `who` (access key, secret key); exit code, stdout and stderr.
fn admin_as(server: &Server, who: &[&str], args: &[&str]) -> (i32, String, String) {
    run_admin(&server.namesrv_addr(), &[who, args].concat())
}

fn root_ok(server: &Server, args: &[&str]) -> String {
    let (code, out, err) = admin_as(server, &ROOT, args);
    assert_eq!(code, 0, "ferromq admin {args:?}: {out}{err}");
    out
}

/// Messages stored in `topic` (sum of the queues' max offsets), read as root.
fn stored(server: &Server, topic: &str) -> i64 {
    let out = root_ok(server, &["--output", "json", "topicStatus", "-t", topic]);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    v["queues"]
        .as_array()
        .or_else(|| v.as_array())
        .map(|qs| qs.iter().filter_map(|q| q["maxOffset"].as_i64()).sum())
        .unwrap_or(-1)
}

fn setup_alice(server: &Server) {
    root_ok(
        server,
        &["updateTopic", "-c", "DefaultCluster", "-t", "AclOrders"],
    );
    root_ok(
        server,
        &["updateTopic", "-c", "DefaultCluster", "-t", "AclSecret"],
    );
    root_ok(
        server,
        &[
            "createUser",
            "-c",
            "DefaultCluster",
            "-u",
            "alice",
            "-p",
            "alicepw",
        ],
    );
    root_ok(
        server,
        &[
            "createAcl",
            "-c",
            "DefaultCluster",
            "-s",
            "User:alice",
            "-r",
            "Topic:AclOrders,Group:AclGroup",
            "-a",
            "Pub,Sub",
            "-d",
            "Allow",
        ],
    );
}

/// A one-message send that must fail.
fn refused_send(kind: Client, server: &Server, topic: &str, creds: &[&str]) {
    let mut extra = vec![
        "--count",
        "1",
        "--timeout",
        "20",
        "--send-timeout-ms",
        "2000",
    ];
    extra.extend_from_slice(creds);
    let out = run_client_output(
        kind,
        "producer",
        &client_args(&server.namesrv_addr(), topic, "AclProducer", &extra),
        Duration::from_secs(90),
    );
    assert!(
        !out.status.success(),
        "a send with {creds:?} to {topic} succeeded:\n{}",
        out.diagnostics
    );
}

fn java_client_with_acl(kind: Client) {
    let budget = Budget::new();
    let mut server = acl_server();
    setup_alice(&server);
    let alice = ["--access-key", "alice", "--secret-key", "alicepw"];

    produce(
        kind,
        &server,
        "AclOrders",
        10,
        &[&alice[..], &["--body-prefix", "ok-"]].concat(),
        &budget,
    );
    assert_eq!(stored(&server, "AclOrders"), 10);

    // Denied: a topic alice has no entry for, a wrong secret, an unknown user, no credentials.
    // (The Java client reports "Send [3] times, still failed" without the broker's remark.)
    refused_send(kind, &server, "AclSecret", &alice);
    refused_send(
        kind,
        &server,
        "AclOrders",
        &["--access-key", "alice", "--secret-key", "nope"],
    );
    refused_send(
        kind,
        &server,
        "AclOrders",
        &["--access-key", "mallory", "--secret-key", "x"],
    );
    refused_send(kind, &server, "AclOrders", &[]);
    assert_eq!(
        stored(&server, "AclSecret"),
        0,
        "nothing stored from a denied send"
    );
    assert_eq!(stored(&server, "AclOrders"), 10);

    let mut c = consumer(
        kind,
        &server,
        "AclOrders",
        "AclGroup",
        &[
            &alice[..],
            &["--from", "first", "--expect", "10", "--linger", "2"],
        ]
        .concat(),
        &budget,
    );
    c.wait_success(budget.left());
    let got = count_by_body(&c.messages());
    assert_eq!(got.len(), 10, "{got:?}\n{}", c.diagnostics());

    // The name server checks too: no anonymous listing, no route deletion by a consumer.
    let (code, out, _) = run_admin(&server.namesrv_addr(), &["topicList"]);
    assert_ne!(code, 0, "an anonymous topicList was served: {out}");
    let (code, out, _) = admin_as(
        &server,
        &alice,
        &["deleteTopic", "-t", "AclOrders", "-c", "DefaultCluster"],
    );
    assert_ne!(code, 0, "alice deleted a topic: {out}");
    assert!(root_ok(&server, &["topicList"]).contains("AclOrders"));

    // Its own commits, within what it pulled, were stored.
    let described = root_ok(
        &server,
        &[
            "--output",
            "json",
            "offsets",
            "describe",
            "--group",
            "AclGroup",
            "--topic",
            "AclOrders",
        ],
    );
    let v: Value = serde_json::from_str(&described).expect("JSON");
    let committed: i64 = v["queues"]
        .as_array()
        .map(|qs| qs.iter().filter_map(|q| q["committed"].as_i64()).sum())
        .unwrap_or(0);
    assert_eq!(committed, 10, "{described}");

    // A consumer credential cannot move its group; the operator can, and is recorded.
    let reset = [
        "offsets",
        "reset",
        "--group",
        "AclGroup",
        "--topic",
        "AclOrders",
        "--to-earliest",
        "--execute",
        "--yes",
    ];
    let (code, out, err) = admin_as(&server, &alice, &reset);
    assert_ne!(code, 0, "alice reset her group: {out}");
    assert!(
        err.contains("ResetOffset"),
        "the refusal names the permission: {err}"
    );
    root_ok(&server, &reset);
    let history = root_ok(
        &server,
        &[
            "--output", "json", "offsets", "history", "--group", "AclGroup",
        ],
    );
    assert!(
        history.contains("User:root@"),
        "the reset names its operator: {history}"
    );

    // Users and ACLs are durable: after a SIGKILL alice still sends, mallory still cannot.
    server.kill();
    server.restart();
    produce(
        kind,
        &server,
        "AclOrders",
        3,
        &[&alice[..], &["--body-prefix", "after-"]].concat(),
        &budget,
    );
    assert_eq!(stored(&server, "AclOrders"), 13);
    refused_send(
        kind,
        &server,
        "AclOrders",
        &["--access-key", "mallory", "--secret-key", "x"],
    );
}

#[test]
fn java4_client_with_acl() {
    java_client_with_acl(Client::Java4);
}

#[test]
fn java5_client_with_acl() {
    java_client_with_acl(Client::Java5);
}

/// The 5.x gRPC client (`rocketmq-client-java` with `StaticSessionCredentialsProvider`): sends
/// and receives as an allowed user; refused (nothing stored) on a topic it may not publish to,
/// with a wrong secret, and without credentials.
#[test]
fn grpc_java_client_with_acl() {
    let server = acl_server();
    setup_alice(&server);
    let grpc = |script: &str, topic: &str, extra: &[&str]| {
        let mut args = common::strings(&["--endpoint", &server.grpc_addr(), "--topic", topic]);
        args.extend(common::strings(extra));
        common::spawn_client(Client::GrpcJava, script, &args)
    };
    let alice = ["--access-key", "alice", "--secret-key", "alicepw"];
    let mut p = grpc(
        "producer",
        "AclOrders",
        &[
            &alice[..],
            &["--count", "5", "--body-prefix", "g-", "--timeout", "60"],
        ]
        .concat(),
    );
    let lines = p.wait_success(Duration::from_secs(90));
    assert_eq!(
        common::events(&lines, "sent").len(),
        5,
        "{}",
        p.diagnostics()
    );
    let mut c = grpc(
        "simple_consumer",
        "AclOrders",
        &[
            &alice[..],
            &[
                "--group",
                "AclGroup",
                "--expect",
                "5",
                "--linger",
                "1",
                "--timeout",
                "60",
            ],
        ]
        .concat(),
    );
    c.wait_success(Duration::from_secs(90));
    assert_eq!(count_by_body(&c.messages()).len(), 5, "{}", c.diagnostics());

    for (topic, creds) in [
        ("AclSecret", &alice[..]),
        (
            "AclOrders",
            &["--access-key", "alice", "--secret-key", "nope"][..],
        ),
        ("AclOrders", &[][..]),
    ] {
        let mut p = grpc(
            "producer",
            topic,
            &[
                creds,
                &["--count", "1", "--body-prefix", "no-", "--timeout", "20"],
            ]
            .concat(),
        );
        let status = p.wait(Duration::from_secs(60));
        assert!(
            !status.success() || common::events(&p.lines(), "sent").is_empty(),
            "a gRPC send with {creds:?} to {topic} was served:\n{}",
            p.diagnostics()
        );
    }
    assert_eq!(stored(&server, "AclSecret"), 0);
    assert_eq!(stored(&server, "AclOrders"), 5);
}

/// Another Remoting client with credentials: sends and consumes as an allowed user; a topic it
/// may not publish to and a wrong secret are refused, nothing stored.
fn client_with_acl(kind: Client) {
    let budget = Budget::new();
    let server = acl_server();
    setup_alice(&server);
    let alice = ["--access-key", "alice", "--secret-key", "alicepw"];
    produce(
        kind,
        &server,
        "AclOrders",
        6,
        &[&alice[..], &["--body-prefix", "ok-"]].concat(),
        &budget,
    );
    refused_send(kind, &server, "AclSecret", &alice);
    refused_send(
        kind,
        &server,
        "AclOrders",
        &["--access-key", "alice", "--secret-key", "nope"],
    );
    assert_eq!(stored(&server, "AclSecret"), 0);
    assert_eq!(stored(&server, "AclOrders"), 6);
    let mut c = consumer(
        kind,
        &server,
        "AclOrders",
        "AclGroup",
        &[&alice[..], &["--expect", "6", "--linger", "2"]].concat(),
        &budget,
    );
    c.wait_success(budget.left());
    assert_eq!(count_by_body(&c.messages()).len(), 6, "{}", c.diagnostics());
}

#[test]
fn cpp_client_with_acl() {
    client_with_acl(Client::Cpp);
}

#[test]
fn ali_ons_client_with_acl() {
    client_with_acl(Client::Node);
}

#[test]
fn go_client_with_acl() {
    client_with_acl(Client::Go);
}

/// Upstream's mqadmin 5.5.0 manages users and ACLs over the AUTH_* codes, signing with the
/// credentials in its `conf/tools.yml`; without them it is refused.
#[test]
fn mqadmin_manages_users_and_acls() {
    let server = acl_server();
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::copy(
        common::workspace_root().join("compat/java/home/conf/logback_tools.xml"),
        conf.join("logback_tools.xml"),
    )
    .unwrap();
    std::fs::write(
        conf.join("tools.yml"),
        "accessKey: root\nsecretKey: rootpw\n",
    )
    .unwrap();
    let mq = |args: &[&str]| {
        let (code, out) = common::run_mqadmin_in(Client::Java5, &server, home.path(), args);
        assert_eq!(code, Some(0), "mqadmin {args:?}:\n{out}");
        out
    };
    mq(&[
        "createUser",
        "-c",
        "DefaultCluster",
        "-u",
        "bob",
        "-p",
        "bobpw",
    ]);
    mq(&[
        "createAcl",
        "-c",
        "DefaultCluster",
        "-s",
        "User:bob",
        "-r",
        "Topic:BobTopic,Group:BobGroup",
        "-a",
        "Pub,Sub",
        "-d",
        "Allow",
        "-i",
        "127.0.0.1",
    ]);
    let acl = mq(&["getAcl", "-c", "DefaultCluster", "-s", "User:bob"]);
    assert!(
        acl.contains("Topic:BobTopic") && acl.contains("Group:BobGroup"),
        "{acl}"
    );
    // ferromq admin reads what mqadmin wrote.
    let listed = root_ok(
        &server,
        &[
            "--output",
            "json",
            "listAcl",
            "-c",
            "DefaultCluster",
            "-s",
            "bob",
        ],
    );
    assert!(
        listed.contains("127.0.0.1") && listed.contains("Pub"),
        "{listed}"
    );
    mq(&[
        "deleteAcl",
        "-c",
        "DefaultCluster",
        "-s",
        "User:bob",
        "-r",
        "Topic:BobTopic",
    ]);
    let acl = mq(&["getAcl", "-c", "DefaultCluster", "-s", "User:bob"]);
    assert!(
        !acl.contains("Topic:BobTopic") && acl.contains("Group:BobGroup"),
        "{acl}"
    );
    mq(&["deleteUser", "-c", "DefaultCluster", "-u", "bob"]);
    assert!(!root_ok(&server, &["user", "list", "-c", "DefaultCluster"]).contains("bob"));

    // The default home has no credentials: refused.
    let (_, out) = common::run_mqadmin(
        Client::Java5,
        &server,
        &["createUser", "-c", "DefaultCluster", "-u", "eve", "-p", "x"],
    );
    assert!(
        !root_ok(&server, &["listUser", "-c", "DefaultCluster"]).contains("eve"),
        "{out}"
    );
}

/// `ferromq namesrv --authorization-enabled --auth-file`: a broker signing with a known super
/// user registers; one signing with a wrong secret does not; anonymous listing is refused.
#[test]
fn a_name_server_on_its_own_checks_registrations() {
    use common::Captured;
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(
        &auth,
        r#"{"users":[{"username":"root","password":"rootpw","userType":"Super","userStatus":"enable"}],"acls":[]}"#,
    )
    .unwrap();
    let ns_addr = format!("127.0.0.1:{}", common::free_port());
    let ready = Duration::from_secs(30);
    let mut ns_cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
    ns_cmd.args([
        "namesrv",
        "--listen",
        &ns_addr,
        "--authorization-enabled",
        "--auth-file",
    ]);
    ns_cmd.arg(&auth);
    let ns = Captured::spawn(ns_cmd);
    assert!(ns.wait_for_line("ferromq ready", ready), "{}", ns.output());

    let broker = |name: &str, inner: &str| {
        let data = dir.path().join(name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
        cmd.args(["broker", "--namesrv", &ns_addr, "--broker-name", name]);
        cmd.args([
            "--broker-port",
            "0",
            "--no-grpc",
            "--authentication-enabled",
        ]);
        cmd.args(["--init-authentication-user", inner]);
        cmd.arg("--data-dir").arg(&data);
        Captured::spawn(cmd)
    };
    let good = broker("broker-good", "root:rootpw");
    assert!(
        good.wait_for_line("ferromq ready", ready),
        "{}",
        good.output()
    );
    // Its registration refused, this broker never becomes ready.
    let rogue = broker("broker-rogue", "root:guess");
    assert!(!rogue.wait_for_line("ferromq ready", Duration::from_secs(3)));

    let (code, out, _) = run_admin(&ns_addr, &["clusterList"]);
    assert_ne!(code, 0, "an anonymous clusterList listed: {out}");
    let (code, out, err) = run_admin(&ns_addr, &[&ROOT[..], &["clusterList"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("broker-good") && !out.contains("broker-rogue"),
        "{out}"
    );
}
