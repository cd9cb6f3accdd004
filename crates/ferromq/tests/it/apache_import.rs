//! `ferromq admin offsets import --rocketmq` of the `consumerOffset.json` a real Apache
//! RocketMQ 5.5.0 broker wrote itself (fastjson's unquoted queue ids, 5.x's extra tables):
//! after a clean stop, after a SIGKILL, and from its `.bak` when the main file is gone or torn
//! (the states upstream's own write-then-rename can leave).

use crate::common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::apache::Apache;
use common::{admin_ok, client_args, poll_until, spawn_client, Client, Server, SyncClient};
use ferromq_protocol::body::consumer_offset;

const TOPIC: &str = "ImpOrders";
const QUEUES: i32 = 4;
const PER_QUEUE: usize = 10;

/// `group`'s offsets on every queue of `TOPIC` in an Apache offset file.
fn in_file(path: &Path, group: &str) -> Vec<Option<i64>> {
    let Ok(text) = fs::read(path) else {
        return vec![None; QUEUES as usize];
    };
    let Ok(entries) = consumer_offset::parse(&text) else {
        return vec![None; QUEUES as usize];
    };
    (0..QUEUES)
        .map(|q| {
            entries
                .iter()
                .find(|(k, _)| k.group == group && k.topic == TOPIC && k.queue_id == q)
                .map(|(_, o)| *o)
        })
        .collect()
}

fn fill(c: &SyncClient) {
    c.create_topic(TOPIC, QUEUES);
    assert!(
        c.wait_routed(TOPIC, Duration::from_secs(40)),
        "{TOPIC} routed"
    );
    for q in 0..QUEUES {
        for i in 0..PER_QUEUE {
            c.send("imp_producer", TOPIC, q, format!("q{q}-{i}"));
        }
    }
}

fn commit(c: &SyncClient, group: &str, offsets: [i64; 4]) {
    for (q, o) in offsets.into_iter().enumerate() {
        c.commit(group, TOPIC, q as i32, o);
    }
}

fn import(target: &Server, file: &Path) -> String {
    let file = file.display().to_string();
    admin_ok(
        &target.namesrv_addr(),
        &[
            "offsets",
            "import",
            "--rocketmq",
            &file,
            "--execute",
            "--yes",
        ],
    )
}

fn on_target(t: &SyncClient, group: &str) -> Vec<Option<i64>> {
    t.query_queues(group, TOPIC, QUEUES)
}

#[test]
fn apache_offset_files_import_exactly_after_a_stop_a_sigkill_and_from_the_bak() {
    Client::Java5
        .check_installed()
        .expect("run compat/setup.sh first");
    // Persist the offset table every 500 ms instead of 5 s, so the test need not wait long.
    let mut apache = Apache::start_with("broker-a", &["flushConsumerOffsetInterval=500"]);
    let src = SyncClient::connect(&apache.namesrv.addr, &apache.broker.addr);
    fill(&src);
    // One group committed by a real Java consumer, two by UPDATE_CONSUMER_OFFSET.
    let args = client_args(
        &apache.namesrv.addr,
        TOPIC,
        "ImpJava",
        &["--from", "first", "--expect", "40", "--timeout", "60"],
    );
    spawn_client(Client::Java5, "consumer", &args).wait_success(Duration::from_secs(70));
    // Apache keeps offsets only of groups it knows: create them (ferromq admin, upstream codes).
    for g in ["ImpA", "ImpB"] {
        admin_ok(
            &apache.namesrv.addr,
            &["updateSubGroup", "-b", &apache.broker.addr, "-g", g],
        );
    }
    commit(&src, "ImpA", [1, 2, 3, 4]);
    commit(&src, "ImpB", [10, 0, 5, 7]);
    let file = apache.broker.store_dir().join("config/consumerOffset.json");
    let everything = vec![Some(PER_QUEUE as i64); QUEUES as usize];
    assert!(
        poll_until(Duration::from_secs(30), || in_file(&file, "ImpJava")
            == everything),
        "the Java consumer's commits reached the file: {:?}",
        in_file(&file, "ImpJava")
    );

    // 1. A clean stop: the shutdown hook writes the table once more.
    apache.broker.stop();
    let target = Server::standalone(&[]);
    let dst = SyncClient::connect(&target.namesrv_addr(), &target.broker_addr());
    fill(&dst);
    import(&target, &file);
    assert_eq!(on_target(&dst, "ImpJava"), everything);
    assert_eq!(on_target(&dst, "ImpA"), [1, 2, 3, 4].map(Some));
    assert_eq!(on_target(&dst, "ImpB"), [10, 0, 5, 7].map(Some));

    // 2. A SIGKILL after newer commits were persisted by the periodic flush.
    apache.broker.restart();
    let src = SyncClient::connect(&apache.namesrv.addr, &apache.broker.addr);
    commit(&src, "ImpA", [5, 6, 7, 8]);
    assert!(
        poll_until(Duration::from_secs(20), || in_file(&file, "ImpA")
            == [5, 6, 7, 8].map(Some)),
        "the periodic flush wrote the new commits"
    );
    apache.broker.kill();
    import(&target, &file);
    assert_eq!(on_target(&dst, "ImpA"), [5, 6, 7, 8].map(Some));
    assert_eq!(on_target(&dst, "ImpB"), [10, 0, 5, 7].map(Some));

    // 3. The main file torn, then gone: the .bak upstream keeps is read, exactly.
    let bak = apache
        .broker
        .store_dir()
        .join("config/consumerOffset.json.bak");
    let bak_a = in_file(&bak, "ImpA");
    assert!(bak_a.iter().all(Option::is_some), "the .bak holds ImpA");
    commit(&dst, "ImpA", [0, 0, 0, 0]);
    let text = fs::read(&file).unwrap();
    fs::write(&file, &text[..text.len() / 2]).unwrap();
    import(&target, &file);
    assert_eq!(
        on_target(&dst, "ImpA"),
        bak_a,
        "torn file: the .bak's offsets"
    );
    commit(&dst, "ImpA", [0, 0, 0, 0]);
    fs::remove_file(&file).unwrap();
    import(&target, &file);
    assert_eq!(
        on_target(&dst, "ImpA"),
        bak_a,
        "missing file: the .bak's offsets"
    );
    assert_eq!(on_target(&dst, "ImpJava"), everything);
}
