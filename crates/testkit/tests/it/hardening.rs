//! Regressions for the faults an anonymous client could trigger (issue #9, part 1): each test
//! sends the same bytes that used to delete files, abort the process, exhaust memory or stall
//! the broker, and checks the clear answer and the data that must survive.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::requests;
use ferromq_protocol::body::{self, ConsumerData, HeartbeatData, SubscriptionGroupConfig};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn raw(c: &Cluster, cmd: RemotingCommand) -> RemotingCommand {
    c.client()
        .remoting
        .invoke_raw(&c.broker_addr(0), cmd)
        .await
        .expect("the broker answers")
}

async fn send_one(c: &Cluster, topic: &str, body: &'static [u8]) {
    c.client()
        .send(
            &c.broker_addr(0),
            "P",
            topic,
            0,
            Bytes::from_static(body),
            "",
        )
        .await
        .expect("send");
}

async fn pull_bodies(c: &Cluster, topic: &str) -> Vec<Bytes> {
    let p = requests::Pull {
        group: "G",
        topic,
        queue_id: 0,
        offset: 0,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let r = c.client().pull(&c.broker_addr(0), &p).await.expect("pull");
    r.messages.into_iter().map(|m| m.body).collect()
}

#[tokio::test]
async fn delete_topic_refuses_paths_and_keeps_the_commit_log() {
    let mut c = Cluster::start(1).await;
    send_one(&c, "Keep", b"precious").await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("canary"), b"x").unwrap();
    let outside_path = outside.path().to_string_lossy().into_owned();
    for topic in [
        "../commitlog",
        "..",
        "../../x",
        "/",
        outside_path.as_str(),
        "a/b",
        ".",
    ] {
        let r = raw(
            &c,
            RemotingCommand::request(rq::DELETE_TOPIC_IN_BROKER).with_ext("topic", topic),
        )
        .await;
        assert_eq!(r.code, rs::INVALID_PARAMETER, "topic {topic:?}: {r:?}");
    }
    assert!(outside.path().join("canary").exists());
    assert!(c.data_dir(0).join("store").join("commitlog").is_dir());
    // Every message is still there, before and after a restart.
    assert_eq!(
        pull_bodies(&c, "Keep").await,
        vec![Bytes::from_static(b"precious")]
    );
    c.restart_broker(0).await;
    assert_eq!(
        pull_bodies(&c, "Keep").await,
        vec![Bytes::from_static(b"precious")]
    );
    c.shutdown().await;
}

fn heartbeat(groups: impl IntoIterator<Item = String>) -> RemotingCommand {
    let hb = HeartbeatData {
        client_id: "127.0.0.1@hb".into(),
        consumer_data_set: groups
            .into_iter()
            .map(|g| ConsumerData {
                group_name: g,
                consume_type: "CONSUME_PASSIVELY".into(),
                message_model: "CLUSTERING".into(),
                consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
                ..ConsumerData::default()
            })
            .collect(),
        ..HeartbeatData::default()
    };
    requests::heartbeat(&hb)
}

