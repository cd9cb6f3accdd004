//! [`MqClient`]: typed calls over [`RemotingClient`], with routes from the name servers.

use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::body::progress::{ChangeRequest, PlanMoved, PlanResult};
use ferromq_protocol::body::{self, TopicConfig, TopicRouteData};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::message::{decode_records, DecodedMessage};
use ferromq_protocol::RemotingCommand;

use crate::remoting::{ClientError, RemotingClient};
use crate::requests::{self, Pull};

/// What a send returned.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub msg_id: String,
    pub queue_id: i32,
    pub queue_offset: i64,
}

/// What a pull returned: the response code, the offsets, and the decoded messages.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub code: i32,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub messages: Vec<DecodedMessage>,
}

/// A client of one cluster, found through its name servers.
pub struct MqClient {
    pub remoting: RemotingClient,
    namesrv: Vec<String>,
}

fn ext_i64(r: &RemotingCommand, key: &'static str) -> Result<i64, ClientError> {
    r.req_i64(key)
        .map_err(|e| ClientError::Decode(e.to_string()))
}

impl MqClient {
    /// `namesrv` is `host:port[;host:port]`.
    pub fn new(namesrv: &str, timeout: Duration) -> Self {
        Self::with_options(namesrv, timeout, crate::ConnectOptions::default())
    }

