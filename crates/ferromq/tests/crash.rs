//! Durability under a real crash: with `--flush-mode sync`, every send the broker acknowledged
//! is readable after the process is killed with SIGKILL in the middle of a load and restarted.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::Server;
use ferromq_client::requests::Pull;
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::response as rs;
use parking_lot_free::AckLog;

/// A tiny mutex-protected log of acknowledged sends (no extra dependency).
mod parking_lot_free {
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct AckLog(pub Mutex<Vec<(i32, i64, String)>>);

    impl AckLog {
        pub fn push(&self, q: i32, off: i64, body: String) {
            self.0.lock().unwrap().push((q, off, body));
        }
        pub fn take(&self) -> Vec<(i32, i64, String)> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }
}

const QUEUES: i32 = 4;

#[test]
fn sigkill_during_sync_load_loses_no_acknowledged_message() {
    let mut server = Server::standalone(&["--flush-mode", "sync"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let acked = Arc::new(AckLog::default());
    let namesrv = server.namesrv_addr();
    let broker = server.broker_addr();

    // Load: 32 concurrent senders until the broker dies under them.
    let load = {
        let acked = acked.clone();
        let (namesrv, broker) = (namesrv.clone(), broker.clone());
        rt.spawn(async move {
            let client = Arc::new(MqClient::new(&namesrv, Duration::from_secs(5)));
            client
                .create_topic(&broker, &TopicConfig::new("Crash", QUEUES))
                .await
                .unwrap();
            let mut tasks = Vec::new();
            for t in 0..32 {
                let (client, acked, broker) = (client.clone(), acked.clone(), broker.clone());
                tasks.push(tokio::spawn(async move {
                    for i in 0.. {
                        let body = format!("t{t}-m{i}");
                        let q = (t + i) % QUEUES;
                        match client
                            .send(&broker, "P", "Crash", q, Bytes::from(body.clone()), "")
                            .await
                        {
                            Ok(r) => acked.push(r.queue_id, r.queue_offset, body),
                            Err(_) => return,
                        }
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), load)
            .await
            .expect("senders stop")
            .unwrap()
    });
    let acked = acked.take();
    assert!(
        acked.len() > 100,
        "the load made progress before the kill ({} acks)",
        acked.len()
    );

    server.restart();
    let broker = server.broker_addr();
    rt.block_on(async {
        let client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(10));
        let mut stored = std::collections::HashMap::new();
        for q in 0..QUEUES {
            let mut offset = 0;
            loop {
                let p = Pull {
                    group: "Check",
                    topic: "Crash",
                    queue_id: q,
                    offset,
                    max_msgs: 256,
                    subscription: Some("*"),
                    suspend_ms: 0,
                    commit_offset: None,
                };
                let r = client.pull(&broker, &p).await.unwrap();
                if r.code != rs::SUCCESS {
                    break;
                }
                for m in &r.messages {
                    stored.insert(
                        (q, m.queue_offset),
                        String::from_utf8_lossy(&m.body).into_owned(),
                    );
                }
                offset = r.next_begin_offset;
            }
        }
        for (q, off, body) in &acked {
            assert_eq!(
                stored.get(&(*q, *off)),
                Some(body),
                "acknowledged message {body} at {q}/{off} lost"
            );
        }
        eprintln!(
            "{} acknowledged messages, all present after SIGKILL ({} stored)",
            acked.len(),
            stored.len()
        );
    });
}

#[test]
fn sigterm_flushes_async_writes_and_offsets() {
    // Async flush and periodic offsets: nothing is fsynced on the ack path, so only a graceful
    // stop (SIGTERM) guarantees everything is on disk. Check that stop really flushes it.
    let mut server = Server::standalone(&[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = server.broker_addr();
    let client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(5));
    rt.block_on(async {
        client
            .create_topic(&broker, &TopicConfig::new("Graceful", 2))
            .await
            .unwrap();
        for i in 0..500 {
            client
                .send(
                    &broker,
                    "P",
                    "Graceful",
                    i % 2,
                    Bytes::from(format!("g{i}")),
                    "",
                )
                .await
                .unwrap();
        }
        client
            .update_offset(&broker, "G", "Graceful", 0, 123)
            .await
            .unwrap();
    });
    client.remoting.close();
    assert!(server.stop().success(), "clean exit on SIGTERM");
    server.restart();
    let broker = server.broker_addr();
    rt.block_on(async {
        let client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(5));
        assert_eq!(
            client.max_offset(&broker, "Graceful", 0).await.unwrap(),
            250
        );
        assert_eq!(
            client.max_offset(&broker, "Graceful", 1).await.unwrap(),
            250
        );
        assert_eq!(
            client
                .query_offset(&broker, "G", "Graceful", 0)
                .await
                .unwrap(),
            Some(123)
        );
    });
    assert!(
        server.output().contains("store and offsets flushed"),
        "shutdown logged its flush"
    );
}

#[test]
fn corrupt_offset_store_refuses_to_start_and_keeps_its_files() {
    let mut server = Server::standalone(&[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = server.broker_addr();
    let client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(5));
    rt.block_on(async {
        client
            .create_topic(&broker, &TopicConfig::new("Precious", 1))
            .await
            .unwrap();
        client
            .update_offset(&broker, "G", "Precious", 0, 0)
            .await
            .unwrap();
    });
    client.remoting.close();
    server.stop();
    // Damage the header of every log segment and every snapshot: a damaged header is not a torn
    // tail, so the store must refuse to start rather than start with less.
    let dir = server.data_dir().join("offsets");
    let mut damaged = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap" || e == "wal") {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[0] ^= 0xFF;
            bytes[1] ^= 0xFF;
            std::fs::write(&path, &bytes).unwrap();
            damaged.push(path);
        }
    }
    assert!(!damaged.is_empty(), "the offset store has files");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .args(["standalone", "--data-dir"])
        .arg(server.data_dir())
        .args([
            "--host",
            "127.0.0.1",
            "--namesrv-port",
            "0",
            "--broker-port",
            "0",
            "--fast-port",
            "0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on a corrupt offset store");
    assert!(
        stderr.contains("offsets") && stderr.to_lowercase().contains("corrupt"),
        "unclear error: {stderr}"
    );
    let kept: usize = std::fs::read_dir(&dir).unwrap().count();
    assert!(kept >= damaged.len(), "files were deleted");
}

#[test]
fn sigkill_keeps_periodic_commits_older_than_the_write_behind_window() {
    // Default durability: commits are written out within 10 ms and fsynced within 200 ms. A
    // SIGKILL keeps the page cache, so everything acknowledged more than 10 ms earlier survives.
    let mut server = Server::standalone(&[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = server.broker_addr();
    let client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(5));
    let mut last = std::collections::BTreeMap::new();
    rt.block_on(async {
        client
            .create_topic(&broker, &TopicConfig::new("Periodic", 8))
            .await
            .unwrap();
        for i in 0..400i64 {
            let (g, q) = (format!("g{}", i % 5), (i % 8) as i32);
            client
                .update_offset(&broker, &g, "Periodic", q, i)
                .await
                .unwrap();
            last.insert((g, q), i);
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    server.kill();
    server.restart();
    let broker = server.broker_addr();
    rt.block_on(async {
        let client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(5));
        for ((g, q), want) in &last {
            assert_eq!(
                client
                    .query_offset(&broker, g, "Periodic", *q)
                    .await
                    .unwrap(),
                Some(*want),
                "{g}:{q}"
            );
        }
    });
}
