//! The calls the mirror makes. Reads from the source use upstream request codes only; writes to
//! the target add ferromq's FERRO_MIRROR_APPEND and FERRO_SYNC_OFFSETS.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests::{self, Pull};
use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::body::progress::SyncOffsetsRequest;
pub use ferromq_protocol::body::SyncOffsetEntry as SyncEntry;
use ferromq_protocol::body::{self, SubscriptionGroupConfig, TopicConfig, TopicConfigWrapper};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde::Deserialize;

/// One cluster, through its name servers.
pub struct Remote {
    pub client: MqClient,
}

/// A raw pull answer: code, offsets, and the records exactly as the broker sent them.
pub struct RawPull {
    pub code: i32,
    pub next_begin_offset: i64,
    pub max_offset: i64,
    pub body: Bytes,
}

/// The brokers a name server knows.
#[derive(Debug, Clone, Default)]
pub struct Brokers {
    /// Broker name → master address.
    pub addrs: BTreeMap<String, String>,
    /// Cluster names (Apache RocketMQ brokers keep a topic of each, and `<cluster>_REPLY_TOPIC`).
    pub clusters: BTreeSet<String>,
}

/// FERRO_SYNC_OFFSETS's answer.
pub use ferromq_protocol::body::progress::SyncOffsetsResult as SyncResult;

/// What FERRO_MIRROR_APPEND answered.
pub enum Appended {
    /// Stored at `first` and after.
    Stored { first: i64 },
    /// The target queue is at `actual`, not where the mirror expected: nothing stored.
    Mismatch { actual: i64 },
    /// The message at `source_offset` is refused (too large); nothing stored.
    Refused { source_offset: i64, reason: String },
}

impl Remote {
    pub fn new(namesrv: &str, timeout: Duration, options: ferromq_client::ConnectOptions) -> Self {
        Self {
            client: MqClient::with_options(namesrv, timeout, options),
        }
    }

    /// Every broker (name → master address) and the names of the clusters they form.
    ///
    /// # Errors
    /// The name servers cannot be reached or answer with an error.
    pub async fn brokers(&self) -> Result<Brokers, ClientError> {
        let info = self.client.cluster_info().await?;
        let addrs = info
            .masters()
            .map(|(name, addr)| (name.to_string(), addr.to_string()))
            .collect();
        let clusters = info
            .broker_addr_table
            .values()
            .map(|b| b.cluster.clone())
            .chain(info.cluster_addr_table.into_keys())
            .collect();
        Ok(Brokers { addrs, clusters })
    }

