//! The cluster as the admin sees it: name servers, brokers, routes and capabilities.

use std::collections::BTreeMap;
use std::time::Duration;

use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::body::progress::Capabilities;
use ferromq_protocol::body::{self, ClusterInfo, TopicRouteData};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::AdminError;

/// A master broker: its name and address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Broker {
    pub name: String,
    pub addr: String,
}

pub struct Cluster {
    pub client: MqClient,
    pub namesrv: Vec<String>,
    /// Behave as against brokers without ferromq's extensions.
    pub no_extensions: bool,
}

fn ns_error(namesrv: &[String], e: &ClientError) -> AdminError {
    AdminError::Namesrv(format!(
        "no name server answered ({}): {e}",
        namesrv.join(";")
    ))
}

impl Cluster {
    /// # Errors
    /// No name server given, or TLS options that do not load.
    pub fn new(
        namesrv: &str,
        timeout: Duration,
        no_extensions: bool,
        connect: &ferromq_client::ConnectArgs,
    ) -> Result<Self, AdminError> {
        let list: Vec<String> = namesrv
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if list.is_empty() {
            return Err(AdminError::Usage(
                "no name server: pass -n host:port or set FERROMQ_NAMESRV".into(),
            ));
        }
        let options = connect
            .options()
            .map_err(|e| AdminError::Usage(format!("TLS: {e}")))?;
        Ok(Self {
            client: MqClient::with_options(namesrv, timeout, options),
            namesrv: list,
            no_extensions,
        })
    }

    /// A request to the first name server that answers.
    pub async fn namesrv_call(&self, cmd: RemotingCommand) -> Result<RemotingCommand, AdminError> {
        let mut last = None;
        for ns in &self.namesrv {
            match self.client.remoting.invoke(ns, cmd.clone()).await {
                Ok(r) => return Ok(r),
                Err(e @ ClientError::Server { .. }) => {
                    return Err(AdminError::Failed(format!("name server {ns}: {e}")))
                }
                Err(e) => last = Some(e),
            }
        }
        Err(ns_error(
            &self.namesrv,
            &last.unwrap_or(ClientError::Decode("no name server".into())),
        ))
    }

    pub async fn cluster_info(&self) -> Result<ClusterInfo, AdminError> {
        let r = self
            .namesrv_call(RemotingCommand::request(rq::GET_BROKER_CLUSTER_INFO))
            .await?;
        body::parse(&r.body).map_err(|e| AdminError::Failed(format!("cluster info: {e}")))
    }