#[tokio::test]
async fn huge_queue_counts_are_refused_everywhere() {
    let mut c = Cluster::start(1).await;
    // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP with retryQueueNums = 2^31 - 1.
    let mut g = SubscriptionGroupConfig::new("Huge");
    g.retry_queue_nums = i32::MAX;
    let r = raw(
        &c,
        RemotingCommand::request(rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(body::to_vec(&g)),
    )
    .await;
    assert_eq!(r.code, rs::INVALID_PARAMETER, "{r:?}");
    assert!(r.remark.unwrap().contains("retryQueueNums"));
    // A heartbeat for that group creates it with the default: one retry queue.
    let r = raw(&c, heartbeat(["Huge".to_string()])).await;
    assert_eq!(r.code, rs::SUCCESS, "{r:?}");
    let started = Instant::now();
    let r = raw(
        &c,
        RemotingCommand::request(rq::GET_TOPIC_STATS_INFO).with_ext("topic", "%RETRY%Huge"),
    )
    .await;
    assert_eq!(r.code, rs::SUCCESS);
    assert!(started.elapsed() < Duration::from_secs(2));
    // UPDATE_AND_CREATE_TOPIC out of range.
    for (read, write) in [(i32::MAX, 1), (1, 1025), (0, 4), (-1, -1)] {
        let r = raw(
            &c,
            RemotingCommand::request(rq::UPDATE_AND_CREATE_TOPIC)
                .with_ext("topic", "Big")
                .with_ext("readQueueNums", read)
                .with_ext("writeQueueNums", write),
        )
        .await;
        assert_eq!(r.code, rs::INVALID_PARAMETER, "{read}/{write}");
    }
    // A config file written by an older version with such a count is clamped on load.
    c.stop_broker(0).await;
    let cfg_path = c.data_dir(0).join("config").join("subscriptionGroup.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    file["subscriptionGroupTable"]["Huge"]["retryQueueNums"] = i32::MAX.into();
    std::fs::write(&cfg_path, serde_json::to_vec(&file).unwrap()).unwrap();
    c.restart_broker(0).await;
    let r = raw(
        &c,
        RemotingCommand::request(rq::GET_SUBSCRIPTIONGROUP_CONFIG).with_ext("group", "Huge"),
    )
    .await;
    let g: SubscriptionGroupConfig = body::parse(&r.body).unwrap();
    assert_eq!(g.retry_queue_nums, 1);
    c.shutdown().await;
}

/// A JSON header whose object keys nest object keys: used to double its escaping per level.
fn nested_key_header(depth: usize) -> Vec<u8> {
    let mut text = String::from("1");
    for _ in 0..depth {
        text = format!("{{{{\"a\":{text}}}:1}}");
    }
    let header = format!("{{\"code\":34,\"extFields\":{text},\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}}");
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

#[tokio::test]
async fn nested_json_keys_cost_linear_time() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let started = Instant::now();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(&nested_key_header(28)).await.unwrap();
    let mut buf = [0u8; 256];
    // Answered or closed at once, never a stuck process.
    let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
    assert!(r.is_ok(), "no answer within 5 s");
    assert!(started.elapsed() < Duration::from_secs(2));
    // And the broker serves the next client.
    send_one(&c, "AfterJson", b"ok").await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_reset_plan_with_repeated_queues_is_refused_at_once() {
    let c = Cluster::start(1).await;
    send_one(&c, "R", b"m").await;
    let entries: Vec<String> = (0..2000)
        .map(|_| r#"{"topic":"R","queueId":0,"offset":0}"#.to_string())
        .collect();
    let text = format!(
        r#"{{"groups":["G"],"topics":[],"spec":{{"kind":"perQueue","value":[{}]}}}}"#,
        entries.join(",")
    );
    let started = Instant::now();
    let r = raw(
        &c,
        RemotingCommand::request(rq::FERRO_RESET_OFFSETS).with_body(Bytes::from(text)),
    )
    .await;
    assert_eq!(r.code, rs::INVALID_PARAMETER, "{r:?}");
    assert!(r.remark.unwrap().contains("listed twice"));
    assert!(started.elapsed() < Duration::from_secs(2));
    // GET_CONSUME_STATS naming one topic many times answers one entry per queue.
    let list = vec!["R"; 5000].join(";");
    let r = raw(
        &c,
        RemotingCommand::request(rq::GET_CONSUME_STATS)
            .with_ext("consumerGroup", "G")
            .with_ext("topicList", list),
    )
    .await;
    assert_eq!(r.code, rs::SUCCESS);
    assert!(r.body.len() < 4096, "{} bytes", r.body.len());
    c.shutdown().await;
}

fn small_limits(cfg: &mut ferromq_broker::BrokerConfig) {
    cfg.max_connections = 8;
    cfg.max_held_pulls = 2;
    cfg.max_groups = 50;
    cfg.max_topics = 600;
    cfg.max_frame_bytes = 64 * 1024;
}

#[tokio::test]
async fn limits_answer_clearly() {
    let c = Cluster::start_with(1, small_limits).await;
    let addr = c.broker_addr(0);
    let broker = c.brokers[0].as_ref().unwrap().broker.clone();
    // Groups: a heartbeat naming more than max-groups registers what fits and says why not.
    let r = raw(&c, heartbeat((0..80).map(|i| format!("G{i}")))).await;
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("max-groups"));
    assert_eq!(broker.groups.len(), 50);
    // Topics: sends to new topics stop at max-topics with a clear remark.
    let client = c.client();
    let mut refused = None;
    for i in 0..650 {
        let cmd = requests::send_v2("P", &format!("T{i}"), 0, Bytes::from_static(b"x"), "");
        let r = client.remoting.invoke_raw(&addr, cmd).await.unwrap();
        if r.code != rs::SUCCESS {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("max-topics reached");
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("max-topics"), "topics");
    // A response over the frame limit becomes an error; the connection lives on.
    let r = raw(&c, RemotingCommand::request(rq::GET_ALL_TOPIC_CONFIG)).await;
    assert_eq!(r.code, rs::SYSTEM_ERROR, "{} bytes", r.body.len());
    assert!(r.remark.unwrap().contains("max-frame-bytes"));
    assert_eq!(
        raw(&c, RemotingCommand::request(rq::GET_BROKER_RUNTIME_INFO))
            .await
            .code,
        rs::SUCCESS
    );
    // Held pulls: two are held, the third is answered SYSTEM_BUSY at once.
    let end = client.max_offset(&addr, "T0", 0).await.unwrap();
    let pull = |offset: i64| {
        requests::pull(&requests::Pull {
            group: "G0",
            topic: "T0",
            queue_id: 0,
            offset,
            max_msgs: 1,
            subscription: Some("*"),
            suspend_ms: 20_000,
            commit_offset: None,
        })
    };
    // Two clients hold pulls on raw connections, so that closing them is a real disconnect.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let mut bytes = Vec::new();
        let cmd = pull(end);
        ferromq_protocol::encode_frame_header(&cmd, &mut bytes);
        bytes.extend_from_slice(&cmd.body);
        s.write_all(&bytes).await.unwrap();
        holders.push(s);
    }
    ferromq_testkit::eventually(Duration::from_secs(5), "two held pulls", || {
        let n = broker.pull_hold.held();
        async move { (n == 2).then_some(()) }
    })
    .await;
    let started = Instant::now();
    let r = raw(&c, pull(end)).await;
    assert_eq!(r.code, rs::SYSTEM_BUSY, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A client that goes away releases its held pull at once.
    drop(holders);
    ferromq_testkit::eventually(Duration::from_secs(5), "held pulls released", || {
        let n = broker.pull_hold.held();
        async move { (n == 0).then_some(()) }
    })
    .await;
    // Connections: past max-connections new ones are closed at accept.
    let mut open = Vec::new();
    for _ in 0..12 {
        open.push(TcpStream::connect(&addr).await.unwrap());
    }
    let mut closed = 0;
    for s in &mut open {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(300), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert!(closed >= 4, "{closed} of 12 closed");
    assert!(broker.metrics.limit_hits("max-connections") >= 4);
    assert!(broker.metrics.limit_hits("max-groups") >= 1);
    assert!(broker.metrics.limit_hits("max-held-pulls") >= 1);
    drop(open);
    c.shutdown().await;
}

#[tokio::test]
async fn many_new_groups_in_heartbeats_do_not_stall_other_requests() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    let started = Instant::now();
    for round in 0..3 {
        let r = raw(&c, heartbeat((0..600).map(|i| format!("New{round}x{i}")))).await;
        assert_eq!(r.code, rs::SUCCESS);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "three heartbeats took {took:?}"
    );
    // Another request right after is answered at once.
    let started = Instant::now();
    client
        .max_offset(&addr, "%RETRY%New0x0", 0)
        .await
        .expect("max offset");
    assert!(started.elapsed() < Duration::from_millis(500));
    // The groups reach the config file in the background.
    let path = c.data_dir(0).join("config").join("subscriptionGroup.json");
    ferromq_testkit::eventually(Duration::from_secs(10), "groups persisted", || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        async move { text.contains("New2x599").then_some(()) }
    })
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn an_empty_registration_keeps_the_broker_routes() {
    let c = Cluster::start(1).await;
    send_one(&c, "Routed", b"x").await;
    let client = c.client();
    let register = RemotingCommand::request(rq::REGISTER_BROKER)
        .with_ext("brokerName", "broker-0")
        .with_ext("brokerAddr", c.broker_addr(0))
        .with_ext("clusterName", "DefaultCluster")
        .with_ext("brokerId", 0);
    let r = client
        .remoting
        .invoke_raw(&c.namesrv_addr, register.clone())
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUCCESS);
    assert!(client.route("Routed").await.is_ok(), "route kept");
    // A body that does not parse is refused.
    let r = client
        .remoting
        .invoke_raw(
            &c.namesrv_addr,
            register.with_body(Bytes::from_static(b"{nonsense")),
        )
        .await
        .unwrap();
    assert_ne!(r.code, rs::SUCCESS);
    assert!(client.route("Routed").await.is_ok(), "route kept");
    c.shutdown().await;
}

#[tokio::test]
async fn a_million_offsets_are_read_in_pages_within_the_frame_limit() {
    let c = Cluster::start(1).await;
    let broker = c.brokers[0].as_ref().unwrap().broker.clone();
    // 10^6 (group, topic, queue) entries: 1,000 groups × 1,000 queues.
    for chunk in 0..10 {
        let batch: Vec<_> = (chunk * 100..(chunk + 1) * 100)
            .flat_map(|g| {
                (0..1000).map(move |q| {
                    (
                        ferromq_offsets::QueueKey::new(format!("Group{g:04}"), "Big", q),
                        1_000_000_000_000 + q as i64,
                    )
                })
            })
            .collect();
        broker.offsets.commit(batch).await.unwrap();
    }
    assert_eq!(broker.offsets.entry_count(), 1_000_000);
    // The upstream code cannot page: its ~20 MB document is refused with an answer naming the
    // limit (the mirror then pages with FERRO_EXPORT_OFFSETS), never an oversized frame.
    let r = raw(&c, RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET)).await;
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("max-frame-bytes"));
    // FERRO_EXPORT_OFFSETS pages: every page under the frame limit, every entry once, in order.
    let mut after = serde_json::Value::Null;
    let (mut total, mut pages, mut largest) = (0usize, 0, 0usize);
    let mut last_key: Option<(String, i64)> = None;
    loop {
        let req = serde_json::json!({ "after": after });
        let r = raw(
            &c,
            RemotingCommand::request(rq::FERRO_EXPORT_OFFSETS).with_body(body::to_vec(&req)),
        )
        .await;
        assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
        largest = largest.max(r.body.len());
        let page: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let records = page["records"].as_array().unwrap();
        let first = &records[0];
        let key = (
            first["group"].as_str().unwrap().to_string(),
            first["queueId"].as_i64().unwrap(),
        );
        assert!(
            last_key.as_ref().is_none_or(|k| *k < key),
            "pages in key order"
        );
        let last = records.last().unwrap();
        last_key = Some((
            last["group"].as_str().unwrap().to_string(),
            last["queueId"].as_i64().unwrap(),
        ));
        total += records.len();
        pages += 1;
        if page["next"].is_null() {
            break;
        }
        after = page["next"].clone();
    }
    assert_eq!(total, 1_000_000);
    assert!(pages >= 10);
    assert!(
        largest < ferromq_protocol::DEFAULT_MAX_FRAME,
        "{largest} bytes"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn concurrent_first_asks_resolve_an_intent_once() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    // An intent "latest" for a group that never asked, on a topic that does not exist yet.
    let _: serde_json::Value = client
        .ferro(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &serde_json::json!({"groups": ["IG"], "topics": [{"topic": "Later", "queues": [0]}],
                                "spec": {"kind": "latest"}, "allowIntents": true}),
        )
        .await
        .unwrap();
    // The topic appears; many first asks race with sends that move "latest".
    let asks: Vec<_> = (0..16)
        .map(|_| {
            let (client, addr) = (c.client(), addr.clone());
            tokio::spawn(async move {
                client
                    .query_offset(&addr, "IG", "Later", 0)
                    .await
                    .unwrap_or(None)
            })
        })
        .collect();
    for _ in 0..5 {
        send_one(&c, "Later", b"racing").await;
    }
    let mut answers = Vec::new();
    for a in asks {
        answers.push(a.await.unwrap());
    }
    let resolved: Vec<i64> = answers.into_iter().flatten().collect();
    assert!(
        resolved.windows(2).all(|w| w[0] == w[1]),
        "every first ask saw one resolution: {resolved:?}"
    );
    let history: serde_json::Value = client
        .ferro(
            &addr,
            rq::FERRO_HISTORY,
            &serde_json::json!({"group": "IG", "limit": 100}),
        )
        .await
        .unwrap();
    let intent_changes = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ch| ch["operation"] == "intent" && ch["scope"].as_str().unwrap().contains("Later"))
        .count();
    assert!(intent_changes <= 1, "{intent_changes} resolutions");
    c.shutdown().await;
}
