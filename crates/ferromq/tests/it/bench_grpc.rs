//! `ferromq bench grpc-produce` and `grpc-consume` against a broker: every message sent is
//! counted, received and acked with no error; against a broker with ACL on, the calls are signed
//! as the 5.x clients sign them (root's key passes, a wrong secret is refused).

use crate::common;

use std::process::Command;

use common::Server;
use serde_json::Value;

/// Runs `ferromq bench <args> --json`; its exit code and summary line.
fn bench(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .arg("bench")
        .args(args)
        .args(["--json", "--timeout", "3s"])
        .output()
        .expect("run ferromq bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "summary")
        .unwrap_or_else(|| {
            panic!(
                "no summary from ferromq bench {args:?}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.code().unwrap_or(-1), summary)
}

#[test]
fn grpc_modes_send_receive_and_ack_every_message() {
    let server = Server::standalone(&[]);
    let endpoint = server.grpc_addr();
    let (code, sent) = bench(&[
        "grpc-produce",
        "--endpoint",
        &endpoint,
        "--topic",
        "BenchG",
        "--size",
        "300",
        "--inflight",
        "16",
        "--connections",
        "2",
        "--count",
        "3000",
    ]);
    assert_eq!(code, 0, "{sent}");
    assert_eq!(
        (sent["msgs"].as_u64(), sent["errors"].as_u64()),
        (Some(3000), Some(0)),
        "{sent}"
    );
    assert_eq!(sent["bytes"].as_u64(), Some(3000 * 300), "{sent}");

    let (code, got) = bench(&[
        "grpc-consume",
        "--endpoint",
        &endpoint,
        "--topic",
        "BenchG",
        "--group",
        "BenchGG",
        "--batch",
        "32",
        "--inflight",
        "4",
        "--count",
        "3000",
    ]);
    assert_eq!(code, 0, "{got}");
    assert_eq!(got["errors"].as_u64(), Some(0), "{got}");
    // Receives in flight may each have taken a batch when the budget ran out.
    let msgs = got["msgs"].as_u64().unwrap_or(0);
    assert!((3000..=3000 + 4 * 32).contains(&msgs), "{got}");
    assert_eq!(got["bytes"].as_u64(), Some(msgs * 300), "{got}");
}

#[test]
fn grpc_modes_sign_their_calls() {
    let server = Server::standalone(&[
        "--authorization-enabled",
        "--init-authentication-user",
        "root:rootpw",
    ]);
    let endpoint = server.grpc_addr();
    let send = |secret: &str| {
        bench(&[
            "grpc-produce",
            "--endpoint",
            &endpoint,
            "--topic",
            "BenchSigned",
            "--inflight",
            "2",
            "--count",
            "20",
            "--access-key",
            "root",
            "--secret-key",
            secret,
        ])
    };
    let (code, ok) = send("rootpw");
    assert_eq!(code, 0, "{ok}");
    assert_eq!(
        (ok["msgs"].as_u64(), ok["errors"].as_u64()),
        (Some(20), Some(0)),
        "{ok}"
    );
    let (_, refused) = send("wrong");
    assert_eq!(refused["msgs"].as_u64(), Some(0), "{refused}");
    assert!(refused["errors"].as_u64() > Some(0), "{refused}");
}
