//! TLS on every port, proved with real clients: the Apache Java client (Remoting, 4.9.8) and the
//! 5.x Java gRPC client (`rocketmq-client-java`) over TLS against `ferromq standalone` in
//! enforcing mode (their plaintext attempts refused); permissive mode serving a plaintext C++
//! producer and a TLS Java consumer on the same ports; `ferromq admin` with and without
//! `--tls-ca`; and a certificate that does not load stopping the start with the file named.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::scenarios::{consumer, count_by_body, produce, Budget};
use common::{client_args, run_admin, run_client_output, spawn_client, strings, Client, Server};
use serde_json::Value;

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in a temporary directory.
struct Certificate {
    _dir: tempfile::TempDir,
    cert: String,
    key: String,
}

fn certificate() -> Certificate {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("generate a certificate");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
    let s = |p: PathBuf| p.display().to_string();
    Certificate {
        cert: s(cert),
        key: s(key),
        _dir: dir,
    }
}

fn tls_server(mode: &str, c: &Certificate) -> Server {
    Server::standalone(&[
        "--tls-mode",
        mode,
        "--tls-cert",
        &c.cert,
        "--tls-key",
        &c.key,
    ])
}

/// The offsets `ferromq admin offsets describe` reports, summed over the queues.
fn committed_total(namesrv: &str, tls: &[&str], group: &str, topic: &str) -> i64 {
    let args = [
        tls,
        &[
            "--output", "json", "offsets", "describe", "--group", group, "--topic", topic,
        ],
    ]
    .concat();
    let (code, out, err) = run_admin(namesrv, &args);
    assert_eq!(code, 0, "offsets describe: {out}{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    v["queues"]
        .as_array()
        .map(|qs| qs.iter().filter_map(|q| q["committed"].as_i64()).sum())
        .unwrap_or(0)
}

#[test]
fn enforcing_mode_serves_the_java_client_over_tls_and_refuses_plaintext() {
    let budget = Budget::new();
    let cert = certificate();
    let server = tls_server("enforcing", &cert);
    let ns = server.namesrv_addr();
    let topic = "TlsOrders";

    // The producer verifies the broker against the certificate (tls.client.authServer); the
    // consumer uses the client's default trust-anything test mode.
    produce(
        Client::Java4,
        &server,
        topic,
        12,
        &["--tls-trust", &cert.cert, "--body-prefix", "tls-"],
        &budget,
    );
    let mut c = consumer(
        Client::Java4,
        &server,
        topic,
        "TlsGroup",
        &[
            "--tls", "--from", "first", "--expect", "12", "--linger", "2",
        ],
        &budget,
    );
    c.wait_success(budget.left());
    let got = count_by_body(&c.messages());
    assert_eq!(got.len(), 12, "{got:?}\n{}", c.diagnostics());
    assert!(got.values().all(|n| *n == 1), "each message once: {got:?}");

    // The operator's tool over TLS sees the Java group's commits; without TLS it is refused.
    let ca = ["--tls-ca", cert.cert.as_str()];
    assert_eq!(committed_total(&ns, &ca, "TlsGroup", topic), 12);
    let (code, out, err) = run_admin(&ns, &["topicList"]);
    assert_ne!(code, 0, "plaintext admin was served: {out}");
    assert!(!err.is_empty());

    // The same Java producer in plaintext gets nothing stored.
    let plain = run_client_output(
        Client::Java4,
        "producer",
        &client_args(
            &ns,
            topic,
            "TlsPlainProducer",
            &[
                "--count",
                "1",
                "--timeout",
                "20",
                "--send-timeout-ms",
                "2000",
            ],
        ),
        Duration::from_secs(90),
    );
    assert!(
        !plain.status.success(),
        "a plaintext producer sent to an enforcing broker:\n{}",
        plain.diagnostics
    );
    assert_eq!(committed_total(&ns, &ca, "TlsGroup", topic), 12);
    let (code, out, err) = run_admin(
        &ns,
        &[
            "--tls-ca",
            &cert.cert,
            "--output",
            "json",
            "topicStatus",
            "-t",
            topic,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let stored: i64 = v["queues"]
        .as_array()
        .or_else(|| v.as_array())
        .map(|qs| qs.iter().filter_map(|q| q["maxOffset"].as_i64()).sum())
        .unwrap_or(-1);
    assert_eq!(
        stored, 12,
        "only the TLS producer's messages are stored: {out}"
    );
}

#[test]
fn the_grpc_java_client_speaks_tls_to_an_enforcing_endpoint() {
    let cert = certificate();
    let server = tls_server("enforcing", &cert);
    let topic = "TlsGrpc";
    let grpc = |script: &str, extra: &[&str]| {
        let mut args = strings(&["--endpoint", &server.grpc_addr(), "--topic", topic]);
        args.extend(strings(extra));
        spawn_client(Client::GrpcJava, script, &args)
    };
    let mut p = grpc(
        "producer",
        &[
            "--tls",
            "--count",
            "10",
            "--body-prefix",
            "g-",
            "--timeout",
            "60",
        ],
    );
    let sent = p.wait_success(Duration::from_secs(90));
    assert_eq!(
        common::events(&sent, "sent").len(),
        10,
        "{}",
        p.diagnostics()
    );
    let mut c = grpc(
        "simple_consumer",
        &[
            "--tls",
            "--group",
            "TlsGrpcGroup",
            "--expect",
            "10",
            "--linger",
            "1",
            "--timeout",
            "60",
        ],
    );
    c.wait_success(Duration::from_secs(90));
    let got = count_by_body(&c.messages());
    assert_eq!(got.len(), 10, "{got:?}\n{}", c.diagnostics());
    assert!(got.values().all(|n| *n == 1), "each message once: {got:?}");

    let mut plain = grpc(
        "producer",
        &["--count", "1", "--body-prefix", "plain-", "--timeout", "20"],
    );
    let status = plain.wait(Duration::from_secs(60));
    assert!(
        !status.success() || common::events(&plain.lines(), "sent").is_empty(),
        "a cleartext gRPC producer was served by an enforcing endpoint:\n{}",
        plain.diagnostics()
    );
}

#[test]
fn permissive_mode_serves_plaintext_and_tls_clients_side_by_side() {
    let budget = Budget::new();
    let cert = certificate();
    let server = tls_server("permissive", &cert);
    let topic = "TlsMigrating";
    // A C++ producer not yet moved to TLS, a Java consumer already on it.
    produce(
        Client::Cpp,
        &server,
        topic,
        8,
        &["--body-prefix", "cpp-"],
        &budget,
    );
    let mut c = consumer(
        Client::Java4,
        &server,
        topic,
        "TlsMixedGroup",
        &["--tls", "--from", "first", "--expect", "8", "--linger", "2"],
        &budget,
    );
    c.wait_success(budget.left());
    let got = count_by_body(&c.messages());
    assert_eq!(got.len(), 8, "{got:?}\n{}", c.diagnostics());
    let ns = server.namesrv_addr();
    assert_eq!(committed_total(&ns, &[], "TlsMixedGroup", topic), 8);
    let ca = ["--tls-ca", cert.cert.as_str()];
    assert_eq!(committed_total(&ns, &ca, "TlsMixedGroup", topic), 8);
}

#[test]
fn a_certificate_that_does_not_load_stops_the_start() {
    let cert = certificate();
    let data = tempfile::tempdir().unwrap();
    let broken = data.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let run = |cert_path: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferromq"))
            .args(["standalone", "--namesrv-port", "0", "--broker-port", "0"])
            .arg("--data-dir")
            .arg(data.path())
            .args(["--tls-mode", "enforcing", "--tls-cert", cert_path])
            .args(["--tls-key", &cert.key])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ferromq");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().ok();
                panic!("ferromq started with a certificate it cannot use");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (status, err) = run(&broken.display().to_string());
    assert!(!status.success());
    assert!(err.contains("broken.pem"), "{err}");
    let (status, err) = run("/nonexistent/server.pem");
    assert!(!status.success());
    assert!(err.contains("/nonexistent/server.pem"), "{err}");
}
