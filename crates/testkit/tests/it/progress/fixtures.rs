//! A one-broker cluster with a client of it, and the requests of the progress tests.

use bytes::Bytes;
use ferromq_broker::progress::model::*;
use ferromq_client::requests::{self, Pull};
use ferromq_client::{ClientError, MqClient};
use ferromq_offsets::Change;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// A request of the progress service built from its JSON form (as the broker receives it), so
/// that the fields a test does not name keep their defaults.
pub fn request<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("request {v}: {e}"))
}

/// A reset of every queue of `topic` for `groups`, applied (not a dry run), without intents.
pub fn reset(groups: &[&str], topic: &str, spec: ResetSpec) -> ResetRequest {
    request(json!({
        "groups": groups,
        "topics": [{"topic": topic, "queues": null}],
        "spec": spec,
        "dryRun": false,
        "allowIntents": false,
    }))
}

/// A PULL_MESSAGE request at `offset`: subscription `*`, answered at once, committing nothing.
pub fn pull<'a>(group: &'a str, topic: &'a str, q: i32, offset: i64, max_msgs: i32) -> Pull<'a> {
    Pull {
        group,
        topic,
        queue_id: q,
        offset,
        max_msgs,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    }
}

/// An undo of change `change_id`, applied.
pub fn undo(change_id: u64) -> UndoRequest {
    request(json!({"changeId": change_id, "dryRun": false}))
}

/// A one-broker cluster, a client of it and the broker's address.
pub struct Fixture {
    pub c: Cluster,
    pub client: MqClient,
    pub addr: String,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let c = Cluster::start(1).await;
        let client = c.client();
        let addr = c.broker_addr(0);
        Fixture { c, client, addr }
    }

    /// Restarts the broker on its data directory; a new client of it.
    pub async fn restart(&mut self) {
        self.c.restart_broker(0).await;
        self.addr = self.c.broker_addr(0);
        self.client = self.c.client();
    }

    pub async fn shutdown(self) {
        self.c.shutdown().await;
    }

    /// Creates `topic` with `queues` queues and sends `per_queue` messages to each, bodies
    /// `<topic>-<queue>-<i>`.
    pub async fn fill(&self, topic: &str, queues: i32, per_queue: i32) {
        self.client
            .create_topic(&self.addr, &TopicConfig::new(topic, queues))
            .await
            .unwrap();
        for q in 0..queues {
            for i in 0..per_queue {
                self.client
                    .send(
                        &self.addr,
                        "P",
                        topic,
                        q,
                        Bytes::from(format!("{topic}-{q}-{i}")),
                        "",
                    )
                    .await
                    .unwrap();
            }
        }
    }

    /// One of ferromq's JSON admin codes, which must succeed.
    pub async fn ferro<Req: Serialize, Res: DeserializeOwned>(&self, code: i32, req: &Req) -> Res {
        self.try_ferro(code, req).await.unwrap()
    }

    pub async fn try_ferro<Req: Serialize, Res: DeserializeOwned>(
        &self,
        code: i32,
        req: &Req,
    ) -> Result<Res, ClientError> {
        self.client.ferro(&self.addr, code, req).await
    }

    /// FERRO_RESET_OFFSETS, which must succeed; the plan.
    pub async fn reset(&self, req: &ResetRequest) -> PlanResult {
        self.ferro(rq::FERRO_RESET_OFFSETS, req).await
    }

    /// FERRO_UNDO of `change_id`.
    pub async fn undo(&self, change_id: u64) -> Result<PlanResult, ClientError> {
        self.try_ferro(rq::FERRO_UNDO, &undo(change_id)).await
    }

    /// The last 100 changes, newest first.
    pub async fn history(&self) -> Vec<Change> {
        let h: HistoryResult = self.ferro(rq::FERRO_HISTORY, &json!({"limit": 100})).await;
        h.changes
    }

    /// UPDATE_CONSUMER_OFFSET, which must succeed.
    pub async fn commit(&self, group: &str, topic: &str, q: i32, offset: i64) {
        self.client
            .update_offset(&self.addr, group, topic, q, offset)
            .await
            .unwrap();
    }

    /// QUERY_CONSUMER_OFFSET (0 for a young queue without an offset).
    pub async fn offset(&self, group: &str, topic: &str, q: i32) -> Option<i64> {
        self.client
            .query_offset(&self.addr, group, topic, q)
            .await
            .unwrap()
    }

    /// The response code of QUERY_CONSUMER_OFFSET with `setZeroIfNotFound=false`:
    /// QUERY_NOT_FOUND when nothing is stored.
    pub async fn stored_code(&self, group: &str, topic: &str, q: i32) -> i32 {
        let req =
            requests::query_consumer_offset(group, topic, q).with_ext("setZeroIfNotFound", false);
        self.code(req).await
    }

    /// The response to `req`, which must be SUCCESS.
    pub async fn invoke(&self, req: RemotingCommand) -> RemotingCommand {
        self.client.remoting.invoke(&self.addr, req).await.unwrap()
    }

    /// The response code to `req`, whatever it is.
    pub async fn code(&self, req: RemotingCommand) -> i32 {
        self.client
            .remoting
            .invoke_raw(&self.addr, req)
            .await
            .unwrap()
            .code
    }
}
