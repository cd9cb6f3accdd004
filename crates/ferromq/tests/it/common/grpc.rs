//! A raw tonic client of the gRPC endpoint, for tests that send what no real client would
//! (`grpc_bad_input.rs`, `grpc_rapid_reset.rs`): resources, sends and receives in a line each.

use ferromq_protocol::grpc::messaging_service_client::MessagingServiceClient;
use ferromq_protocol::grpc::{
    Code, FilterExpression, FilterType, Message, MessageQueue, ReceiveMessageRequest,
    ReceiveMessageResponse, Resource, SendMessageRequest, SystemProperties,
};
use tonic::transport::Channel;

use super::Server;

/// A raw tonic client of the endpoint.
pub type Client = MessagingServiceClient<Channel>;

/// A resource (topic or group) without a namespace.
pub fn res(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

/// Whole seconds as a protobuf duration.
pub fn secs(s: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: s,
        nanos: 0,
    })
}

/// A client of `server`'s gRPC endpoint.
pub async fn connect(server: &Server) -> Client {
    let uri = format!("http://{}", server.grpc_addr());
    MessagingServiceClient::connect(uri)
        .await
        .expect("connect to the gRPC endpoint")
}

/// Sends one message (id `id-<body>`) and expects OK.
pub async fn send(c: &mut Client, topic: &str, body: &str) {
    let r = c
        .send_message(SendMessageRequest {
            messages: vec![Message {
                topic: res(topic),
                user_properties: Default::default(),
                system_properties: Some(SystemProperties {
                    message_id: format!("id-{body}"),
                    ..SystemProperties::default()
                }),
                body: bytes::Bytes::copy_from_slice(body.as_bytes()),
            }],
        })
        .await
        .expect("send")
        .into_inner();
    assert_eq!(
        r.status.map(|s| s.code),
        Some(Code::Ok as i32),
        "{:?}",
        r.entries
    );
}

/// A receive of `topic` for `group`, tag `*`.
pub fn receive_req(
    topic: &str,
    group: &str,
    batch: i32,
    invisible_s: i64,
    poll_s: i64,
) -> ReceiveMessageRequest {
    ReceiveMessageRequest {
        group: res(group),
        message_queue: Some(MessageQueue {
            topic: res(topic),
            id: -1,
            ..MessageQueue::default()
        }),
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "*".into(),
        }),
        batch_size: batch,
        invisible_duration: secs(invisible_s),
        auto_renew: false,
        long_polling_timeout: secs(poll_s),
        attempt_id: None,
    }
}

/// Every answer of a receive, to the end of its stream.
pub async fn receive(c: &mut Client, req: ReceiveMessageRequest) -> Vec<ReceiveMessageResponse> {
    let mut stream = c.receive_message(req).await.expect("receive").into_inner();
    let mut out = Vec::new();
    while let Some(r) = stream.message().await.expect("receive stream") {
        out.push(r);
    }
    out
}
