//! The gRPC endpoint under bad input, through a raw tonic client (what no real client would
//! send): malformed protobuf, zero and huge batches, absurd windows and long polls, forged,
//! never-issued and outdated receipt handles, RPCs ferromq does not serve, a Telemetry stream
//! that never sends settings, and a receive cancelled while it waits. Each gets a status with a
//! message at once; nothing hangs, nothing stored or acked is lost.

use crate::common;

use std::time::{Duration, Instant};

use common::grpc::{connect, receive, receive_req, res, secs, send, Client};
use common::{runtime, Server};
use ferromq_protocol::grpc::messaging_service_client::MessagingServiceClient;
use ferromq_protocol::grpc::{
    receive_message_response::Content, AckMessageEntry, AckMessageRequest,
    ChangeInvisibleDurationRequest, Code, EndTransactionRequest, GetOffsetRequest, Message,
    MessageType, PullMessageRequest, RecallMessageRequest, ReceiveMessageResponse,
    SendMessageRequest, SystemProperties, TelemetryCommand, TransactionResolution,
    TransactionSource,
};
use ferromq_protocol::RemotingCommand;
use tonic::transport::Channel;

fn first_status(rs: &[ReceiveMessageResponse]) -> (i32, String) {
    match rs.first().and_then(|r| r.content.clone()) {
        Some(Content::Status(s)) => (s.code, s.message),
        other => panic!("first frame is not a status: {other:?}"),
    }
}

fn handles(rs: &[ReceiveMessageResponse]) -> Vec<String> {
    rs.iter()
        .filter_map(|r| match &r.content {
            Some(Content::Message(m)) => m
                .system_properties
                .as_ref()
                .and_then(|s| s.receipt_handle.clone()),
            _ => None,
        })
        .collect()
}

async fn ack(c: &mut Client, topic: &str, group: &str, handle: &str) -> (i32, String) {
    let r = c
        .ack_message(AckMessageRequest {
            group: res(group),
            topic: res(topic),
            entries: vec![AckMessageEntry {
                message_id: "m".into(),
                receipt_handle: handle.into(),
                lite_topic: None,
            }],
        })
        .await
        .expect("ack")
        .into_inner();
    let s = r.entries[0].status.clone().unwrap_or_default();
    (s.code, s.message)
}

