//! Apache RocketMQ consumerOffset.json documents: the shared parser, and importing into the store.

use crate::common;
use common::*;

use ferromq_protocol::body::consumer_offset::{
    parse as parse_rocketmq_offsets, ConsumerOffsetError,
};

/// 4.x: pretty-printed with tabs by fastjson, numeric keys unquoted.
const V4_PRETTY: &str = "{\n\t\"offsetTable\":{\n\t\t\"TopicTest@g1\":{0:250,1:251,\n\t\t\t2:252,3:253\n\t\t},\n\t\t\"%RETRY%g1@g1\":{0:0\n\t\t}\n\t}\n}";

/// 5.x compact (GET_ALL_CONSUMER_OFFSET shape) with the derived tables.
const V5_COMPACT: &str = r#"{"dataVersion":{"counter":1448,"stateVersion":0,"timestamp":1736661762584},"groupTopicMap":{"g1":["TopicTest","%RETRY%g1"]},"lmqOffsetTable":{},"offsetTable":{"TopicTest@g1":{0:37960,1:37961},"%RETRY%g1@g1":{0:3},"other@g2":{"7":9007199254740993}}}"#;

#[test]
fn parses_4x_pretty() {
    let v = parse_rocketmq_offsets(V4_PRETTY.as_bytes()).unwrap();
    assert_eq!(
        v,
        vec![
            (k("g1", "%RETRY%g1", 0), 0),
            (k("g1", "TopicTest", 0), 250),
            (k("g1", "TopicTest", 1), 251),
            (k("g1", "TopicTest", 2), 252),
            (k("g1", "TopicTest", 3), 253),
        ]
    );
}

#[test]
fn parses_5x_compact_ignoring_derived_tables() {
    let v = parse_rocketmq_offsets(V5_COMPACT.as_bytes()).unwrap();
    assert_eq!(
        v,
        vec![
            (k("g1", "%RETRY%g1", 0), 3),
            (k("g1", "TopicTest", 0), 37960),
            (k("g1", "TopicTest", 1), 37961),
            (k("g2", "other", 7), 9007199254740993),
        ]
    );
    assert!(parse_rocketmq_offsets(b"{}").unwrap().is_empty());
}

/// What a real Apache 5.5.0 broker wrote (its `pullOffsetTable` included), plus fields a newer
/// Apache might add at every level: the unknown ones are ignored, never a failure.
#[test]
fn a_newer_apache_document_keeps_its_offsets_and_ignores_unknown_fields() {
    let doc = br#"{
        "dataVersion":{"counter":0,"stateVersion":0,"timestamp":1796577646341,"epoch":7},
        "groupTopicMap":{"G1":["MigT"]},
        "offsetTable":{"MigT@G1":{0:10,1:10}},
        "pullOffsetTable":{"MigT@G1":{0:10,1:10},"MigT@ferromq-mirror":{0:10}},
        "resetOffsetTable":{"MigT@G1":{0:3}},
        "lmqOffsetTable":{},
        "someFutureTable":{"x@y":{"nested":[1,2,{"deep":true}]}},
        "someFutureFlag":true
    }"#;
    let v = parse_rocketmq_offsets(doc).unwrap();
    assert_eq!(v, vec![(k("G1", "MigT", 0), 10), (k("G1", "MigT", 1), 10)]);
}

#[test]
fn bad_keys_are_reported() {
    let doc = br#"{"offsetTable":{"ok@g":{0:1},"noseparator":{0:1},"a@b@c":{0:2},"@g":{0:3}}}"#;
    match parse_rocketmq_offsets(doc) {
        Err(ConsumerOffsetError::BadKeys { keys }) => {
            assert_eq!(keys.len(), 3, "{keys:?}");
            assert!(keys.contains(&"a@b@c".to_string()));
            assert!(keys.contains(&"noseparator".to_string()));
            assert!(keys.contains(&"@g".to_string()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_rocketmq_offsets(br#"{"offsetTable":{"t@g":{x:1}}}"#),
        Err(ConsumerOffsetError::Json { .. })
    ));
    assert!(matches!(
        parse_rocketmq_offsets(b"[1,2]"),
        Err(ConsumerOffsetError::Json { .. })
    ));
}

#[tokio::test]
async fn import_into_store() {
    let d = tempdir();
    let s = open(d.path());
    let v = parse_rocketmq_offsets(V5_COMPACT.as_bytes()).unwrap();
    s.commit(v.clone()).await.unwrap();
    assert_eq!(s.all(), v);
    assert_eq!(s.topics_of_group("g1"), vec!["%RETRY%g1", "TopicTest"]);
}
