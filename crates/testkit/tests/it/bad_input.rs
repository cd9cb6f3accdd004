//! Bad input never panics the broker and never costs stored data: malformed frames close the
//! connection, bad headers and bodies get a response code and a remark naming the problem.

use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::{frame, RemotingCommand, SerializeType};
use ferromq_testkit::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes raw bytes and reports whether the server closed the connection.
async fn closed_after(addr: &str, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn malformed_frames_close_the_connection_and_keep_data() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new("Keep", 1))
        .await
        .unwrap();
    client
        .send(&addr, "P", "Keep", 0, Bytes::from_static(b"precious"), "")
        .await
        .unwrap();

    // Header length larger than the frame.
    assert!(closed_after(&addr, &[0, 0, 0, 8, 0, 0, 0, 200, 1, 2, 3, 4]).await);
    // Not JSON in a JSON header.
    assert!(closed_after(&addr, &[0, 0, 0, 7, 0, 0, 0, 3, b'{', b'x', b'}']).await);
    // Unknown serialize type.
    assert!(closed_after(&addr, &[0, 0, 0, 4, 9, 0, 0, 0]).await);
    // A frame over the 16 MiB limit is refused before it is read.
    assert!(closed_after(&addr, &(17u32 * 1024 * 1024).to_be_bytes()).await);
    // A frame too short to hold the header-length word, on the broker and the name server.
    for addr in [&addr, &c.namesrv_addr] {
        assert!(closed_after(addr, &[0, 0, 0, 2, 0, 0]).await);
    }

    // The broker still serves, and the stored message is intact.
    let p = requests::Pull {
        group: "G",
        topic: "Keep",
        queue_id: 0,
        offset: 0,
        max_msgs: 1,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let got = client.pull(&addr, &p).await.unwrap();
    assert_eq!(&got.messages[0].body[..], b"precious");
    c.shutdown().await;
}

#[tokio::test]
async fn bad_headers_get_codes_naming_the_field() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new("H", 1))
        .await
        .unwrap();
    let cases = [
        (
            RemotingCommand::request(rq::PULL_MESSAGE).with_ext("topic", "H"),
            rs::INVALID_PARAMETER,
            "consumerGroup",
        ),
        (
            requests::query_consumer_offset("G", "H", 0).with_ext("queueId", "zero"),
            rs::INVALID_PARAMETER,
            "queueId",
        ),
        (
            RemotingCommand::request(rq::SEND_MESSAGE_V2)
                .with_ext("a", "P")
                .with_ext("b", "H"),
            rs::INVALID_PARAMETER,
            "'e'",
        ),
        (
            requests::send_v2("P", "bad topic!", 0, Bytes::new(), ""),
            rs::INVALID_PARAMETER,
            "topic",
        ),
        (
            requests::update_consumer_offset("G", "H", 0, -5),
            rs::INVALID_PARAMETER,
            "commitOffset",
        ),
        (
            RemotingCommand::request(rq::HEART_BEAT).with_body(&b"{not json"[..]),
            rs::SYSTEM_ERROR,
            "malformed",
        ),
        (
            RemotingCommand::request(rq::LOCK_BATCH_MQ).with_body(&b"[1,2"[..]),
            rs::SYSTEM_ERROR,
            "malformed",
        ),
        (
            RemotingCommand::request(rq::SEND_BATCH_MESSAGE)
                .with_ext("b", "H")
                .with_ext("e", 0)
                .with_body(&b"\x00\x00\x00\x30xx"[..]),
            rs::MESSAGE_ILLEGAL,
            "batch",
        ),
        (
            RemotingCommand::request(rq::CONSUMER_SEND_MSG_BACK)
                .with_ext("group", "G")
                .with_ext("offset", -1),
            rs::SYSTEM_ERROR,
            "offset",
        ),
    ];
    for (req, code, needle) in cases {
        let what = format!("{req:?}");
        let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
        assert_eq!(r.code, code, "{what}: {:?}", r.remark);
        let remark = r.remark.unwrap_or_default();
        assert!(
            remark.contains(needle),
            "remark {remark:?} should name {needle}"
        );
    }
    // A body over the message-size limit (4 MiB) but under the frame limit.
    let big = Bytes::from(vec![b'x'; 5 * 1024 * 1024]);
    let r = client
        .remoting
        .invoke_raw(&addr, requests::send_v2("P", "H", 0, big, ""))
        .await
        .unwrap();
    assert_eq!(r.code, rs::MESSAGE_ILLEGAL);
    assert_eq!(
        client.max_offset(&addr, "H", 0).await.unwrap(),
        0,
        "nothing stored"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn answers_in_the_request_encoding_and_honours_oneway() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let mut s = TcpStream::connect(&addr).await.unwrap();
    // A oneway request (no answer expected) followed by a binary-header request.
    let mut oneway = RemotingCommand::request(rq::GET_BROKER_RUNTIME_INFO).mark_oneway();
    oneway.opaque = 1;
    let mut binary = RemotingCommand::request(rq::GET_MAX_OFFSET)
        .with_ext("topic", "Nope")
        .with_ext("queueId", 0);
    binary.opaque = 2;
    binary.serialize_type = SerializeType::RocketMq;
    s.write_all(&frame::encode_frame(&oneway)).await.unwrap();
    s.write_all(&frame::encode_frame(&binary)).await.unwrap();
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len))
        .await
        .unwrap()
        .unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).await.unwrap();
    let resp = frame::decode_frame(Bytes::from(rest)).unwrap();
    assert_eq!(
        resp.opaque, 2,
        "the oneway request got no answer; this is the second one's"
    );
    assert!(resp.is_response());
    assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    assert_eq!(resp.ext("offset"), Some("0"));
    c.shutdown().await;
}
