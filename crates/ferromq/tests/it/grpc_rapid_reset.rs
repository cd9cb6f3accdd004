//! HTTP/2 "rapid reset" on the gRPC port, with a raw `h2` client: thousands of calls opened and
//! cancelled at once (RST_STREAM right after HEADERS), the pattern of CVE-2023-44487. The
//! endpoint closes such a connection with GOAWAY (ENHANCE_YOUR_CALM) after a bounded number of
//! resets, within milliseconds, and keeps serving: a message sent afterwards on a new
//! connection is stored and read back, and the broker's memory has not grown with the flood.

use crate::common;

use std::time::{Duration, Instant};

use common::{runtime, Server};
use ferromq_protocol::grpc::messaging_service_client::MessagingServiceClient;
use ferromq_protocol::grpc::{
    receive_message_response::Content, FilterExpression, FilterType, Message, MessageQueue,
    ReceiveMessageRequest, Resource, SendMessageRequest, SystemProperties,
};

const STREAMS: usize = 20_000;

fn res(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

/// Resident memory of a process, in KiB (`VmRSS` of `/proc/<pid>/status`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Opens up to `n` SendMessage calls on one connection and cancels each at once; returns how
/// many were opened, and why the connection ended if the endpoint closed it first.
async fn open_and_reset(addr: &str, n: usize) -> (usize, Option<String>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2c, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let conn = tokio::spawn(conn);
    let mut opened = 0;
    let mut ended = None;
    for _ in 0..n {
        if let Err(e) = futures::future::poll_fn(|cx| h2c.poll_ready(cx)).await {
            ended = Some(e.to_string());
            break;
        }
        let req = tonic::codegen::http::Request::post(format!(
            "http://{addr}/apache.rocketmq.v2.MessagingService/SendMessage"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
        match h2c.send_request(req, false) {
            Ok((answer, mut body)) => {
                body.send_reset(h2::Reason::CANCEL);
                drop(answer);
                opened += 1;
            }
            Err(e) => {
                ended = Some(e.to_string());
                break;
            }
        }
    }
    drop(h2c);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
    (opened, ended)
}

#[test]
fn rapid_reset_is_shed_and_the_endpoint_keeps_serving() {
    let server = Server::standalone(&[]);
    let addr = server.grpc_addr();
    let pid = server.pid().expect("broker pid");
    runtime().block_on(async {
        // Warm up: one flood so the allocator and the thread's tables are at their working size.
        open_and_reset(&addr, 2_000).await;
        let before = rss_kib(pid);
        let started = Instant::now();
        let (opened, ended) = open_and_reset(&addr, STREAMS).await;
        let took = started.elapsed();
        assert!(opened > 0, "no call could be opened");
        // h2 counts the resets and closes the connection (GOAWAY, ENHANCE_YOUR_CALM) long
        // before 20,000: measured 272-1,875 calls.
        assert!(
            ended.is_some() && opened < STREAMS,
            "the endpoint took {opened} reset calls without closing the connection"
        );
        assert!(
            took < Duration::from_secs(30),
            "{opened} resets took {took:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(pid);
        eprintln!(
            "{opened} calls opened and reset in {took:?} (connection ended: {ended:?}); \
             broker RSS {before} -> {after} KiB"
        );
        assert!(
            after < before + 32 * 1024,
            "RSS grew from {before} to {after} KiB over {opened} reset calls"
        );

        // A new connection is served, and what it sends is stored.
        let mut c = MessagingServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("connect after the flood");
        let sent = c
            .send_message(SendMessageRequest {
                messages: vec![Message {
                    topic: res("AfterReset"),
                    user_properties: Default::default(),
                    system_properties: Some(SystemProperties {
                        message_id: "after-reset".into(),
                        ..SystemProperties::default()
                    }),
                    body: bytes::Bytes::from_static(b"still here"),
                }],
            })
            .await
            .expect("send after the flood")
            .into_inner();
        assert_eq!(sent.entries.len(), 1, "{sent:?}");
        let mut got = c
            .receive_message(ReceiveMessageRequest {
                group: res("AfterResetGroup"),
                message_queue: Some(MessageQueue {
                    topic: res("AfterReset"),
                    id: -1,
                    ..MessageQueue::default()
                }),
                filter_expression: Some(FilterExpression {
                    r#type: FilterType::Tag as i32,
                    expression: "*".into(),
                }),
                batch_size: 1,
                invisible_duration: Some(prost_types::Duration {
                    seconds: 30,
                    nanos: 0,
                }),
                auto_renew: false,
                long_polling_timeout: Some(prost_types::Duration {
                    seconds: 5,
                    nanos: 0,
                }),
                attempt_id: None,
            })
            .await
            .expect("receive after the flood")
            .into_inner();
        let mut bodies = Vec::new();
        while let Some(r) = got.message().await.expect("receive stream") {
            if let Some(Content::Message(m)) = r.content {
                bodies.push(m.body);
            }
        }
        assert_eq!(bodies, vec![bytes::Bytes::from_static(b"still here")]);
    });
}
