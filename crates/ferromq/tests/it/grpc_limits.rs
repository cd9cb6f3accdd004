//! The broker's limits on its gRPC port, as on its Remoting ports: the largest message is
//! `max-frame-bytes`, a connection carries at most `max-inflight-per-connection` calls at once
//! (the HTTP/2 SETTINGS it advertises), and `max-connections` counts gRPC connections together
//! with the Remoting ones, giving a slot back when a connection closes; a connection that never
//! sends the HTTP/2 preface is closed after 10 s; an ack carries at most 1,024 entries.

use crate::common;

use std::time::{Duration, Instant};

use common::{runtime, Server};
use ferromq_protocol::grpc::messaging_service_client::MessagingServiceClient;
use ferromq_protocol::grpc::{
    Code, Message, QueryRouteRequest, Resource, SendMessageRequest, SystemProperties,
};
use tonic::transport::Channel;

fn message(topic: &str, body: Vec<u8>) -> SendMessageRequest {
    SendMessageRequest {
        messages: vec![Message {
            topic: Some(Resource {
                resource_namespace: String::new(),
                name: topic.into(),
            }),
            user_properties: Default::default(),
            system_properties: Some(SystemProperties {
                message_id: format!("id-{}", body.len()),
                ..SystemProperties::default()
            }),
            body: body.into(),
        }],
    }
}

async fn client(addr: &str) -> Result<MessagingServiceClient<Channel>, tonic::transport::Error> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(3))
        .connect()
        .await?;
    Ok(MessagingServiceClient::new(channel))
}

/// Whether a fresh connection gets an answer to a route query.
async fn served(addr: &str) -> bool {
    let Ok(mut c) = client(addr).await else {
        return false;
    };
    let req = QueryRouteRequest {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: "T".into(),
        }),
        endpoints: None,
    };
    c.query_route(req).await.is_ok()
}

#[test]
fn broker_limits_hold_on_the_grpc_port() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ferromq.toml");
    std::fs::write(
        &cfg,
        "[broker]\nmax-connections = 3\nmax-inflight-per-connection = 8\nmax-frame-bytes = 65536\n",
    )
    .unwrap();
    let server = Server::standalone(&["--config", &cfg.display().to_string()]);
    let addr = server.grpc_addr();
    runtime().block_on(async {
        // Connection 1. A message over max-frame-bytes is refused before any handler sees it.
        let mut c = client(&addr).await.expect("connect");
        let e = c
            .send_message(message("T", vec![7; 100 * 1024]))
            .await
            .expect_err("a message over max-frame-bytes");
        assert_eq!(e.code(), tonic::Code::OutOfRange, "{e:?}");
        assert!(e.message().contains("too large"), "{e:?}");
        let r = c
            .send_message(message("T", vec![7; 1024]))
            .await
            .expect("a small message")
            .into_inner();
        assert_eq!(r.status.map(|s| s.code), Some(Code::Ok as i32));

        // Connection 2, raw HTTP/2: the SETTINGS carry max-inflight-per-connection.
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (h2c, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
        let h2_conn = tokio::spawn(conn);
        let mut h2c = h2c.ready().await.expect("h2 ready");
        let req = tonic::codegen::http::Request::post(format!(
            "http://{addr}/apache.rocketmq.v2.MessagingService/QueryRoute"
        ))
        .header("content-type", "application/grpc")
        .body(())
        .unwrap();
        let (resp, _) = h2c.send_request(req, true).expect("send a request");
        // One answer: the server's SETTINGS came before it.
        let _ = resp.await;
        assert_eq!(h2c.current_max_send_streams(), 8);

        // Connection 3 is a Remoting one: max-connections covers every port together.
        let remoting = tokio::net::TcpStream::connect(server.broker_addr())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!served(&addr).await, "a 4th connection was served");

        // Closing connection 2 gives its slot back.
        drop(h2c);
        h2_conn.abort();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !served(&addr).await {
            assert!(
                Instant::now() < deadline,
                "the closed connection's slot came back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(remoting);

        // An ack of more than 1,024 entries is refused whole.
        let entries = (0..1025)
            .map(|i| ferromq_protocol::grpc::AckMessageEntry {
                message_id: format!("m{i}"),
                receipt_handle: "fmq1-0-0-1-0".into(),
                lite_topic: None,
            })
            .collect();
        let r = c
            .ack_message(ferromq_protocol::grpc::AckMessageRequest {
                group: Some(Resource {
                    resource_namespace: String::new(),
                    name: "G".into(),
                }),
                topic: Some(Resource {
                    resource_namespace: String::new(),
                    name: "T".into(),
                }),
                entries,
            })
            .await
            .expect("an answer")
            .into_inner();
        assert_eq!(r.status.map(|s| s.code), Some(Code::BadRequest as i32));
        drop(c);

        // A connection that never sends the HTTP/2 preface is closed (and its slot freed).
        let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut b = [0u8; 64];
        let t0 = Instant::now();
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            use tokio::io::AsyncReadExt;
            // The server's own SETTINGS may come first; then the end of the stream.
            loop {
                match silent.read(&mut b).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a silent connection stayed open");
        assert!(t0.elapsed() >= Duration::from_secs(9), "{:?}", t0.elapsed());
    });
}