    /// Every master broker, by name.
    pub async fn all_brokers(&self) -> Result<Vec<Broker>, AdminError> {
        let info = self.cluster_info().await?;
        let mut v: Vec<Broker> = info
            .broker_addr_table
            .values()
            .filter_map(|b| {
                b.master_addr().map(|a| Broker {
                    name: b.broker_name.clone(),
                    addr: a.to_string(),
                })
            })
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(AdminError::Failed("the name server knows no broker".into()));
        }
        Ok(v)
    }

    /// The route of a topic, `None` when no name server knows it.
    pub async fn route(&self, topic: &str) -> Result<Option<TopicRouteData>, AdminError> {
        match self.client.route(topic).await {
            Ok(r) => Ok(Some(r)),
            Err(ClientError::NoRoute(_)) => Ok(None),
            Err(e @ ClientError::Server { .. }) => {
                Err(AdminError::Failed(format!("route of topic {topic}: {e}")))
            }
            Err(e) => Err(ns_error(&self.namesrv, &e)),
        }
    }

    /// The masters holding a topic's queues, with their read queue count; `None` for an unknown topic.
    pub async fn topic_brokers(
        &self,
        topic: &str,
    ) -> Result<Option<Vec<(Broker, i32)>>, AdminError> {
        let Some(route) = self.route(topic).await? else {
            return Ok(None);
        };
        let addrs: BTreeMap<&str, &str> = route
            .broker_datas
            .iter()
            .filter_map(|b| b.master_addr().map(|a| (b.broker_name.as_str(), a)))
            .collect();
        let mut v: Vec<(Broker, i32)> = route
            .queue_datas
            .iter()
            .filter_map(|q| {
                addrs.get(q.broker_name.as_str()).map(|a| {
                    (
                        Broker {
                            name: q.broker_name.clone(),
                            addr: (*a).to_string(),
                        },
                        q.read_queue_nums,
                    )
                })
            })
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        if v.is_empty() {
            return Ok(None);
        }
        Ok(Some(v))
    }

    /// Whether the broker serves ferromq's extensions (FERRO_CAPABILITIES).
    pub async fn is_ferro(&self, b: &Broker) -> Result<bool, AdminError> {
        self.probe(b).await?.ok_or_else(|| AdminError::Broker {
            broker: b.name.clone(),
            addr: b.addr.clone(),
            message: "does not answer".into(),
        })
    }

    /// Whether `b` serves ferromq's extensions; `Ok(None)` when it does not answer at all (the
    /// operation then reports it as failed instead of refusing to start).
    pub async fn probe(&self, b: &Broker) -> Result<Option<bool>, AdminError> {
        if self.no_extensions {
            return Ok(Some(false));
        }
        let r = match self
            .client
            .remoting
            .invoke_raw(&b.addr, RemotingCommand::request(rq::FERRO_CAPABILITIES))
            .await
        {
            Ok(r) => r,
            Err(ClientError::Net(_)) => return Ok(None),
            Err(e) => return Err(AdminError::broker(b, &e)),
        };
        if r.code != rs::SUCCESS {
            return Ok(Some(false));
        }
        // Another server may answer 9000 with a body of its own: only ferromq's counts.
        let caps = serde_json::from_slice::<Capabilities>(&r.body).ok();
        Ok(Some(caps.is_some_and(|c| c.server == "ferromq")))
    }

    /// Whether every broker that answers serves ferromq's extensions (brokers that do not
    /// answer are left to the operation, which reports them). Fails when none answers.
    pub async fn all_ferro(&self, brokers: &[Broker]) -> Result<bool, AdminError> {
        let mut answered = false;
        for b in brokers {
            match self.probe(b).await? {
                Some(false) => return Ok(false),
                Some(true) => answered = true,
                None => {}
            }
        }
        if !answered && !brokers.is_empty() {
            return Err(AdminError::Failed(format!(
                "no broker answers: {}",
                brokers
                    .iter()
                    .map(|b| format!("{} ({})", b.name, b.addr))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(true)
    }

    /// Fails with a clear message when a broker does not serve ferromq's extensions. Brokers
    /// that do not answer are skipped: the operation reports them as failed.
    pub async fn require_ferro(&self, brokers: &[Broker], what: &str) -> Result<(), AdminError> {
        for b in brokers {
            if self.probe(b).await? == Some(false) {
                return Err(AdminError::NotSupported(format!(
                    "broker {} ({}) {}: {what} needs ferromq's offset extensions; use the \
                     upstream commands (resetOffsetByTime, skipAccumulatedMessage, \
                     cloneGroupOffset, consumerProgress)",
                    b.name,
                    b.addr,
                    if self.no_extensions {
                        "is used without extensions (--no-extensions)"
                    } else {
                        "does not serve ferromq's extensions (FERRO_CAPABILITIES)"
                    }
                )));
            }
        }
        Ok(())
    }

    /// One of ferromq's JSON codes on one broker.
    pub async fn ferro<Req: Serialize, Res: DeserializeOwned>(
        &self,
        b: &Broker,
        code: i32,
        req: &Req,
    ) -> Result<Res, ClientError> {
        self.client.ferro(&b.addr, code, req).await
    }

    /// The broker named `name`.
    pub async fn broker_named(&self, name: &str) -> Result<Broker, AdminError> {
        let all = self.all_brokers().await?;
        let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
        all.iter().find(|b| b.name == name).cloned().ok_or_else(|| {
            AdminError::Usage(format!(
                "no broker named {name} (brokers: {})",
                names.join(", ")
            ))
        })
    }
}