    /// GET_ALL_TOPIC_CONFIG (21).
    ///
    /// # Errors
    /// The broker cannot be reached, answers with an error, or sends a body that does not decode.
    pub async fn topic_configs(
        &self,
        addr: &str,
    ) -> Result<BTreeMap<String, TopicConfig>, ClientError> {
        let r = self
            .client
            .remoting
            .invoke(addr, RemotingCommand::request(rq::GET_ALL_TOPIC_CONFIG))
            .await?;
        let w: TopicConfigWrapper = body::parse(&r.body).map_err(ClientError::Decode)?;
        Ok(w.topic_config_table)
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): the raw JSON of each group's config.
    ///
    /// # Errors
    /// The broker cannot be reached, answers with an error, or sends a body that is not JSON.
    pub async fn group_configs(
        &self,
        addr: &str,
    ) -> Result<BTreeMap<String, serde_json::Value>, ClientError> {
        let r = self
            .client
            .remoting
            .invoke(
                addr,
                RemotingCommand::request(rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
            )
            .await?;
        let v: serde_json::Value = body::parse(&r.body).map_err(ClientError::Decode)?;
        Ok(v.get("subscriptionGroupTable")
            .and_then(|t| t.as_object())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// GET_ALL_CONSUMER_OFFSET (43): (group, topic, queue, offset). A ferromq source whose table
    /// is too large for one frame answers 43 with an error naming the frame limit; the table is
    /// then read page by page with FERRO_EXPORT_OFFSETS (9009).
    ///
    /// # Errors
    /// The broker cannot be reached, answers with an error, or sends a table that does not
    /// parse.
    pub async fn all_offsets(
        &self,
        addr: &str,
    ) -> Result<Vec<(String, String, i32, i64)>, ClientError> {
        let r = self
            .client
            .remoting
            .invoke_raw(addr, RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET))
            .await?;
        if r.code != rs::SUCCESS {
            let remark = r.remark.unwrap_or_default();
            if r.code == rs::SYSTEM_ERROR && remark.contains("max-frame-bytes") {
                return self.exported_offsets(addr).await;
            }
            return Err(ClientError::Server {
                code: r.code,
                remark,
            });
        }
        let entries = ferromq_protocol::body::consumer_offset::parse(&r.body)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(entries
            .into_iter()
            .map(|(k, o)| (k.group, k.topic, k.queue_id, o))
            .collect())
    }

    /// Every offset of a ferromq broker, through FERRO_EXPORT_OFFSETS pages.
    async fn exported_offsets(
        &self,
        addr: &str,
    ) -> Result<Vec<(String, String, i32, i64)>, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Record {
            group: String,
            topic: String,
            queue_id: i32,
            offset: i64,
        }
        #[derive(Deserialize)]
        struct Page {
            records: Vec<Record>,
            next: Option<serde_json::Value>,
        }
        let mut out = Vec::new();
        let mut after = serde_json::Value::Null;
        loop {
            let page: Page = self
                .client
                .ferro(
                    addr,
                    rq::FERRO_EXPORT_OFFSETS,
                    &serde_json::json!({ "after": after }),
                )
                .await?;
            out.extend(
                page.records
                    .into_iter()
                    .map(|r| (r.group, r.topic, r.queue_id, r.offset)),
            );
            match page.next {
                Some(n) if !n.is_null() => after = n,
                _ => return Ok(out),
            }
        }
    }

    /// PULL_MESSAGE (11); the body is kept raw (the records are forwarded as they are).
    ///
    /// # Errors
    /// The broker cannot be reached. Pull answers such as "no new message" are not errors:
    /// they come back in [`RawPull::code`].
    pub async fn pull_raw(&self, addr: &str, p: &Pull<'_>) -> Result<RawPull, ClientError> {
        let timeout = p.answer_timeout(self.client.remoting.timeout);
        let r = self
            .client
            .remoting
            .invoke_raw_within(addr, requests::pull(p), timeout)
            .await?;
        let get = |k: &'static str| r.opt_i64(k).ok().flatten().unwrap_or(-1);
        Ok(RawPull {
            code: r.code,
            next_begin_offset: get("nextBeginOffset"),
            max_offset: get("maxOffset"),
            body: r.body.clone(),
        })
    }

    /// GET_MIN_OFFSET (31).
    ///
    /// # Errors
    /// The broker cannot be reached, answers with an error, or its answer has no offset.
    pub async fn min_offset(&self, addr: &str, topic: &str, q: i32) -> Result<i64, ClientError> {
        let r = self
            .client
            .remoting
            .invoke(addr, requests::topic_queue(rq::GET_MIN_OFFSET, topic, q))
            .await?;
        r.req_i64("offset")
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// GET_MAX_OFFSET (30).
    ///
    /// # Errors
    /// The broker cannot be reached, answers with an error, or its answer has no offset.
    pub async fn max_offset(&self, addr: &str, topic: &str, q: i32) -> Result<i64, ClientError> {
        self.client.max_offset(addr, topic, q).await
    }

    /// UPDATE_AND_CREATE_TOPIC (17).
    ///
    /// # Errors
    /// The broker cannot be reached or refuses the topic.
    pub async fn create_topic(&self, addr: &str, cfg: &TopicConfig) -> Result<(), ClientError> {
        self.client.create_topic(addr, cfg).await
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) with the source's config as it was read.
    ///
    /// # Errors
    /// The broker cannot be reached or refuses the group.
    pub async fn create_group(
        &self,
        addr: &str,
        name: &str,
        cfg: &serde_json::Value,
    ) -> Result<(), ClientError> {
        let mut cfg = cfg.clone();
        if !cfg.is_object() {
            cfg = serde_json::to_value(SubscriptionGroupConfig::new(name))
                .map_err(|e| ClientError::Decode(e.to_string()))?;
        }
        let cmd = RemotingCommand::request(rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(body::to_vec(&cfg));
        self.client.remoting.invoke(addr, cmd).await.map(|_| ())
    }

    /// FERRO_MIRROR_APPEND (9010).
    ///
    /// # Errors
    /// The broker cannot be reached or answers with an error other than the two the mirror
    /// handles ([`Appended::Mismatch`], [`Appended::Refused`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn append(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
        source_broker: &str,
        origin: &str,
        expected: i64,
        records: Bytes,
    ) -> Result<Appended, ClientError> {
        let cmd = RemotingCommand::request(rq::FERRO_MIRROR_APPEND)
            .with_ext("topic", topic)
            .with_ext("queueId", queue_id)
            .with_ext("sourceBroker", source_broker)
            .with_ext("origin", origin)
            .with_ext("expectedQueueOffset", expected)
            .with_body(records);
        let r = self.client.remoting.invoke_raw(addr, cmd).await?;
        let ext = |k: &'static str| r.opt_i64(k).ok().flatten();
        match r.code {
            rs::SUCCESS => Ok(Appended::Stored {
                first: ext("queueOffset").unwrap_or(expected),
            }),
            rs::QUEUE_OFFSET_MISMATCH => Ok(Appended::Mismatch {
                actual: ext("actualQueueOffset").unwrap_or(-1),
            }),
            rs::MESSAGE_ILLEGAL if ext("sourceOffset").is_some() => Ok(Appended::Refused {
                source_offset: ext("sourceOffset").unwrap_or(-1),
                reason: r.remark.clone().unwrap_or_default(),
            }),
            code => Err(ClientError::Server {
                code,
                remark: r.remark.clone().unwrap_or_default(),
            }),
        }
    }

    /// FERRO_SYNC_OFFSETS (9011).
    ///
    /// # Errors
    /// The broker cannot be reached, answers with an error, or sends an answer that does not
    /// decode. Offsets the broker refuses one by one are not errors: they are listed in
    /// [`SyncResult`].
    pub async fn sync_offsets(
        &self,
        addr: &str,
        entries: &[SyncEntry],
        skip_online_groups: bool,
    ) -> Result<SyncResult, ClientError> {
        self.client
            .ferro(
                addr,
                rq::FERRO_SYNC_OFFSETS,
                &SyncOffsetsRequest {
                    entries: entries.to_vec(),
                    skip_online_groups,
                },
            )
            .await
    }
}