#[test]
fn requests_out_of_range_get_a_status_with_a_message() {
    let server = Server::standalone(&[]);
    runtime().block_on(async {
        let mut c = connect(&server).await;
        send(&mut c, "BadIn", "one").await;
        for (req, code) in [
            (receive_req("BadIn", "g", 0, 10, 0), Code::BadRequest),
            (receive_req("BadIn", "g", 100_000, 10, 0), Code::BadRequest),
            // More than upstream's broker pops at once.
            (receive_req("BadIn", "g", 33, 10, 0), Code::BadRequest),
            (
                receive_req("BadIn", "g", 1, 400 * 24 * 3600, 0),
                Code::IllegalInvisibleTime,
            ),
            (
                receive_req("BadIn", "g", 1, 0, 0),
                Code::IllegalInvisibleTime,
            ),
            (
                receive_req("BadIn", "g", 1, 10, 3600),
                Code::IllegalPollingTime,
            ),
            (
                receive_req("BadIn", "", 1, 10, 0),
                Code::IllegalConsumerGroup,
            ),
            (receive_req("Bad In!", "g", 1, 10, 0), Code::TopicNotFound),
        ] {
            let rs = receive(&mut c, req.clone()).await;
            let (got, msg) = first_status(&rs);
            assert_eq!(got, code as i32, "{req:?}: {msg}");
            assert!(!msg.is_empty());
            assert_eq!(rs.len(), 1, "only the status");
        }
        // The message is still there for a valid request.
        let rs = receive(&mut c, receive_req("BadIn", "g", 32, 10, 0)).await;
        assert_eq!(handles(&rs).len(), 1, "{rs:?}");
        // Delay messages without a time, or with one more than 3 days away.
        let now = ferromq_protocol::time::now_ms() / 1000;
        for at in [None, Some(now + 4 * 24 * 3600)] {
            let sent = c
                .send_message(SendMessageRequest {
                    messages: vec![Message {
                        topic: res("BadIn"),
                        user_properties: Default::default(),
                        system_properties: Some(SystemProperties {
                            message_id: "id-timed".into(),
                            message_type: MessageType::Delay as i32,
                            delivery_timestamp: at
                                .map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
                            ..SystemProperties::default()
                        }),
                        body: bytes::Bytes::from_static(b"timed"),
                    }],
                })
                .await
                .expect("send")
                .into_inner();
            let status = sent.status.expect("status");
            assert_eq!(
                status.code,
                Code::IllegalDeliveryTime as i32,
                "{at:?}: {status:?}"
            );
            assert!(!status.message.is_empty());
        }
        // RecallMessage with a forged handle, or one for a time already past.
        for (handle, code) in [
            ("forged".to_string(), Code::BadRequest),
            (
                ferromq_protocol::recall::RecallHandle {
                    topic: "BadIn".into(),
                    broker_name: "broker-a".into(),
                    deliver_ms: 10,
                    message_id: "someid".into(),
                }
                .encode(),
                Code::MessageNotFound,
            ),
        ] {
            let r = c
                .recall_message(RecallMessageRequest {
                    topic: res("BadIn"),
                    recall_handle: handle.clone(),
                })
                .await
                .expect("recall")
                .into_inner();
            let status = r.status.expect("status");
            assert_eq!(status.code, code as i32, "{handle}: {status:?}");
            assert!(!status.message.is_empty());
        }
        // EndTransaction with a forged id, or one naming no half message.
        for (id, code) in [
            ("forged", Code::InvalidTransactionId),
            ("fmqtx1-0-0", Code::InternalError),
        ] {
            let r = c
                .end_transaction(EndTransactionRequest {
                    topic: res("BadIn"),
                    message_id: "m".into(),
                    transaction_id: id.into(),
                    resolution: TransactionResolution::Commit as i32,
                    source: TransactionSource::SourceClient as i32,
                    trace_context: String::new(),
                })
                .await
                .expect("end transaction")
                .into_inner();
            let status = r.status.expect("status");
            assert_eq!(status.code, code as i32, "{id}: {status:?}");
            assert!(!status.message.is_empty());
        }
    });
}

#[test]
fn forged_unknown_and_outdated_receipt_handles_are_refused() {
    let server = Server::standalone(&[]);
    runtime().block_on(async {
        let mut c = connect(&server).await;
        send(&mut c, "Handles", "h").await;
        for forged in [
            "",
            "garbage",
            "fmq1-zz-0-1-0",
            "fmq1-0-0-1",
            &"f".repeat(10_000),
        ] {
            let (code, msg) = ack(&mut c, "Handles", "g", forged).await;
            assert_eq!(
                code,
                Code::InvalidReceiptHandle as i32,
                "{forged:.20}: {msg}"
            );
        }
        // Well-formed, but never handed out to this group.
        let (code, msg) = ack(&mut c, "Handles", "g", "fmq1-0-64-1-0").await;
        assert_eq!(code, Code::InvalidReceiptHandle as i32, "{msg}");
        // Delivered, not acked within 1 s, delivered again: the first handle is outdated.
        let first = handles(&receive(&mut c, receive_req("Handles", "g", 1, 1, 0)).await);
        assert_eq!(first.len(), 1);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let second = handles(&receive(&mut c, receive_req("Handles", "g", 1, 30, 2)).await);
        assert_eq!(second.len(), 1, "redelivered after its window");
        let (code, msg) = ack(&mut c, "Handles", "g", &first[0]).await;
        assert_eq!(code, Code::InvalidReceiptHandle as i32, "{msg}");
        assert!(msg.contains("expired"), "{msg}");
        let changed = c
            .change_invisible_duration(ChangeInvisibleDurationRequest {
                group: res("g"),
                topic: res("Handles"),
                receipt_handle: first[0].clone(),
                invisible_duration: secs(5),
                message_id: "m".into(),
                lite_topic: None,
                suspend: None,
            })
            .await
            .expect("change")
            .into_inner();
        assert_eq!(
            changed.status.map(|s| s.code),
            Some(Code::InvalidReceiptHandle as i32)
        );
        assert_eq!(
            ack(&mut c, "Handles", "g", &second[0]).await.0,
            Code::Ok as i32
        );
        // Acked twice: answered, nothing changes.
        assert_eq!(
            ack(&mut c, "Handles", "g", &second[0]).await.0,
            Code::Ok as i32
        );
    });
}