    /// [`MqClient::new`] over TLS and with credentials, as `options` say.
    pub fn with_options(namesrv: &str, timeout: Duration, options: crate::ConnectOptions) -> Self {
        Self {
            remoting: RemotingClient::with_options(timeout, options),
            namesrv: namesrv
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// The topic's route, from the first name server that answers.
    ///
    /// # Errors
    /// [`ClientError::NoRoute`] when no name server knows the topic.
    pub async fn route(&self, topic: &str) -> Result<TopicRouteData, ClientError> {
        let mut last = ClientError::NoRoute(topic.to_string());
        for ns in &self.namesrv {
            match self.remoting.invoke(ns, requests::route(topic)).await {
                Ok(r) => return body::parse(&r.body).map_err(ClientError::Decode),
                Err(e) if e.code() == Some(rs::TOPIC_NOT_EXIST) => {
                    return Err(ClientError::NoRoute(topic.to_string()))
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Master addresses of every broker in the cluster.
    ///
    /// # Errors
    /// When no name server answers.
    pub async fn broker_addrs(&self) -> Result<Vec<(String, String)>, ClientError> {
        let info = self.cluster_info().await?;
        Ok(info
            .masters()
            .map(|(name, addr)| (name.to_string(), addr.to_string()))
            .collect())
    }

    /// GET_BROKER_CLUSTER_INFO (106) from the first name server that answers.
    ///
    /// # Errors
    /// No name server answers, or the answer does not decode.
    pub async fn cluster_info(&self) -> Result<body::ClusterInfo, ClientError> {
        let mut last = ClientError::NoRoute("cluster".into());
        for ns in &self.namesrv {
            let req = RemotingCommand::request(rq::GET_BROKER_CLUSTER_INFO);
            match self.remoting.invoke(ns, req).await {
                Ok(r) => return body::parse(&r.body).map_err(ClientError::Decode),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Sends one message with SEND_MESSAGE_V2.
    ///
    /// # Errors
    /// Transport errors or the broker's refusal.
    pub async fn send(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        body: Bytes,
        props: &str,
    ) -> Result<SendResult, ClientError> {
        let r = self
            .remoting
            .invoke(addr, requests::send_v2(group, topic, queue_id, body, props))
            .await?;
        Ok(SendResult {
            msg_id: r.ext("msgId").unwrap_or_default().to_string(),
            queue_id: ext_i64(&r, "queueId")? as i32,
            queue_offset: ext_i64(&r, "queueOffset")?,
        })
    }

    /// Pulls from a queue; every response code is returned, not turned into an error.
    ///
    /// # Errors
    /// Transport errors, or a body that does not decode.
    pub async fn pull(&self, addr: &str, p: &Pull<'_>) -> Result<PullResult, ClientError> {
        let timeout = p.answer_timeout(self.remoting.timeout);
        let r = self
            .remoting
            .invoke_raw_within(addr, requests::pull(p), timeout)
            .await?;
        let get = |k: &'static str| r.opt_i64(k).ok().flatten().unwrap_or(-1);
        let messages = if r.code == rs::SUCCESS {
            decode_records(&r.body).map_err(|e| ClientError::Decode(e.to_string()))?
        } else {
            Vec::new()
        };
        Ok(PullResult {
            code: r.code,
            next_begin_offset: get("nextBeginOffset"),
            min_offset: get("minOffset"),
            max_offset: get("maxOffset"),
            messages,
        })
    }

    /// QUERY_CONSUMER_OFFSET; `Ok(None)` when the broker has none (QUERY_NOT_FOUND).
    ///
    /// # Errors
    /// Transport errors or other refusals.
    pub async fn query_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, ClientError> {
        match self
            .remoting
            .invoke(
                addr,
                requests::query_consumer_offset(group, topic, queue_id),
            )
            .await
        {
            Ok(r) => Ok(Some(ext_i64(&r, "offset")?)),
            Err(e) if e.code() == Some(rs::QUERY_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// UPDATE_CONSUMER_OFFSET, waiting for the answer.
    ///
    /// # Errors
    /// Transport errors or the broker's refusal.
    pub async fn update_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), ClientError> {
        self.remoting
            .invoke(
                addr,
                requests::update_consumer_offset(group, topic, queue_id, offset),
            )
            .await
            .map(|_| ())
    }

    /// GET_MAX_OFFSET.
    ///
    /// # Errors
    /// Transport errors or the broker's refusal.
    pub async fn max_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, ClientError> {
        let r = self
            .remoting
            .invoke(
                addr,
                requests::topic_queue(rq::GET_MAX_OFFSET, topic, queue_id),
            )
            .await?;
        ext_i64(&r, "offset")
    }

    /// Calls one of ferromq's own codes (9000–9099): a JSON request body, a JSON result.
    ///
    /// # Errors
    /// Transport errors, the broker's refusal, or a result that does not decode.
    pub async fn ferro<Req: serde::Serialize, Res: serde::de::DeserializeOwned>(
        &self,
        addr: &str,
        code: i32,
        request: &Req,
    ) -> Result<Res, ClientError> {
        let cmd = RemotingCommand::request(code).with_body(body::to_vec(request));
        let r = self.remoting.invoke(addr, cmd).await?;
        serde_json::from_slice(&r.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Sends a change of offsets (ferromq codes 9001, 9004, 9006–9008). `Ok(Err(moved))` when
    /// the request carried the plan it must apply and the broker found queues that moved
    /// (PLAN_MOVED): nothing was changed.
    ///
    /// # Errors
    /// Transport errors, any other refusal, or an answer that does not decode.
    pub async fn ferro_change(
        &self,
        addr: &str,
        request: &ChangeRequest,
    ) -> Result<Result<PlanResult, PlanMoved>, ClientError> {
        let cmd = RemotingCommand::request(request.code()).with_body(request.body());
        let r = self.remoting.invoke_raw(addr, cmd).await?;
        let decode = |e: serde_json::Error| ClientError::Decode(e.to_string());
        match r.code {
            rs::SUCCESS => serde_json::from_slice(&r.body).map(Ok).map_err(decode),
            rs::PLAN_MOVED => serde_json::from_slice(&r.body).map(Err).map_err(decode),
            code => Err(ClientError::Server {
                code,
                remark: r.remark.unwrap_or_default(),
            }),
        }
    }

    /// UPDATE_AND_CREATE_TOPIC on one broker.
    ///
    /// # Errors
    /// Transport errors or the broker's refusal.
    pub async fn create_topic(&self, addr: &str, cfg: &TopicConfig) -> Result<(), ClientError> {
        self.remoting
            .invoke(addr, requests::create_topic(cfg))
            .await
            .map(|_| ())
    }
}
