//! Durability under a real crash: with `--flush-mode sync`, every send the broker acknowledged
//! is readable after the process is killed with SIGKILL in the middle of a load and restarted;
//! a message waiting for its delivery time is still delivered then.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{poll_until, read_queue, Server, SyncClient};
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;
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
            for (offset, body) in read_queue(&client, &broker, "Check", "Crash", q).await {
                stored.insert((q, offset), body);
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
    let c = SyncClient::new(&server);
    c.create_topic("Graceful", 2);
    for i in 0..500 {
        c.send("P", "Graceful", i % 2, format!("g{i}"));
    }
    c.commit("G", "Graceful", 0, 123);
    c.client.remoting.close();
    assert!(server.stop().success(), "clean exit on SIGTERM");
    server.restart();
    let c = SyncClient::new(&server);
    assert_eq!(c.max_offset("Graceful", 0).unwrap(), 250);
    assert_eq!(c.max_offset("Graceful", 1).unwrap(), 250);
    assert_eq!(c.query("G", "Graceful", 0), Some(123));
    assert!(
        server.output().contains("store and offsets flushed"),
        "shutdown logged its flush"
    );
}

#[test]
fn corrupt_offset_store_refuses_to_start_and_keeps_its_files() {
    let mut server = Server::standalone(&[]);
    let c = SyncClient::new(&server);
    c.create_topic("Precious", 1);
    c.commit("G", "Precious", 0, 0);
    c.client.remoting.close();
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
    let c = SyncClient::new(&server);
    let mut last = std::collections::BTreeMap::new();
    c.create_topic("Periodic", 8);
    for i in 0..400i64 {
        let (g, q) = (format!("g{}", i % 5), (i % 8) as i32);
        c.commit(&g, "Periodic", q, i);
        last.insert((g, q), i);
    }
    std::thread::sleep(Duration::from_millis(100));
    server.kill();
    server.restart();
    let c = SyncClient::new(&server);
    for ((g, q), want) in &last {
        assert_eq!(c.query(g, "Periodic", *q), Some(*want), "{g}:{q}");
    }
}

#[test]
fn sigkill_keeps_a_timed_message_waiting_for_its_time() {
    let mut server = Server::standalone(&["--flush-mode", "sync"]);
    let c = SyncClient::new(&server);
    c.create_topic("Timed", 1);
    let now = || ferromq_protocol::time::now_ms();
    let at = now() + 4_000;
    c.send_with_properties(
        "P",
        "Timed",
        0,
        "later",
        &format!("TIMER_DELIVER_MS\u{1}{at}\u{2}"),
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(c.max_offset("Timed", 0).unwrap(), 0, "it waits");
    server.kill();
    server.restart();
    let c = SyncClient::new(&server);
    let early = at - 300 - now();
    if early > 0 {
        std::thread::sleep(Duration::from_millis(early as u64));
        assert_eq!(c.max_offset("Timed", 0).unwrap(), 0, "not before its time");
    }
    assert!(
        poll_until(Duration::from_secs(10), || c
            .max_offset("Timed", 0)
            .unwrap()
            >= 1),
        "the timed message is delivered after the restart"
    );
    assert!(now() >= at - 150, "delivered {} ms early", at - now());
}
