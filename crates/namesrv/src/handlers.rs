//! The name server's request handlers. [`NamesrvHandler::dispatch`] is the one table of codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_net::{Connection, Handler};
use ferromq_protocol::body::{
    self, DataVersion, RegisterBrokerBody, TopicConfigWrapper, TopicList,
};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::{Refusal, RemotingCommand};
use parking_lot::RwLock;

use crate::metrics::NamesrvMetrics;
use crate::routes::{Registration, RouteInfoManager, DEFAULT_BROKER_TIMEOUT};

/// Most KV config items (upstream's `PUT_KV_CONFIG`, used for ORDER_TOPIC_CONFIG) the name
/// server keeps, and the most bytes one may hold: the map must not grow without bound.
const MAX_KV_ITEMS: usize = 100_000;
const MAX_KV_ITEM_BYTES: usize = 64 * 1024;

/// Serves name-server requests.
pub struct NamesrvHandler {
    routes: Arc<RouteInfoManager>,
    /// Authentication and authorization of each request, when configured (see [`crate::RequestGuard`]).
    guard: Arc<crate::Guard>,
    /// KV config: namespace → key → value.
    kv: RwLock<HashMap<String, HashMap<String, String>>>,
    metrics: Arc<NamesrvMetrics>,
}

/// The response, or why the request was refused ([`Refusal`] is the one table from reason to
/// response code; header problems convert with `?`).
type Reply = Result<RemotingCommand, Refusal>;

impl Handler for NamesrvHandler {
    async fn handle(
        self: &Arc<Self>,
        conn: Connection,
        mut req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        if let Err(r) = self.guard.check(&mut req, conn.remote_addr().ip()) {
            return Some(r.to_response());
        }
        Some(self.dispatch(&conn, &req).unwrap_or_else(|r| {
            if let Some(limit) = r.limit() {
                self.metrics.limit_hit(limit);
            }
            r.to_response()
        }))
    }

    fn on_open(self: &Arc<Self>, _conn: &Connection) {
        self.metrics.connections.inc();
    }

    fn on_close(self: &Arc<Self>, conn: &Connection) {
        self.metrics.connections.dec();
        self.routes.connection_closed(conn.id());
    }

    fn on_limit(self: &Arc<Self>, limit: &'static str) {
        self.metrics.limit_hit(limit);
    }
}

impl NamesrvHandler {
    pub fn new(
        routes: Arc<RouteInfoManager>,
        metrics: Arc<NamesrvMetrics>,
        guard: Arc<crate::Guard>,
    ) -> Self {
        Self {
            routes,
            guard,
            kv: RwLock::new(HashMap::new()),
            metrics,
        }
    }

    /// Every request code the name server serves, in one place.
    ///
    /// # Errors
    /// The [`Refusal`] a refused request is answered with.
    pub fn dispatch(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        match req.code {
            rq::REGISTER_BROKER => self.register_broker(conn, req),
            rq::UNREGISTER_BROKER => self.unregister_broker(req),
            rq::BROKER_HEARTBEAT => self.broker_heartbeat(req),
            rq::QUERY_DATA_VERSION => self.query_data_version(req),
            rq::GET_ROUTEINFO_BY_TOPIC => self.route_by_topic(req),
            rq::GET_BROKER_CLUSTER_INFO => Ok(json_ok(&self.routes.cluster_info())),
            rq::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => Ok(json_ok(&TopicList {
                topic_list: self.routes.topics(),
                broker_addr: None,
            })),
            rq::GET_TOPICS_BY_CLUSTER => {
                let cluster = req.req_str("cluster")?;
                Ok(json_ok(&TopicList {
                    topic_list: self.routes.topics_of_cluster(cluster),
                    broker_addr: None,
                }))
            }
            rq::DELETE_TOPIC_IN_NAMESRV => {
                let topic = req.req_str("topic")?;
                self.routes.delete_topic(topic, req.ext("clusterName"));
                Ok(RemotingCommand::success())
            }
            rq::PUT_KV_CONFIG => self.put_kv(req),
            rq::GET_KV_CONFIG => self.get_kv(req),
            rq::DELETE_KV_CONFIG => self.delete_kv(req),
            other => Err(Refusal::RequestCodeNotSupported { code: other }),
        }
    }