#[test]
fn unserved_rpcs_answer_unimplemented_at_once() {
    let server = Server::standalone(&[]);
    runtime().block_on(async {
        let mut c = connect(&server).await;
        let t = Instant::now();
        let e = c
            .get_offset(GetOffsetRequest::default())
            .await
            .expect_err("GetOffset is not served");
        assert_eq!(e.code(), tonic::Code::Unimplemented);
        assert!(e.message().contains("GetOffset"), "{}", e.message());
        let e = c
            .pull_message(PullMessageRequest::default())
            .await
            .expect_err("PullMessage is not served");
        assert_eq!(e.code(), tonic::Code::Unimplemented);
        assert!(t.elapsed() < Duration::from_secs(2));
    });
}

/// Bytes that are not a SendMessageRequest: field 1 (the messages) holds an invalid varint.
#[derive(Clone, PartialEq, prost::Message)]
struct Junk {
    #[prost(bytes = "vec", tag = "1")]
    messages: Vec<u8>,
}

#[test]
fn malformed_protobuf_gets_a_status_and_the_endpoint_goes_on() {
    let server = Server::standalone(&[]);
    runtime().block_on(async {
        let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.expect("ready");
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/apache.rocketmq.v2.MessagingService/SendMessage",
        );
        let codec =
            tonic_prost::ProstCodec::<Junk, ferromq_protocol::grpc::SendMessageResponse>::default();
        let e = grpc
            .unary(
                tonic::Request::new(Junk {
                    messages: vec![0xff; 12],
                }),
                path,
                codec,
            )
            .await
            .expect_err("not a SendMessageRequest");
        assert_ne!(e.code(), tonic::Code::Ok);
        assert!(!e.message().is_empty());
        // The endpoint still serves.
        let mut c = MessagingServiceClient::new(channel);
        send(&mut c, "AfterJunk", "fine").await;
    });
}

/// A Telemetry stream that never sends settings holds nothing else up; a receive cancelled
/// while it waits loses no message.
#[test]
fn silent_telemetry_and_cancelled_receives_hold_nothing_up() {
    let server = Server::standalone(&[]);
    runtime().block_on(async {
        let mut c = connect(&server).await;
        let (_tx, rx) = tokio::sync::mpsc::channel::<TelemetryCommand>(1);
        let mut silent = c.clone();
        let telemetry = tokio::spawn(async move {
            silent
                .telemetry(tokio_stream_from(rx))
                .await
                .map(|r| r.into_inner())
        });
        // A receive waits 5 s for messages; cancel it after 300 ms.
        let mut waiting = c.clone();
        let cancelled = tokio::spawn(async move {
            receive(&mut waiting, receive_req("Cancel", "g", 4, 2, 5)).await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancelled.abort();
        let t = Instant::now();
        send(&mut c, "Cancel", "kept").await;
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "sends are not held up"
        );
        // The message comes to the next receive (at once, or after a 2 s window if the cancelled
        // receive took it before it went away).
        let rs = receive(&mut c, receive_req("Cancel", "g", 4, 10, 5)).await;
        let rs = if handles(&rs).is_empty() {
            receive(&mut c, receive_req("Cancel", "g", 4, 10, 5)).await
        } else {
            rs
        };
        assert_eq!(handles(&rs).len(), 1, "{rs:?}");
        telemetry.abort();
    });
}

fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<TelemetryCommand>,
) -> impl futures::Stream<Item = TelemetryCommand> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
}

