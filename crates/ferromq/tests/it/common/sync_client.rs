//! ferromq's own client, driven synchronously from the test thread, and helpers to read a queue
//! back with PULL_MESSAGE.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests::Pull;
use ferromq_client::{ClientError, MqClient, SendResult};
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::response as rs;
use serde_json::Value;

use super::server::Server;

/// A multi-threaded tokio runtime (2 workers) for a test thread that drives async clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A PULL_MESSAGE request of `topic`:`queue_id` at `offset`: subscription `*`, answered at once
/// (no long polling), committing nothing.
pub fn pull_at<'a>(
    group: &'a str,
    topic: &'a str,
    queue_id: i32,
    offset: i64,
    max_msgs: i32,
) -> Pull<'a> {
    Pull {
        group,
        topic,
        queue_id,
        offset,
        max_msgs,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    }
}

/// Every message of `topic`:`q` from offset 0 as (queue offset, body), pulled 256 at a time
/// until the broker answers anything but SUCCESS. Each message must belong to the queue and each
/// pull must move forward.
pub async fn read_queue(
    client: &MqClient,
    broker: &str,
    group: &str,
    topic: &str,
    q: i32,
) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let r = client
            .pull(broker, &pull_at(group, topic, q, offset, 256))
            .await
            .unwrap_or_else(|e| panic!("pull {topic}:{q}@{offset}: {e}"));
        if r.code != rs::SUCCESS {
            return out;
        }
        for m in &r.messages {
            assert_eq!(m.queue_id, q, "pull of {topic}:{q} answered another queue");
            out.push((
                m.queue_offset,
                String::from_utf8_lossy(&m.body).into_owned(),
            ));
        }
        assert!(r.next_begin_offset > offset, "pull made progress");
        offset = r.next_begin_offset;
    }
}

/// ferromq's own client of one cluster, sending to one broker, driven synchronously.
pub struct SyncClient {
    pub rt: tokio::runtime::Runtime,
    pub client: MqClient,
    pub namesrv: String,
    pub broker: String,
}

impl SyncClient {
    /// A client of `server`'s name server, talking to its broker.
    pub fn new(server: &Server) -> SyncClient {
        Self::connect(&server.namesrv_addr(), &server.broker_addr())
    }

    /// A client of the name server `namesrv`, talking to the broker at `broker`.
    pub fn connect(namesrv: &str, broker: &str) -> SyncClient {
        SyncClient {
            rt: runtime(),
            client: MqClient::new(namesrv, Duration::from_secs(5)),
            namesrv: namesrv.to_string(),
            broker: broker.to_string(),
        }
    }

    /// Runs `f` to completion on this client's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Creates `topic` with `queues` read and write queues on the broker.
    pub fn create_topic(&self, topic: &str, queues: i32) {
        self.block_on(
            self.client
                .create_topic(&self.broker, &TopicConfig::new(topic, queues)),
        )
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    }

    /// Waits (≤ `timeout`) until the name servers route `topic`; whether they do.
    pub fn wait_routed(&self, topic: &str, timeout: std::time::Duration) -> bool {
        super::poll_until(timeout, || {
            self.block_on(self.client.route(topic))
                .is_ok_and(|r| !r.queue_datas.is_empty())
        })
    }

    /// SEND_MESSAGE_V2 of `body` to `topic`:`q` (producer group `producer`, no properties).
    pub fn try_send(
        &self,
        producer: &str,
        topic: &str,
        q: i32,
        body: impl Into<Bytes>,
    ) -> Result<SendResult, ClientError> {
        self.block_on(
            self.client
                .send(&self.broker, producer, topic, q, body.into(), ""),
        )
    }

    /// A send with encoded properties (`k\u{1}v\u{2}…`), panicking on an error.
    pub fn send_with_properties(
        &self,
        producer: &str,
        topic: &str,
        q: i32,
        body: impl Into<Bytes>,
        properties: &str,
    ) -> SendResult {
        self.block_on(
            self.client
                .send(&self.broker, producer, topic, q, body.into(), properties),
        )
        .unwrap_or_else(|e| panic!("send to {topic}:{q}: {e}"))
    }

    /// [`SyncClient::try_send`], panicking on an error.
    pub fn send(&self, producer: &str, topic: &str, q: i32, body: impl Into<Bytes>) -> SendResult {
        self.try_send(producer, topic, q, body)
            .unwrap_or_else(|e| panic!("send to {topic}:{q}: {e}"))
    }

    /// GET_MAX_OFFSET of `topic`:`q`.
    pub fn max_offset(&self, topic: &str, q: i32) -> Result<i64, ClientError> {
        self.block_on(self.client.max_offset(&self.broker, topic, q))
    }

    /// QUERY_CONSUMER_OFFSET (None: the broker knows no offset).
    pub fn query(&self, group: &str, topic: &str, q: i32) -> Option<i64> {
        self.block_on(self.client.query_offset(&self.broker, group, topic, q))
            .unwrap_or_else(|e| panic!("QUERY_CONSUMER_OFFSET {group} {topic}:{q}: {e}"))
    }

    /// [`SyncClient::query`] of queues `0..queues`.
    pub fn query_queues(&self, group: &str, topic: &str, queues: i32) -> Vec<Option<i64>> {
        (0..queues).map(|q| self.query(group, topic, q)).collect()
    }

    /// UPDATE_CONSUMER_OFFSET.
    pub fn commit(&self, group: &str, topic: &str, q: i32, offset: i64) {
        self.block_on(
            self.client
                .update_offset(&self.broker, group, topic, q, offset),
        )
        .unwrap_or_else(|e| panic!("UPDATE_CONSUMER_OFFSET {group} {topic}:{q}={offset}: {e}"));
    }

    /// One of ferromq's JSON admin codes; Err(code, text) on a refusal.
    pub fn ferro(&self, code: i32, req: &Value) -> Result<Value, (Option<i32>, String)> {
        self.block_on(self.client.ferro::<Value, Value>(&self.broker, code, req))
            .map_err(|e| (e.code(), e.to_string()))
    }

    /// [`SyncClient::ferro`], panicking on a refusal.
    pub fn ferro_ok(&self, code: i32, req: &Value) -> Value {
        self.ferro(code, req)
            .unwrap_or_else(|e| panic!("ferro code {code} {req} refused: {e:?}"))
    }
}
