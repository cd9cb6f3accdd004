//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::message::{decode_record, encode_record, tags_code, NewMessage};
use ferromq_store::{AppendRecord, FlushMode, MessageStore, StoreConfig, WriteMode};

pub fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        root: root.to_path_buf(),
        segment_size: 64 * 1024,
        cq_entries_per_file: 16,
        flush: FlushMode::Async {
            interval: Duration::from_millis(50),
        },
        retention: Duration::from_secs(3600),
        max_message_size: 16 * 1024,
        write_mode: write_mode(),
        ..StoreConfig::default()
    }
}

/// `tests/pwrite_mode.rs` includes the behaviour tests as its modules (`pwrite_mode::basic::common`
/// is then this module): there every store writes with `pwrite`, elsewhere the default applies.
pub fn write_mode() -> WriteMode {
    if module_path!().starts_with("pwrite_mode::") {
        WriteMode::Pwrite
    } else {
        WriteMode::Auto
    }
}

pub fn open(root: &Path) -> Arc<MessageStore> {
    MessageStore::open(config(root)).expect("open store")
}

pub fn record(topic: &str, queue_id: i32, body: &[u8], tag: Option<&str>) -> AppendRecord {
    let props = tag
        .map(|t| format!("TAGS\u{1}{t}\u{2}"))
        .unwrap_or_default();
    let m = NewMessage {
        topic: topic.into(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:5555".parse().unwrap(),
        store_host: "10.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        properties: props,
    };
    let mut bytes = Vec::new();
    encode_record(&m, &mut bytes).unwrap();
    AppendRecord {
        bytes,
        topic: topic.into(),
        queue_id,
        tags_code: tags_code(tag),
    }
}

/// Decodes a get body into (queue offset, body) pairs.
pub fn decode(body: &Bytes) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = body.clone();
    while !rest.is_empty() {
        let (m, used) = decode_record(&rest).expect("valid record");
        out.push((m.queue_offset, m.body.to_vec()));
        rest = rest.slice(used..);
    }
    out
}

pub fn all(_topic: i64) -> bool {
    true
}

/// Every body in a queue, read with repeated gets.
pub fn read_all(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut off = store.min_offset(topic, queue_id);
    loop {
        let r = store.get(topic, queue_id, off, 7, 1 << 20, &all);
        if r.count == 0 {
            break;
        }
        out.extend(decode(&r.body));
        off = r.next_begin_offset;
    }
    out
}

pub fn segments(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().len() == 20)
        .collect();
    v.sort();
    v
}
