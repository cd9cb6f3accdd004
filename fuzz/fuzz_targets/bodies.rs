//! Every JSON body ferromq parses from the network, through `ferromq_protocol::body::parse`
//! (what the broker, name server, client and mirror call). The first byte picks the type; the
//! rest is the body. Parsed values go through the methods their handlers call next.
#![no_main]

#[cfg(feature = "broker")]
use ferromq_broker::progress::model as pm;
use ferromq_protocol::body::{self, *};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn parse<T: DeserializeOwned>(b: &[u8]) -> Option<T> {
    body::parse::<T>(b).ok()
}

fn heartbeat(b: &[u8]) {
    let Some(hb) = parse::<HeartbeatData>(b) else {
        return;
    };
    for c in &hb.consumer_data_set {
        let _ = c.is_broadcasting();
        for s in &c.subscription_data_set {
            let mut s = s.clone();
            let _ = s.is_tag_type();
            s.fill_tags();
            let _ = s.matches_all();
            let _ = s.accepts_tag_code(0);
            let _ =
                s.accepts_tag_code(
                    ferromq_protocol::message::java_string_hash(&s.sub_string) as i64
                );
        }
    }
    let _ = body::to_vec(&hb);
}

fn topic_wrapper(w: &TopicConfigWrapper) {
    for (name, cfg) in &w.topic_config_table {
        let _ = (cfg.readable(), cfg.writable(), cfg.queue_count());
        let _ = ferromq_protocol::names::validate_topic(name);
    }
    let _ = body::to_vec(w);
}

fn register_broker(b: &[u8]) {
    // The name server's REGISTER_BROKER: the wrapped form, else the bare wrapper (old brokers).
    let Some(parsed) = parse::<RegisterBrokerBody>(b) else {
        return;
    };
    let w = if parsed
        .topic_config_serialize_wrapper
        .topic_config_table
        .is_empty()
    {
        parse::<TopicConfigWrapper>(b).unwrap_or(parsed.topic_config_serialize_wrapper)
    } else {
        parsed.topic_config_serialize_wrapper
    };
    topic_wrapper(&w);
}

fn mq_maps(b: &[u8]) {
    // Offset tables keyed by MessageQueue (fastjson object keys), e.g. reset-offset responses.
    let Some(v) = parse::<serde_json::Value>(b) else {
        return;
    };
    if let Some(obj) = v.as_object() {
        for inner in obj.values() {
            for (mq, val) in read_mq_map(inner) {
                let _ = (mq.topic.len(), val.as_i64());
            }
        }
    }
    for (mq, _) in read_mq_map(&v) {
        let _ = write_mq_map(&[(mq, 0i64)]);
    }
}

#[cfg(feature = "broker")]
fn import(b: &[u8]) {
    let Some(r) = parse::<pm::ImportRequest>(b) else {
        return;
    };
    if let Some(doc) = &r.rocketmq_json {
        let _ = ferromq_protocol::body::consumer_offset::parse(doc.as_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, b)) = data.split_first() else {
        return;
    };
    match kind % 28 {
        0 => heartbeat(b),
        1 => {
            if let Some(l) = parse::<LockBatchBody>(b) {
                let _ = l.mq_set.iter().map(|m| m.queue_id).max();
            }
        }
        2 => drop(parse::<LockBatchResponse>(b)),
        3 => drop(parse::<SubscriptionGroupConfig>(b)),
        4 => {
            if let Some(w) = parse::<TopicConfigWrapper>(b) {
                topic_wrapper(&w);
            }
        }
        5 => register_broker(b),
        6 => {
            if let Some(r) = parse::<TopicRouteData>(b) {
                let _ = r.broker_datas.iter().map(BrokerData::master_addr).count();
            }
        }
        7 => drop(parse::<ClusterInfo>(b)),
        8 => drop(parse::<ConsumerListBody>(b)),
        9 => drop(parse::<KvTable>(b)),
        10 => drop(parse::<TopicList>(b)),
        11 => drop(parse::<DataVersion>(b)),
        12 => drop(parse::<Vec<SyncOffsetEntry>>(b)),
        13 => mq_maps(b),
        14 => drop(parse::<TopicConfig>(b)),
        15 => drop(parse::<Vec<MessageQueue>>(b)),
        #[cfg(feature = "broker")]
        16..=26 => progress(kind % 28, b),
        #[cfg(not(feature = "broker"))]
        16..=26 => drop(parse::<serde_json::Value>(b)),
        _ => drop(parse::<ferromq_offsets::Change>(b)),
    }
});

/// The broker's progress requests and results (FERRO_* codes, `crate::progress::model`).
#[cfg(feature = "broker")]
fn progress(kind: u8, b: &[u8]) {
    match kind {
        16 => drop(parse::<pm::ResetRequest>(b)),
        17 => drop(parse::<pm::DescribeRequest>(b)),
        18 => drop(parse::<pm::HistoryRequest>(b)),
        19 => drop(parse::<pm::UndoRequest>(b)),
        20 => drop(parse::<pm::CloneRequest>(b)),
        21 => drop(parse::<pm::DeleteRequest>(b)),
        22 => import(b),
        23 => drop(parse::<pm::ExportRequest>(b)),
        24 => drop(parse::<pm::PlanResult>(b)),
        25 => drop(parse::<pm::HistoryResult>(b)),
        _ => drop(parse::<pm::GroupLag>(b)),
    }
}
