//! The name server's request handlers. [`NamesrvHandler::dispatch`] is the one table of codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_net::connection::not_supported;
use ferromq_net::{Connection, Handler};
use ferromq_protocol::body::{
    self, DataVersion, RegisterBrokerBody, TopicConfigWrapper, TopicList,
};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::{HeaderError, RemotingCommand};
use parking_lot::RwLock;

use crate::routes::{Registration, RouteInfoManager, DEFAULT_BROKER_TIMEOUT};

/// Serves name-server requests.
pub struct NamesrvHandler {
    routes: Arc<RouteInfoManager>,
    /// KV config: namespace → key → value.
    kv: RwLock<HashMap<String, HashMap<String, String>>>,
}

type Reply = Result<RemotingCommand, RemotingCommand>;

fn header(e: HeaderError) -> RemotingCommand {
    e.to_response()
}

impl Handler for NamesrvHandler {
    async fn handle(
        self: &Arc<Self>,
        conn: Connection,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(self.dispatch(&conn, &req).unwrap_or_else(|e| e))
    }

    fn on_close(self: &Arc<Self>, conn: &Connection) {
        self.routes.connection_closed(conn.id());
    }
}

impl NamesrvHandler {
    pub fn new(routes: Arc<RouteInfoManager>) -> Self {
        Self {
            routes,
            kv: RwLock::new(HashMap::new()),
        }
    }

    /// Every request code the name server serves, in one place.
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
                let cluster = req.req_str("cluster").map_err(header)?;
                Ok(json_ok(&TopicList {
                    topic_list: self.routes.topics_of_cluster(cluster),
                    broker_addr: None,
                }))
            }
            rq::DELETE_TOPIC_IN_NAMESRV => {
                let topic = req.req_str("topic").map_err(header)?;
                self.routes.delete_topic(topic, req.ext("clusterName"));
                Ok(RemotingCommand::success())
            }
            rq::PUT_KV_CONFIG => self.put_kv(req),
            rq::GET_KV_CONFIG => self.get_kv(req),
            rq::DELETE_KV_CONFIG => self.delete_kv(req),
            other => Err(not_supported(other)),
        }
    }

    fn register_broker(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        let broker_name = req.req_str("brokerName").map_err(header)?.to_string();
        let broker_addr = req.req_str("brokerAddr").map_err(header)?.to_string();
        let cluster = req.req_str("clusterName").map_err(header)?.to_string();
        let broker_id = req.req_i64("brokerId").map_err(header)?;
        let timeout = req
            .opt_i64("heartbeatTimeoutMillis")
            .map_err(header)?
            .filter(|t| *t > 0)
            .map(|t| Duration::from_millis(t as u64))
            .unwrap_or(DEFAULT_BROKER_TIMEOUT);
        if let Some(crc) = req
            .opt_i64("bodyCrc32")
            .map_err(header)?
            .filter(|c| *c != 0)
        {
            let actual = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i64;
            if actual != crc {
                return Err(RemotingCommand::error(rs::SYSTEM_ERROR, "crc32 not match"));
            }
        }
        if req.opt_bool("compressed").map_err(header)? == Some(true) {
            return Err(RemotingCommand::error(
                rs::SYSTEM_ERROR,
                "compressed broker registration is not supported; set compressedRegister=false",
            ));
        }
        let wrapper = if req.body.is_empty() {
            TopicConfigWrapper::default()
        } else {
            let parsed: RegisterBrokerBody =
                body::parse(&req.body).map_err(|e| RemotingCommand::error(rs::SYSTEM_ERROR, e))?;
            if parsed
                .topic_config_serialize_wrapper
                .topic_config_table
                .is_empty()
            {
                // Brokers older than V3_0_11 send the wrapper bare.
                body::parse::<TopicConfigWrapper>(&req.body)
                    .unwrap_or(parsed.topic_config_serialize_wrapper)
            } else {
                parsed.topic_config_serialize_wrapper
            }
        };
        let topics = wrapper
            .topic_config_table
            .into_iter()
            .map(|(name, mut cfg)| {
                if cfg.topic_name.is_empty() {
                    cfg.topic_name = name;
                }
                cfg
            })
            .collect();
        self.routes.register(
            Registration {
                cluster,
                broker_name,
                broker_addr,
                broker_id,
                timeout,
                data_version: wrapper.data_version,
                topics,
                conn_id: Some(conn.id()),
            },
            Instant::now(),
        );
        Ok(RemotingCommand::success())
    }

    fn unregister_broker(&self, req: &RemotingCommand) -> Reply {
        let addr = req.req_str("brokerAddr").map_err(header)?;
        self.routes.unregister(addr);
        Ok(RemotingCommand::success())
    }

    fn broker_heartbeat(&self, req: &RemotingCommand) -> Reply {
        let addr = req.req_str("brokerAddr").map_err(header)?;
        self.routes.touch(addr, Instant::now());
        Ok(RemotingCommand::success())
    }

    fn query_data_version(&self, req: &RemotingCommand) -> Reply {
        let addr = req.req_str("brokerAddr").map_err(header)?;
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
        let topic = req.req_str("topic").map_err(header)?;
        match self.routes.route(topic) {
            Some(route) => Ok(json_ok(&route)),
            None => Err(RemotingCommand::error(
                rs::TOPIC_NOT_EXIST,
                format!("No topic route info in name server for the topic: {topic}"),
            )),
        }
    }

    fn put_kv(&self, req: &RemotingCommand) -> Reply {
        let ns = req.req_str("namespace").map_err(header)?;
        let key = req.req_str("key").map_err(header)?;
        let value = req.req_str("value").map_err(header)?;
        self.kv
            .write()
            .entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        Ok(RemotingCommand::success())
    }

    fn get_kv(&self, req: &RemotingCommand) -> Reply {
        let ns = req.req_str("namespace").map_err(header)?;
        let key = req.req_str("key").map_err(header)?;
        match self.kv.read().get(ns).and_then(|m| m.get(key)) {
            Some(v) => Ok(RemotingCommand::success().with_ext("value", v)),
            None => Err(RemotingCommand::error(
                rs::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {ns} Key: {key}"),
            )),
        }
    }

    fn delete_kv(&self, req: &RemotingCommand) -> Reply {
        let ns = req.req_str("namespace").map_err(header)?;
        let key = req.req_str("key").map_err(header)?;
        if let Some(m) = self.kv.write().get_mut(ns) {
            m.remove(key);
        }
        Ok(RemotingCommand::success())
    }
}

fn json_ok<T: serde::Serialize>(v: &T) -> RemotingCommand {
    RemotingCommand::success().with_body(body::to_vec(v))
}