/// CONSUME_MESSAGE_DIRECTLY (mqadmin `queryMsgById -d`) for a gRPC consumer becomes a
/// VerifyMessageCommand on its Telemetry stream; the client's VerifyMessageResult, matched by
/// nonce, is answered in upstream's ConsumeMessageDirectlyResult shape. A client that never
/// answers costs the asker the relay timeout, nothing more.
#[test]
fn verify_message_is_relayed_over_telemetry_by_nonce() {
    use ferromq_protocol::grpc::{
        settings, telemetry_command::Command, ClientType, Settings, Status, Subscription,
        SubscriptionEntry, VerifyMessageResult,
    };
    let server = Server::standalone(&[]);
    runtime().block_on(async {
        let mut c = connect(&server).await;
        let remoting = std::sync::Arc::new(ferromq_client::MqClient::new(
            &server.namesrv_addr(),
            Duration::from_secs(10),
        ));
        let sent = remoting
            .send(
                &server.broker_addr(),
                "P",
                "Verify",
                0,
                "check-me".into(),
                "",
            )
            .await
            .expect("send");
        let (tx, rx) = tokio::sync::mpsc::channel::<TelemetryCommand>(4);
        let mut req = tonic::Request::new(tokio_stream_from(rx));
        req.metadata_mut()
            .insert("x-mq-client-id", "fake-consumer-1".parse().unwrap());
        let mut from_broker = c.telemetry(req).await.expect("telemetry").into_inner();
        let settings = Settings {
            client_type: Some(ClientType::PushConsumer as i32),
            pub_sub: Some(settings::PubSub::Subscription(Subscription {
                group: res("VerifyG"),
                subscriptions: vec![SubscriptionEntry {
                    topic: res("Verify"),
                    expression: None,
                }],
                ..Subscription::default()
            })),
            ..Settings::default()
        };
        tx.send(TelemetryCommand {
            status: None,
            command: Some(Command::Settings(settings)),
        })
        .await
        .unwrap();
        from_broker.message().await.expect("applied settings");
        let ask = |remoting: std::sync::Arc<ferromq_client::MqClient>| {
            let (broker, msg_id) = (server.broker_addr(), sent.msg_id.clone());
            async move {
                let cmd = RemotingCommand::request(309)
                    .with_ext("consumerGroup", "VerifyG")
                    .with_ext("clientId", "fake-consumer-1")
                    .with_ext("msgId", msg_id);
                remoting
                    .remoting
                    .invoke_raw(&broker, cmd)
                    .await
                    .expect("relay")
            }
        };
        let asking = tokio::spawn(ask(remoting.clone()));
        let question = from_broker
            .message()
            .await
            .expect("stream")
            .expect("a command");
        let Some(Command::VerifyMessageCommand(v)) = question.command else {
            panic!("expected a VerifyMessageCommand: {question:?}");
        };
        assert_eq!(
            v.message.as_ref().map(|m| &m.body[..]),
            Some(&b"check-me"[..])
        );
        // An answer under another nonce is not taken for it.
        for nonce in ["not-asked".to_string(), v.nonce.clone()] {
            tx.send(TelemetryCommand {
                status: Some(Status {
                    code: Code::Ok as i32,
                    message: String::new(),
                }),
                command: Some(Command::VerifyMessageResult(VerifyMessageResult { nonce })),
            })
            .await
            .unwrap();
        }
        let answer = asking.await.unwrap();
        assert_eq!(answer.code, 0, "{answer:?}");
        let body = String::from_utf8_lossy(&answer.body).to_string();
        assert!(body.contains("CR_SUCCESS"), "{body}");
        // Asked again, the client stays silent: the relay gives up with a remark.
        let t = Instant::now();
        let silent = ask(remoting).await;
        assert_ne!(silent.code, 0);
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "bounded by the relay timeout"
        );
    });
}
