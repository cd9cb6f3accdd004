//! Writes the seed corpus `fuzz/seeds/<target>/` from ferromq's own encoders: frames and headers
//! from `ferromq_protocol`, bodies serialised from the body types, records from `encode_record`,
//! and store, offset-store and mirror files taken from real directories the crates wrote.
//!
//! `cargo run --example make_seeds [-- OUT_DIR]` from `fuzz/` (default `seeds`). Deterministic
//! except for store timestamps; rerun it after a format change and commit the result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use ferromq_fuzz::{
    checkpoint_bytes, frame_mirror_state, new_message, offsets_flags, segment_header, store_flags,
    STORE_CQ_EPF, STORE_SEGMENT, STORE_TOPIC,
};
use ferromq_protocol::body::{self, *};
use ferromq_protocol::message::{self, BatchItem, NewMessage};
use ferromq_protocol::{frame, header, RemotingCommand, SerializeType};

type Seeds = Vec<(String, Vec<u8>)>;

fn seed(name: &str, bytes: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
    (name.to_string(), bytes.into())
}

fn commands() -> Vec<RemotingCommand> {
    let mut send = RemotingCommand::request(310)
        .with_ext("a", "PG")
        .with_ext("b", "TopicTest")
        .with_ext("e", 3)
        .with_ext("i", "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}")
        .with_body(Bytes::from_static(b"hello"));
    send.opaque = 7;
    let pull = RemotingCommand::request(11)
        .with_ext("consumerGroup", "CG")
        .with_ext("topic", "T")
        .with_ext("queueId", 0)
        .with_ext("queueOffset", 12)
        .with_ext("maxMsgNums", 32)
        .with_ext("sysFlag", 2)
        .with_ext("commitOffset", "10")
        .with_ext("suspendTimeoutMillis", 15000)
        .with_ext("subscription", "*")
        .with_ext("subVersion", 1_700_000_000_000i64);
    let update = RemotingCommand::request(15)
        .with_ext("consumerGroup", "CG")
        .with_ext("topic", "T")
        .with_ext("queueId", "1")
        .with_ext("commitOffset", "12.0")
        .with_ext("unitMode", "false");
    let resp = RemotingCommand::error(1, "system busy").with_ext("offset", 5);
    let oneway = RemotingCommand::request(34)
        .mark_oneway()
        .with_body(Bytes::from_static(br#"{"clientID":"c"}"#));
    vec![send, pull, update, resp, oneway]
}

fn frame_seeds() -> Seeds {
    let mut out = Seeds::new();
    let mut stream = Vec::new();
    for (i, mut cmd) in commands().into_iter().enumerate() {
        for (st, tag) in [
            (SerializeType::Json, "json"),
            (SerializeType::RocketMq, "bin"),
        ] {
            cmd.serialize_type = st;
            let bytes = frame::encode_frame(&cmd);
            if i < 3 {
                stream.extend_from_slice(&bytes);
            }
            // The target decodes the whole input as one frame (prefix stripped) ...
            out.push(seed(&format!("frame-{i}-{tag}"), bytes[4..].to_vec()));
        }
    }
    // ... and as a stream of prefixed frames.
    out.push(seed("stream", stream));
    out
}

fn header_json_seeds() -> Seeds {
    let mut out = Seeds::new();
    for (i, cmd) in commands().iter().enumerate() {
        let mut b = Vec::new();
        header::json::encode(cmd, &mut b);
        out.push(seed(&format!("encoded-{i}"), b));
    }
    // ali-ons: numbers and booleans in extFields; C++: language as a number; fastjson bare keys.
    out.push(seed(
        "ali-ons",
        &br#"{"code":15,"language":"JAVA","version":121,"opaque":5,"flag":0,"extFields":{"queueId":0,"commitOffset":12,"unitMode":false,"topic":"T","x":null}}"#[..],
    ));
    out.push(seed(
        "cpp",
        &br#"{"code":"11","language":1,"version":"400","opaque":9.0,"flag":0,"remark":null,"extFields":{"queueOffset":"3","sysFlag":"2"}}"#[..],
    ));
    out.push(seed(
        "fastjson-bare-keys",
        &b"{code:14,flag:0,extFields:{queueId:1,topic:\"T\",consumerGroup:\"g\"}}"[..],
    ));
    out.push(seed(
        "nested-values",
        &br#"{"code":10,"remark":{"a":[1,2]},"extFields":{"k":[1,{"b":true}],"n":1e3}}"#[..],
    ));
    out
}

fn header_binary_seeds() -> Seeds {
    commands()
        .iter()
        .enumerate()
        .map(|(i, cmd)| {
            let mut b = Vec::new();
            header::binary::encode(cmd, &mut b);
            seed(&format!("encoded-{i}"), b)
        })
        .collect()
}

fn fastjson_seeds() -> Seeds {
    vec![
        seed("int-key", &b"{0:12}"[..]),
        seed(
            "mq-key",
            &br#"{{"brokerName":"b","queueId":0,"topic":"T"}:100}"#[..],
        ),
        seed("offset-table", &br#"{"offsetTable":{"T@g":{0:12,1:34}}}"#[..]),
        seed(
            "reset-offset-body",
            &br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}"#[..],
        ),
        seed(
            "pretty",
            &b"{\n\t\"offsetTable\":{\n\t\t\"T@g\":{0:1,\n\t\t\t1:2\n\t\t}\n\t}\n}"[..],
        ),
        // Structure-aware mode of the target: 0x01 wraps the rest once as an object key.
        seed(
            "shaped-mq-key",
            &b"\x01{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}"[..],
        ),
        seed(
            "mixed",
            &br#"{"a":[1,-2.5e3,true,null,"s\"q\\"],b:{"c":{}},[1,2]:"arr-key"}"#[..],
        ),
    ]
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("seed values serialise")
}

fn body_seeds() -> Seeds {
    let mut out = Seeds::new();
    let mut add = |kind: u8, name: &str, b: Vec<u8>| {
        let mut v = vec![kind];
        v.extend_from_slice(&b);
        out.push(seed(&format!("{kind:02}-{name}"), v));
    };
    let hb = HeartbeatData {
        client_id: "127.0.0.1@1".into(),
        producer_data_set: vec![ProducerData {
            group_name: "PG".into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: "CG".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: "CLUSTERING".into(),
            consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
            subscription_data_set: vec![SubscriptionData::from_expression("T", "TagA || TagB", 1)],
            unit_mode: false,
        }],
        heartbeat_fingerprint: 0,
        without_sub: false,
    };
    add(0, "heartbeat", body::to_vec(&hb));
    add(
        0,
        "heartbeat-cpp",
        br#"{"clientID":"1-127.0.0.1@DEFAULT","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"g","messageModel":1,"subscriptionDataSet":[{"subString":"TagA || TagB","subVersion":"1700","topic":"T"}]}]}"#.to_vec(),
    );
    let mqs = vec![
        MessageQueue::new("T", "b", 0),
        MessageQueue::new("T", "b", 1),
    ];
    add(
        1,
        "lock-batch",
        body::to_vec(&LockBatchBody {
            consumer_group: "CG".into(),
            client_id: "c".into(),
            only_this_broker: true,
            mq_set: mqs.clone(),
        }),
    );
    add(
        2,
        "lock-response",
        body::to_vec(&LockBatchResponse {
            lock_o_k_m_q_set: mqs.clone(),
        }),
    );
    add(
        3,
        "group",
        body::to_vec(&SubscriptionGroupConfig::new("CG")),
    );
    let mut wrapper = TopicConfigWrapper::default();
    wrapper
        .topic_config_table
        .insert("T".into(), TopicConfig::new("T", 4));
    add(4, "topic-wrapper", body::to_vec(&wrapper));
    add(
        5,
        "register-broker",
        body::to_vec(&RegisterBrokerBody {
            topic_config_serialize_wrapper: wrapper.clone(),
            filter_server_list: vec![],
        }),
    );
    let mut addrs = BTreeMap::new();
    addrs.insert("0".to_string(), "127.0.0.1:10911".to_string());
    let bd = BrokerData {
        broker_addrs: addrs,
        broker_name: "b".into(),
        cluster: "c".into(),
        enable_acting_master: false,
        zone_name: None,
    };
    add(
        6,
        "route",
        body::to_vec(&TopicRouteData {
            broker_datas: vec![bd.clone()],
            queue_datas: vec![QueueData {
                broker_name: "b".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                ..QueueData::default()
            }],
            ..TopicRouteData::default()
        }),
    );
    let mut cluster = ClusterInfo::default();
    cluster.broker_addr_table.insert("b".into(), bd);
    cluster
        .cluster_addr_table
        .insert("c".into(), ["b".to_string()].into_iter().collect());
    add(7, "cluster", body::to_vec(&cluster));
    add(
        8,
        "consumer-list",
        body::to_vec(&ConsumerListBody {
            consumer_id_list: vec!["c1".into(), "c2".into()],
        }),
    );
    let mut kv = KvTable::default();
    kv.table.insert("k".into(), "v".into());
    add(9, "kv", body::to_vec(&kv));
    add(
        10,
        "topic-list",
        body::to_vec(&TopicList {
            topic_list: vec!["T".into()],
            broker_addr: None,
        }),
    );
    add(11, "data-version", body::to_vec(&DataVersion::default()));
    add(
        12,
        "sync-offsets",
        json(&vec![SyncOffsetEntry {
            group: "g".into(),
            topic: "T".into(),
            queue_id: 0,
            offset: 9,
        }]),
    );
    add(
        13,
        "mq-map",
        format!(
            "{{\"offsetTable\":{}}}",
            write_mq_map(&[(mqs[0].clone(), 5i64), (mqs[1].clone(), 7)])
        )
        .into_bytes(),
    );
    add(14, "topic-config", body::to_vec(&TopicConfig::new("T", 8)));
    add(15, "mqs", json(&mqs));
    // The broker's progress requests (FERRO_* codes), as a client writes them.
    let progress = [
        (
            16,
            "reset",
            serde_json::json!({"groups":["g"],"topics":[{"topic":"T","queues":[0,1]}],
            "spec":{"kind":"perQueue","value":[{"topic":"T","queueId":0,"offset":3}]},"dryRun":true}),
        ),
        (
            16,
            "reset-timestamp",
            serde_json::json!({"groups":["g"],"topics":[{"topic":"T"}],
            "spec":{"kind":"timestamp","value":1_700_000_000_000i64},"allowIntents":true}),
        ),
        (
            17,
            "describe",
            serde_json::json!({"group":"g","topics":null}),
        ),
        (18, "history", serde_json::json!({"group":"g","limit":10})),
        (19, "undo", serde_json::json!({"changeId":3,"dryRun":true})),
        (
            20,
            "clone",
            serde_json::json!({"from":"a","to":"b","topics":["T"]}),
        ),
        (21, "delete", serde_json::json!({"group":"g","dryRun":true})),
        (
            22,
            "import",
            serde_json::json!({"records":[{"group":"g","topic":"T","queueId":0,
            "offset":4,"storeTimeMs":1}],"rocketmqJson":"{\"offsetTable\":{\"T@g\":{0:12,1:34}}}",
            "dryRun":true}),
        ),
        (23, "export", serde_json::json!({"groups":["g"]})),
    ];
    for (kind, name, v) in progress {
        add(kind, name, json(&v));
    }
    add(
        27,
        "change",
        br#"{"id":7,"timeMs":99,"actor":"127.0.0.1:5123","operation":"reset","scope":"group=g","entries":[{"key":{"group":"g","topic":"T","queueId":0},"before":null,"after":5}],"intentsSet":[{"group":"g","topic":"T","queueId":null,"spec":{"kind":"timestamp","value":123},"createdMs":99}],"intentsCleared":[],"undoOf":3}"#.to_vec(),
    );
    out
}

fn encoded(m: &NewMessage, queue_offset: i64, phys: i64) -> Vec<u8> {
    let mut rec = Vec::new();
    message::encode_record(m, &mut rec).expect("seed record encodes");
    message::patch_record(&mut rec, queue_offset, phys, 1_700_000_000_123);
    rec
}

fn message_seeds() -> Seeds {
    let a = encoded(
        &new_message(
            "TopicTest",
            0,
            b"hello",
            "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}",
        ),
        0,
        0,
    );
    let mut v6 = new_message(&"t".repeat(130), 3, b"x", "UNIQ_KEY\u{1}ABC\u{2}");
    v6.born_host = "[::1]:5".parse().expect("literal");
    v6.store_host = "[fe80::1]:10911".parse().expect("literal");
    let b = encoded(&v6, 1, a.len() as i64);
    let mut two = vec![0u8];
    two.extend_from_slice(&a);
    two.extend_from_slice(&b);
    let mut one = vec![1u8];
    one.extend_from_slice(&b);
    let mut batch = vec![2u8];
    batch.extend_from_slice(&message::encode_batch_body(&[
        BatchItem {
            flag: 0,
            body: Bytes::from_static(b"m1"),
            properties: "KEYS\u{1}k\u{2}".into(),
        },
        BatchItem {
            flag: 1,
            body: Bytes::from_static(b"m2"),
            properties: String::new(),
        },
    ]));
    let mut props = vec![3u8];
    props.extend_from_slice(b"TAGS\x01TagA\x02KEYS\x01k1 k2\x02WAIT\x01true\x02junk\x02\x01v\x02");
    let id4 = message::offset_msg_id("10.0.0.1:10911".parse().expect("literal"), 4096);
    let id6 = message::offset_msg_id("[::1]:10911".parse().expect("literal"), 1 << 40);
    vec![
        seed("records", two),
        seed("record-v6-long-topic", one),
        seed("batch", batch),
        seed("properties", props),
        seed("msgid-v4", [&[4u8][..], id4.as_bytes()].concat()),
        seed("msgid-v6", [&[4u8][..], id6.as_bytes()].concat()),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn trim_zeros(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    &b[..end]
}

/// A real store directory (written by `MessageStore`), turned into `store_dir` inputs and (its
/// log, consume queue and checkpoint as they are) `consume_queue` inputs.
fn store_seeds() -> (Seeds, Seeds) {
    use ferromq_store::{AppendRecord, FlushMode, MessageStore, StoreConfig};
    let rt = runtime();
    let mut out = Seeds::new();
    let mut in_memory = Seeds::new();
    for (name, count, body_len) in [("one-segment", 6usize, 40usize), ("two-segments", 34, 60)] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cfg = StoreConfig {
            root: tmp.path().to_path_buf(),
            segment_size: STORE_SEGMENT as u64,
            cq_entries_per_file: STORE_CQ_EPF,
            flush: FlushMode::default(),
            max_message_size: 1024,
            ..StoreConfig::default()
        };
        let store = MessageStore::open(cfg).expect("open store");
        for i in 0..count {
            let tags = if i % 2 == 0 { "TagA" } else { "TagB" };
            let m = new_message(
                STORE_TOPIC,
                (i % 3 == 2) as i32,
                &vec![b'a' + (i % 26) as u8; body_len],
                &format!("TAGS\u{1}{tags}\u{2}"),
            );
            let mut bytes = Vec::new();
            message::encode_record(&m, &mut bytes).expect("encode");
            let rec = AppendRecord {
                bytes,
                topic: STORE_TOPIC.into(),
                queue_id: m.queue_id,
                tags_code: message::tags_code(Some(tags)),
            };
            rt.block_on(store.put(vec![rec])).expect("put");
        }
        store.shutdown().expect("shutdown");
        drop(store);
        let root = tmp.path();
        let mut log = Vec::new();
        let mut segs: Vec<PathBuf> = std::fs::read_dir(root.join("commitlog"))
            .expect("commitlog")
            .map(|e| e.expect("entry").path())
            .collect();
        segs.sort();
        for (i, s) in segs.iter().enumerate() {
            let b = std::fs::read(s).expect("segment");
            if i + 1 == segs.len() {
                log.extend_from_slice(trim_zeros(&b));
            } else {
                log.extend_from_slice(&b);
            }
        }
        let mut cq = Vec::new();
        let cq_dir = root.join("consumequeue").join(STORE_TOPIC).join("0");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&cq_dir)
            .expect("cq dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for f in &files {
            cq.extend_from_slice(&std::fs::read(f).expect("cq file"));
        }
        let ckpt = std::fs::read(root.join("checkpoint")).expect("checkpoint");
        // Directory mode: clean shutdown state, padded segments.
        let flags = 1 | store_flags::CHECKPOINT | store_flags::PAD;
        let mut input = vec![flags];
        input.extend_from_slice(&(cq.len() as u16).to_be_bytes());
        input.extend_from_slice(&cq);
        input.extend_from_slice(&ckpt);
        input.extend_from_slice(&log);
        out.push(seed(&format!("dir-{name}"), input));
        if name == "one-segment" {
            // After a crash with no checkpoint and a consume queue that lags: full rebuild.
            let flags = 2 | store_flags::UNCLEAN | store_flags::PAD;
            let lagging = &cq[..cq.len().min(40)];
            let mut input = vec![flags];
            input.extend_from_slice(&(lagging.len() as u16).to_be_bytes());
            input.extend_from_slice(lagging);
            input.extend_from_slice(&log);
            out.push(seed("dir-crash-lagging-cq", input));
            // A checkpoint ahead of the log, and a torn record the fix-up does not repair.
            let flags =
                3 | store_flags::CHECKPOINT | store_flags::UNCLEAN | store_flags::FIX_RECORDS;
            let mut input = vec![flags];
            input.extend_from_slice(&(cq.len() as u16).to_be_bytes());
            input.extend_from_slice(&cq);
            input.extend_from_slice(&checkpoint_bytes(1 << 20, 1 << 20));
            input.extend_from_slice(&log[..log.len() - 7]);
            out.push(seed("dir-torn-tail", input));
            in_memory.push(seed("log", log.clone()));
            in_memory.push(seed("cq", cq.clone()));
            in_memory.push(seed("checkpoint", ckpt));
        }
    }
    (out, in_memory)
}

/// A real offset-store directory (written by `OffsetStore`), turned into `offset_log` inputs.
fn offset_log_seeds() -> Seeds {
    use ferromq_offsets::{
        ChangeDraft, Intent, IntentSpec, OffsetStore, OffsetStoreConfig, QueueKey,
    };
    let rt = runtime();
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = OffsetStoreConfig {
        dir: tmp.path().to_path_buf(),
        ..OffsetStoreConfig::default()
    };
    let store = OffsetStore::open(cfg).expect("open offsets");
    let k = |g: &str, t: &str, q: i32| QueueKey::new(g, t, q);
    rt.block_on(store.commit(vec![
        (k("g", "T", 0), 5),
        (k("g", "T", 1), 7),
        (k("h", "U", 0), 1),
    ]))
    .expect("commit");
    rt.block_on(store.apply_change(ChangeDraft {
        actor: "127.0.0.1:1".into(),
        operation: "reset".into(),
        scope: "group=g".into(),
        set: vec![(k("g", "T", 0), Some(2)), (k("h", "U", 0), None)],
        set_intents: vec![Intent {
            group: "g".into(),
            topic: "V".into(),
            queue_id: None,
            spec: IntentSpec::Timestamp(1_700_000_000_000),
            created_ms: 1,
        }],
        clear_intents: vec![],
        undo_of: None,
        expect: vec![],
    }))
    .expect("change");
    rt.block_on(store.delete_group_topic("h", "U"))
        .expect("delete");
    let first_log = read_only_file(tmp.path(), ".wal");
    store.compact().expect("compact");
    rt.block_on(store.commit(vec![(k("g", "T", 2), 11)]))
        .expect("commit");
    rt.block_on(store.delete_group("x")).expect("delete");
    store.shutdown().expect("shutdown");
    drop(store);
    let mut snap = read_only_file(tmp.path(), ".snap");
    // The directory-mode layout names both files after segment 1.
    snap[16..24].copy_from_slice(&1u64.to_le_bytes());
    ferromq_fuzz::fix_snapshot(&mut snap);
    let mut later_log = read_only_file(tmp.path(), ".wal");
    later_log[..16].copy_from_slice(&segment_header(1));

    let with = |flags: u8, b: &[u8]| [&[flags][..], b].concat();
    let rec_len = u32::from_le_bytes(first_log[16..20].try_into().expect("4 bytes")) as usize;
    let first_record = &first_log[16..16 + 8 + rec_len];
    let mut dir = vec![offsets_flags::MODE_DIR];
    dir.extend_from_slice(&(snap.len() as u16).to_be_bytes());
    dir.extend_from_slice(&snap);
    dir.extend_from_slice(&later_log);
    let mut torn = first_log.clone();
    torn.truncate(torn.len() - 3);
    // Regression: a change record whose id has no successor (overflowed the next change id).
    let json = br#"{"id":18446744073709551615,"timeMs":0,"actor":"","operation":"","scope":"","entries":[],"intentsSet":[],"intentsCleared":[],"undoOf":null}"#;
    let mut max_id = vec![0x05];
    max_id.extend_from_slice(&1u64.to_le_bytes());
    max_id.extend_from_slice(json);
    let mut max_id_frame = (max_id.len() as u32).to_le_bytes().to_vec();
    max_id_frame.extend_from_slice(&[0; 4]); // the FIX_CRC flag fills in the CRC
    max_id_frame.extend_from_slice(&max_id);
    vec![
        seed(
            "regress-change-id-max",
            with(
                offsets_flags::MODE_RECORD | offsets_flags::FIX_CRC,
                &max_id_frame,
            ),
        ),
        seed("log", with(offsets_flags::MODE_LOG, &first_log)),
        seed(
            "log-torn",
            with(offsets_flags::MODE_LOG | offsets_flags::FIX_CRC, &torn),
        ),
        seed("record", with(offsets_flags::MODE_RECORD, first_record)),
        seed("snapshot", with(offsets_flags::MODE_SNAPSHOT, &snap)),
        seed("dir", dir),
        seed(
            "dir-log-only",
            [&[offsets_flags::MODE_DIR, 0, 0][..], &first_log].concat(),
        ),
    ]
}

/// The one file in `dir` whose name ends with `suffix` (the newest if several).
fn read_only_file(dir: &Path, suffix: &str) -> Vec<u8> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    names.sort();
    std::fs::read(names.last().expect("file present")).expect("read file")
}

fn offsets_json_seeds() -> Seeds {
    vec![
        seed(
            "fastjson-4x",
            &br#"{"offsetTable":{"T@g":{0:12,1:34},"%RETRY%g@g":{0:0}}}"#[..],
        ),
        seed(
            "rocketmq-5x",
            &b"{\n\t\"dataVersion\":{\"counter\":3,\"stateVersion\":0,\"timestamp\":1700000000000},\n\t\"offsetTable\":{\n\t\t\"TopicTest@please_rename_unique_group_name_4\":{0:250,1:249,2:250,3:251}\n\t}\n}"[..],
        ),
        seed("quoted", &br#"{"offsetTable":{"T@g":{"0":5}}}"#[..]),
        seed("empty", &br#"{"offsetTable":null}"#[..]),
    ]
}

fn mirror_state_seeds() -> Seeds {
    use ferromq_mirror::map::QueueMap;
    use ferromq_mirror::state::{
        Applied, GroupQueueKey, MirrorState, QueueKey, QueueState, StateDir,
    };
    let key = |t: &str, q: i32| QueueKey {
        topic: t.into(),
        broker: "broker-a".into(),
        queue_id: q,
    };
    let mut map = QueueMap::starting_at(100, 500);
    map.record_run(100, 500, 10).expect("run");
    map.record_run(115, 520, 5).expect("run");
    let mut s = MirrorState {
        source_namesrv: "src:9876".into(),
        target_namesrv: "tgt:9876".into(),
        failed_over_at: Some(1_700_000_000_000),
        ..MirrorState::default()
    };
    s.queues.insert(
        key("orders", 0),
        QueueState {
            target_broker: "broker-b".into(),
            map,
            error: None,
            aliases: QueueMap::starting_at(0, 0),
        },
    );
    s.queues.insert(
        key("orders", 1),
        QueueState {
            error: Some("topic missing on target".into()),
            ..QueueState::new("broker-b")
        },
    );
    s.applied.insert(
        GroupQueueKey {
            group: "g1".into(),
            queue: key("orders", 0),
        },
        Applied { src: 112, tgt: 520 },
    );
    // The file exactly as the mirror writes it.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, _) = StateDir::open(tmp.path()).expect("state dir");
    dir.save(&s).expect("save");
    let file = std::fs::read(tmp.path().join(ferromq_mirror::state::STATE_FILE)).expect("read");
    let payload = serde_json::to_vec(&s).expect("json");
    assert_eq!(file, frame_mirror_state(&payload), "header layout changed");
    vec![
        seed("file", [&[0u8][..], &file].concat()),
        seed("payload", [&[1u8][..], &payload].concat()),
        seed(
            "empty-state",
            [
                &[1u8][..],
                &serde_json::to_vec(&MirrorState::default()).expect("json"),
            ]
            .concat(),
        ),
    ]
}

/// Journal lines and directories written by a real `PopTable` (deliveries, an ack, a window
/// change, a commit) and a compacted generation written by `Journal`.
fn pop_journal_seeds() -> Seeds {
    use ferromq_pop::journal::{Journal, Record};
    use ferromq_pop::{PopConfig, PopRequest, PopTable};
    use ferromq_protocol::body::progress::QueueKey;
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = PopConfig::new(tmp.path().to_path_buf(), false);
    let table = PopTable::open(cfg).expect("open POP table");
    let req = PopRequest {
        now_ms: 1_700_000_000_000,
        invisible_ms: 30_000,
        max: 4,
        fifo: false,
        max_attempts: 3,
    };
    let fresh = |from: i64, max: usize| ((from..from + max as i64).collect(), from + max as i64);
    for q in 0..2 {
        let key = QueueKey::new("G", "T", q);
        let got = table.pop(&key, || None, || 0, &req, fresh).expect("pop");
        table.ack(&key, || None, &got[0].handle).expect("ack");
        table
            .change_invisible(&key, || None, &got[1].handle, req.now_ms, 1000)
            .expect("change invisible");
        if let Some(c) = table.begin_commit(&key) {
            table.end_commit(&c, true).expect("commit");
        }
    }
    drop(table);
    let journal = std::fs::read(tmp.path().join("journal-0.log")).expect("journal written");
    // The JSON alone of each line (modes with bit 1 compute the CRC prefix).
    let json_only: Vec<u8> = journal
        .split(|&b| b == b'\n')
        .filter(|l| l.len() > 9)
        .flat_map(|l| l[9..].iter().copied().chain([b'\n']))
        .collect();
    let dir = |mode: u8, snapshot: &[u8], lines: &[u8]| {
        let mut b = vec![mode];
        b.extend_from_slice(&(snapshot.len() as u16).to_be_bytes());
        b.extend_from_slice(snapshot);
        b.extend_from_slice(lines);
        b
    };
    // A compacted generation: snapshot.json plus journal-1.log.
    let gen = tempfile::tempdir().expect("temp dir");
    let (mut j, image) = Journal::open(gen.path()).expect("open journal");
    let key = QueueKey::new("G", "T", 0);
    j.append(&Record::Reset {
        key: key.clone(),
        epoch: 1,
        base: 5,
        unrecorded: true,
    })
    .expect("append");
    let queues = vec![(key.clone(), ferromq_pop::QueueState::starting_at(5, 1))];
    j.compact(image.next_seq.max(9), queues).expect("compact");
    j.append(&Record::Forget { key }).expect("append");
    drop(j);
    let snapshot = std::fs::read(gen.path().join("snapshot.json")).expect("snapshot");
    let journal1 = std::fs::read(gen.path().join("journal-1.log")).expect("journal 1");
    vec![
        seed("lines", [&[0u8][..], &journal].concat()),
        seed("lines-json", [&[2u8][..], &json_only].concat()),
        seed("dir", dir(1, &[], &journal)),
        seed("dir-json", dir(3, &[], &json_only)),
        seed("dir-torn", dir(1, &[], &journal[..journal.len() - 7])),
        seed("dir-snapshot", dir(1, &snapshot, &journal1)),
    ]
}

/// The users-and-ACLs file as the store writes it, admin bodies, a signed gRPC header.
fn auth_seeds() -> Seeds {
    use ferromq_auth::model::{Action, Decision, Policy, PolicyEntry, PolicyType, UserInfo};
    use ferromq_auth::model::{UserStatus, UserType};
    use ferromq_auth::{Acl, AuthStore, Resource};
    let store = AuthStore::default();
    let info = UserInfo {
        username: Some("alice".into()),
        password: Some("secret".into()),
        user_type: Some(UserType::Normal),
        user_status: Some(UserStatus::Enable),
    };
    store.create_user(&info).expect("create user");
    let acl = Acl {
        subject: "User:alice".into(),
        policies: vec![Policy {
            policy_type: PolicyType::Custom,
            entries: vec![
                PolicyEntry {
                    resource: Resource::parse("Topic:ord*").expect("resource"),
                    actions: vec![Action::Pub, Action::Sub],
                    source_ips: vec!["10.0.0.0/8".into(), "127.0.0.1".into()],
                    decision: Decision::Allow,
                },
                PolicyEntry {
                    resource: Resource::parse("Group:g1").expect("resource"),
                    actions: vec![Action::Sub],
                    source_ips: vec![],
                    decision: Decision::Deny,
                },
            ],
        }],
    };
    store.put_acl(&acl).expect("put acl");
    let signature = ferromq_auth::signature::sign_grpc("secret", "20261207T000000Z");
    let header = format!(
        "MQv2-HMAC-SHA1 Credential=alice/Rocketmq, SignedHeaders=x-mq-date-time, Signature={signature}"
    );
    vec![
        seed("file", [&[0u8][..], &store.to_json()].concat()),
        seed("user-info", [&[1u8][..], &json(&info)].concat()),
        seed(
            "acl-info",
            [
                &[2u8][..],
                &json(&acl),
                b"\nTopic:orders 10.1.2.3\nGroup:g1 127.0.0.1\n*",
            ]
            .concat(),
        ),
        seed("grpc-header", [&[3u8][..], header.as_bytes()].concat()),
        seed(
            "names",
            &b"\x04Topic:ord*,Group:g1,Cluster:c,*,Topic:,10.0.0.0/8,::1,10.*,Pub,sub,All"[..],
        ),
    ]
}

/// One request of each type the gRPC endpoint serves, encoded with prost.
fn grpc_request_seeds() -> Seeds {
    use ferromq_protocol::grpc::*;
    use prost::Message as _;
    let res = |name: &str| Resource {
        resource_namespace: String::new(),
        name: name.into(),
    };
    let ts = prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 5_000_000,
    };
    let dur = |s: i64| prost_types::Duration {
        seconds: s,
        nanos: 0,
    };
    let handle = ferromq_pop::ReceiptHandle {
        queue_id: 3,
        offset: 42,
        seq: 7,
        epoch: 1,
    }
    .to_string();
    let message = Message {
        topic: Some(res("T")),
        user_properties: [("k".to_string(), "v".to_string())].into(),
        system_properties: Some(SystemProperties {
            tag: Some("TagA".into()),
            keys: vec!["key1".into(), "key2".into()],
            message_id: "01ABCDEF".into(),
            message_type: MessageType::Delay as i32,
            born_timestamp: Some(ts),
            born_host: "10.0.0.1".into(),
            delivery_timestamp: Some(ts),
            message_group: Some("g".into()),
            ..SystemProperties::default()
        }),
        body: bytes::Bytes::from_static(b"hello"),
    };
    let encoded = |kind: u8, m: &dyn Fn() -> Vec<u8>| [vec![kind], m()].concat();
    vec![
        seed(
            "00-route",
            encoded(0, &|| {
                QueryRouteRequest {
                    topic: Some(res("T")),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "01-heartbeat",
            encoded(1, &|| {
                HeartbeatRequest {
                    group: Some(res("G")),
                    client_type: ClientType::PushConsumer as i32,
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "02-send",
            encoded(2, &|| {
                SendMessageRequest {
                    messages: vec![message.clone()],
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "03-receive",
            encoded(3, &|| {
                ReceiveMessageRequest {
                    group: Some(res("G")),
                    batch_size: 32,
                    invisible_duration: Some(dur(30)),
                    long_polling_timeout: Some(dur(20)),
                    auto_renew: true,
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "04-ack",
            encoded(4, &|| {
                AckMessageRequest {
                    group: Some(res("G")),
                    topic: Some(res("T")),
                    entries: vec![AckMessageEntry {
                        message_id: "01ABCDEF".into(),
                        receipt_handle: handle.clone(),
                        ..Default::default()
                    }],
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "05-change-invisible",
            encoded(5, &|| {
                ChangeInvisibleDurationRequest {
                    group: Some(res("G")),
                    topic: Some(res("T")),
                    receipt_handle: handle.clone(),
                    invisible_duration: Some(dur(10)),
                    message_id: "01ABCDEF".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "06-dead-letter",
            encoded(6, &|| {
                ForwardMessageToDeadLetterQueueRequest {
                    group: Some(res("G")),
                    topic: Some(res("T")),
                    receipt_handle: handle.clone(),
                    message_id: "01ABCDEF".into(),
                    delivery_attempt: 4,
                    max_delivery_attempts: 3,
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "07-end-transaction",
            encoded(7, &|| {
                EndTransactionRequest {
                    topic: Some(res("T")),
                    message_id: "01ABCDEF".into(),
                    transaction_id: "tx".into(),
                    resolution: TransactionResolution::Commit as i32,
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "08-assignment",
            encoded(8, &|| {
                QueryAssignmentRequest {
                    topic: Some(res("T")),
                    group: Some(res("G")),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "09-terminate",
            encoded(9, &|| {
                NotifyClientTerminationRequest {
                    group: Some(res("G")),
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "10-recall",
            encoded(10, &|| {
                RecallMessageRequest {
                    topic: Some(res("T")),
                    recall_handle: "recall".into(),
                }
                .encode_to_vec()
            }),
        ),
        seed(
            "11-telemetry",
            encoded(11, &|| {
                TelemetryCommand {
                    command: Some(telemetry_command::Command::Settings(Settings {
                        client_type: Some(ClientType::SimpleConsumer as i32),
                        request_timeout: Some(dur(3)),
                        pub_sub: Some(settings::PubSub::Subscription(Subscription {
                            group: Some(res("G")),
                            subscriptions: vec![SubscriptionEntry {
                                topic: Some(res("T")),
                                expression: Some(FilterExpression {
                                    r#type: FilterType::Tag as i32,
                                    expression: "TagA || TagB".into(),
                                }),
                            }],
                            fifo: Some(true),
                            receive_batch_size: Some(16),
                            long_polling_timeout: Some(dur(20)),
                            ..Default::default()
                        })),
                        ..Default::default()
                    })),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
    ]
}

fn main() {
    let (store_dir, consume_queue) = store_seeds();
    let out_dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "seeds".into()));
    let all: Vec<(&str, Seeds)> = vec![
        ("frame", frame_seeds()),
        ("header_json", header_json_seeds()),
        ("header_binary", header_binary_seeds()),
        ("fastjson", fastjson_seeds()),
        ("bodies", body_seeds()),
        ("message_record", message_seeds()),
        ("consume_queue", consume_queue),
        ("store_dir", store_dir),
        ("offset_log", offset_log_seeds()),
        ("offsets_json", offsets_json_seeds()),
        ("mirror_state", mirror_state_seeds()),
        ("pop_journal", pop_journal_seeds()),
        ("auth", auth_seeds()),
        ("grpc_request", grpc_request_seeds()),
    ];
    for (target, seeds) in all {
        let dir = out_dir.join(target);
        std::fs::create_dir_all(&dir).expect("create seed dir");
        let mut total = 0;
        for (name, bytes) in seeds {
            total += bytes.len();
            std::fs::write(dir.join(name), bytes).expect("write seed");
        }
        println!("{target}: {total} bytes");
    }
}
