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
    checkpoint_bytes, frame_mirror_state, offsets_flags, segment_header, store_flags, STORE_CQ_EPF,
    STORE_SEGMENT, STORE_TOPIC,
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

fn new_message(topic: &str, queue_id: i32, body: &[u8], props: &str) -> NewMessage {
    NewMessage {
        topic: topic.into(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:5555".parse().expect("literal"),
        store_host: "10.0.0.1:10911".parse().expect("literal"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        properties: props.into(),
    }
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