    fn register_broker(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        let broker_name = req.req_str("brokerName")?.to_string();
        let broker_addr = req.req_str("brokerAddr")?.to_string();
        let cluster = req.req_str("clusterName")?.to_string();
        let broker_id = req.req_i64("brokerId")?;
        let timeout = req
            .opt_i64("heartbeatTimeoutMillis")?
            .filter(|t| *t > 0)
            .map(|t| Duration::from_millis(t as u64))
            .unwrap_or(DEFAULT_BROKER_TIMEOUT);
        if let Some(crc) = req.opt_i64("bodyCrc32")?.filter(|c| *c != 0) {
            let actual = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i64;
            if actual != crc {
                return Err(Refusal::SystemError("crc32 not match".into()));
            }
        }
        if req.opt_bool("compressed")? == Some(true) {
            return Err(Refusal::SystemError(
                "compressed broker registration is not supported; set compressedRegister=false"
                    .into(),
            ));
        }
        // An empty body (or an empty topic table) carries no topics: it refreshes the broker's
        // liveness and leaves its routes alone. A body that does not parse is refused.
        let wrapper = if req.body.is_empty() {
            None
        } else {
            let parsed: RegisterBrokerBody =
                body::parse(&req.body).map_err(Refusal::SystemError)?;
            if parsed
                .topic_config_serialize_wrapper
                .topic_config_table
                .is_empty()
            {
                // Brokers older than V3_0_11 send the wrapper bare.
                Some(
                    body::parse::<TopicConfigWrapper>(&req.body)
                        .unwrap_or(parsed.topic_config_serialize_wrapper),
                )
            } else {
                Some(parsed.topic_config_serialize_wrapper)
            }
        }
        .filter(|w| !w.topic_config_table.is_empty());
        let data_version = wrapper
            .as_ref()
            .map(|w| w.data_version.clone())
            .unwrap_or_default();
        let topics = wrapper.map(|w| {
            w.topic_config_table
                .into_iter()
                .filter_map(|(name, mut cfg)| {
                    if cfg.topic_name.is_empty() {
                        cfg.topic_name = name;
                    }
                    // Names and counts from the network pass the broker's own checks.
                    match ferromq_protocol::limits::check_topic_config(&cfg) {
                        Ok(()) => Some(cfg),
                        Err(e) => {
                            tracing::warn!(topic = %cfg.topic_name, "registered topic left out: {e}");
                            None
                        }
                    }
                })
                .collect()
        });
        self.routes.register(
            Registration {
                cluster,
                broker_name,
                broker_addr,
                broker_id,
                timeout,
                data_version,
                topics,
                complete: req.opt_bool(body::REGISTER_COMPLETE_TABLE_EXT)? == Some(true),
                conn_id: Some(conn.id()),
            },
            Instant::now(),
        );
        Ok(RemotingCommand::success())
    }

    fn unregister_broker(&self, req: &RemotingCommand) -> Reply {
        let addr = req.req_str("brokerAddr")?;
        self.routes.unregister(addr);
        Ok(RemotingCommand::success())
    }

    fn broker_heartbeat(&self, req: &RemotingCommand) -> Reply {
        let addr = req.req_str("brokerAddr")?;
        self.routes.touch(addr, Instant::now());
        Ok(RemotingCommand::success())
    }

    fn query_data_version(&self, req: &RemotingCommand) -> Reply {
        let addr = req.req_str("brokerAddr")?;
        let theirs: DataVersion = body::parse(&req.body).unwrap_or_default();
        let ours = self.routes.data_version(addr);
        let changed = ours.as_ref() != Some(&theirs);
        self.routes.touch(addr, Instant::now());
        let mut resp = RemotingCommand::success().with_ext("changed", changed);
        if let Some(v) = ours {
            resp.body = body::to_vec(&v).into();
        }
        Ok(resp)
    }

    fn route_by_topic(&self, req: &RemotingCommand) -> Reply {
        let topic = req.req_str("topic")?;
        self.metrics.route_lookups.inc();
        match self.routes.route(topic) {
            Some(route) => Ok(json_ok(&route)),
            None => {
                self.metrics.route_misses.inc();
                Err(Refusal::TopicNotExist(format!(
                    "No topic route info in name server for the topic: {topic}"
                )))
            }
        }
    }

    fn put_kv(&self, req: &RemotingCommand) -> Reply {
        let ns = req.req_str("namespace")?;
        let key = req.req_str("key")?;
        let value = req.req_str("value")?;
        if ns.len() + key.len() + value.len() > MAX_KV_ITEM_BYTES {
            return Err(Refusal::InvalidParameter(format!(
                "a KV config item may hold at most {MAX_KV_ITEM_BYTES} bytes"
            )));
        }
        let mut kv = self.kv.write();
        let count: usize = kv.values().map(HashMap::len).sum();
        let exists = kv.get(ns).is_some_and(|m| m.contains_key(key));
        if !exists && count >= MAX_KV_ITEMS {
            return Err(Refusal::LimitReached {
                limit: "max-kv-items",
                message: format!("the name server holds {MAX_KV_ITEMS} KV config items, its limit"),
            });
        }
        kv.entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        self.metrics
            .kv_items
            .set((count + usize::from(!exists)) as i64);
        Ok(RemotingCommand::success())
    }

    fn get_kv(&self, req: &RemotingCommand) -> Reply {
        let ns = req.req_str("namespace")?;
        let key = req.req_str("key")?;
        match self.kv.read().get(ns).and_then(|m| m.get(key)) {
            Some(v) => Ok(RemotingCommand::success().with_ext("value", v)),
            None => Err(Refusal::QueryNotFound(format!(
                "No config item, Namespace: {ns} Key: {key}"
            ))),
        }
    }

    fn delete_kv(&self, req: &RemotingCommand) -> Reply {
        let ns = req.req_str("namespace")?;
        let key = req.req_str("key")?;
        let mut kv = self.kv.write();
        if let Some(m) = kv.get_mut(ns) {
            m.remove(key);
            if m.is_empty() {
                kv.remove(ns);
            }
        }
        Ok(RemotingCommand::success())
    }
}

fn json_ok<T: serde::Serialize>(v: &T) -> RemotingCommand {
    RemotingCommand::success().with_body(body::to_vec(v))
}
