//! Which queues of which brokers a run uses, from the topic's route; creating the topic.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::body::{TopicConfig, TopicRouteData};
use ferromq_protocol::codes::perm;
use tracing::{info, warn};

use crate::BenchError;

/// The topic upstream clients fall back on when a topic has no route: brokers that auto-create
/// topics accept sends to any topic on the queues it lists.
const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Queues per broker a Java producer uses through [`AUTO_CREATE_TOPIC`] (`defaultTopicQueueNums`).
const AUTO_CREATE_QUEUES: i32 = 4;
/// How long to wait for a created topic to show up in the name server's route.
const ROUTE_WAIT: Duration = Duration::from_secs(40);

/// One queue of one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueTarget {
    pub broker_name: String,
    pub addr: String,
    pub queue_id: i32,
}

fn queues(
    route: &TopicRouteData,
    need: i32,
    count: impl Fn(&ferromq_protocol::body::QueueData) -> i32,
) -> Vec<QueueTarget> {
    let mut out = Vec::new();
    for qd in route.queue_datas.iter().filter(|q| q.perm & need != 0) {
        let Some(addr) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == qd.broker_name)
            .and_then(|b| b.master_addr())
        else {
            warn!(broker = %qd.broker_name, "broker has no master in the route; its queues are skipped");
            continue;
        };
        out.extend((0..count(qd)).map(|queue_id| QueueTarget {
            broker_name: qd.broker_name.clone(),
            addr: addr.to_string(),
            queue_id,
        }));
    }
    // Interleave the brokers (q0 of each, then q1 of each, ...) so that round-robin spreads
    // consecutive requests over brokers as well as queues.
    out.sort_by(|a, b| (a.queue_id, &a.broker_name).cmp(&(b.queue_id, &b.broker_name)));
    out
}

/// The writable queues of the route, at most `cap` per broker.
pub(crate) fn writable_queues(route: &TopicRouteData, cap: Option<i32>) -> Vec<QueueTarget> {
    queues(route, perm::WRITE, |q| {
        cap.map_or(q.write_queue_nums, |c| q.write_queue_nums.min(c))
    })
}

/// The readable queues of the route.
pub(crate) fn readable_queues(route: &TopicRouteData) -> Vec<QueueTarget> {
    queues(route, perm::READ, |q| q.read_queue_nums)
}

/// A one-line description of the queues: `8 queues on 1 broker (broker-a 127.0.0.1:10911)`.
pub(crate) fn describe(targets: &[QueueTarget]) -> String {
    let brokers: BTreeSet<(&str, &str)> = targets
        .iter()
        .map(|t| (t.broker_name.as_str(), t.addr.as_str()))
        .collect();
    let list: Vec<String> = brokers.iter().map(|(n, a)| format!("{n} {a}")).collect();
    format!(
        "{} queue{} on {} broker{} ({})",
        targets.len(),
        if targets.len() == 1 { "" } else { "s" },
        brokers.len(),
        if brokers.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// The route of `topic`, or `None` when no name server knows it.
pub(crate) async fn route_if_any(
    client: &MqClient,
    topic: &str,
) -> Result<Option<TopicRouteData>, BenchError> {
    match client.route(topic).await {
        Ok(r) => Ok(Some(r)),
        Err(ClientError::NoRoute(_)) => Ok(None),
        Err(source) => Err(BenchError::Cluster {
            context: format!("cannot get the route of topic {topic} from the name servers"),
            source,
        }),
    }
}

/// Whether every broker in `brokers` offers at least `queues` writable queues of the route.
fn has_queues_on(route: &TopicRouteData, brokers: &BTreeSet<&str>, queues: i32) -> bool {
    brokers.iter().all(|name| {
        route.queue_datas.iter().any(|q| {
            q.broker_name == *name && q.perm & perm::WRITE != 0 && q.write_queue_nums >= queues
        })
    })
}

/// The queues a produce run sends to.
///
/// With `create`, the topic is created (or grown) with that many queues on every master that
/// does not offer as many already: name servers that answer unknown topics with a template
/// route (ferromq's does) would otherwise hide that the topic does not exist. Without it, a
/// topic without a route is sent through the auto-create topic's route.
pub(crate) async fn produce_targets(
    client: &MqClient,
    topic: &str,
    create: Option<u32>,
) -> Result<Vec<QueueTarget>, BenchError> {
    let route = route_if_any(client, topic).await?;
    if let Some(n) = create {
        let n = n as i32;
        let brokers = client
            .broker_addrs()
            .await
            .map_err(|source| BenchError::Cluster {
                context: "cannot get the cluster's brokers from the name servers".into(),
                source,
            })?;
        if brokers.is_empty() {
            return Err(BenchError::Route(
                "the name server knows no master broker to create the topic on".into(),
            ));
        }
        let names: BTreeSet<&str> = brokers.iter().map(|(n, _)| n.as_str()).collect();
        // Ask each broker rather than trusting the route: name servers may answer a template
        // route for topics that do not exist yet (auto-creation).
        let mut created = false;
        for (name, addr) in &brokers {
            if broker_queues(client, addr, topic)
                .await
                .is_some_and(|q| q >= n)
            {
                continue;
            }
            let cfg = TopicConfig::new(topic, n);
            client
                .create_topic(addr, &cfg)
                .await
                .map_err(|source| BenchError::Cluster {
                    context: format!("cannot create topic {topic} on broker {name} at {addr}"),
                    source,
                })?;
            info!(topic, broker = %name, %addr, queues = n, "created the topic");
            created = true;
        }
        if created || !route.as_ref().is_some_and(|r| has_queues_on(r, &names, n)) {
            return wait_for_route(client, topic, &names, n).await;
        }
    }
    if let Some(route) = route {
        let targets = writable_queues(&route, None);
        if !targets.is_empty() {
            return Ok(targets);
        }
        warn!(topic, "the topic's route has no writable queue");
    }
    if let Some(route) = route_if_any(client, AUTO_CREATE_TOPIC).await? {
        let targets = writable_queues(&route, Some(AUTO_CREATE_QUEUES));
        if !targets.is_empty() {
            warn!(topic, "the topic has no route; sending through {AUTO_CREATE_TOPIC} (works when the brokers auto-create topics)");
            return Ok(targets);
        }
    }
    Err(BenchError::Route(format!(
        "topic {topic} has no route and the brokers do not offer {AUTO_CREATE_TOPIC}; create it, or pass --create-topic-queues N"
    )))
}

/// The topic's write queues on one broker (GET_TOPIC_CONFIG); `None` when the broker does not
/// have the topic or cannot say (older brokers do not serve the code).
async fn broker_queues(client: &MqClient, addr: &str, topic: &str) -> Option<i32> {
    let req = ferromq_protocol::RemotingCommand::request(
        ferromq_protocol::codes::request::GET_TOPIC_CONFIG,
    )
    .with_ext("topic", topic);
    let resp = client.remoting.invoke(addr, req).await.ok()?;
    let cfg: TopicConfig = ferromq_protocol::body::parse(&resp.body).ok()?;
    Some(cfg.write_queue_nums)
}

/// Waits until the route shows `queues` writable queues on every broker of `brokers`.
async fn wait_for_route(
    client: &MqClient,
    topic: &str,
    brokers: &BTreeSet<&str>,
    queues: i32,
) -> Result<Vec<QueueTarget>, BenchError> {
    let deadline = Instant::now() + ROUTE_WAIT;
    loop {
        let route = route_if_any(client, topic).await?;
        if let Some(route) = &route {
            if has_queues_on(route, brokers, queues) {
                return Ok(writable_queues(route, None));
            }
        }
        if Instant::now() >= deadline {
            let targets = route.map(|r| writable_queues(&r, None)).unwrap_or_default();
            if targets.is_empty() {
                return Err(BenchError::Route(format!(
                    "created topic {topic}, but no route appeared within {ROUTE_WAIT:?}"
                )));
            }
            warn!(topic, "the route did not show the created queues on every broker in time; using what it shows");
            return Ok(targets);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::body::{BrokerData, QueueData};

    fn route() -> TopicRouteData {
        let broker = |name: &str, addr: Option<&str>| BrokerData {
            broker_name: name.into(),
            cluster: "c".into(),
            broker_addrs: addr
                .map(|a| [("0".to_string(), a.to_string())].into_iter().collect())
                .unwrap_or_default(),
            ..BrokerData::default()
        };
        let qd = |name: &str, r: i32, w: i32, perm: i32| QueueData {
            broker_name: name.into(),
            read_queue_nums: r,
            write_queue_nums: w,
            perm,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            broker_datas: vec![
                broker("b", Some("h2:2")),
                broker("a", Some("h1:1")),
                broker("slaveonly", None),
            ],
            queue_datas: vec![qd("a", 2, 3, 6), qd("b", 1, 2, 6), qd("slaveonly", 4, 4, 6)],
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn writable_queues_interleave_brokers_and_skip_masterless_ones() {
        let t = writable_queues(&route(), None);
        let got: Vec<(&str, &str, i32)> = t
            .iter()
            .map(|q| (q.broker_name.as_str(), q.addr.as_str(), q.queue_id))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "h1:1", 0),
                ("b", "h2:2", 0),
                ("a", "h1:1", 1),
                ("b", "h2:2", 1),
                ("a", "h1:1", 2)
            ]
        );
        assert_eq!(writable_queues(&route(), Some(1)).len(), 2);
        assert_eq!(describe(&t), "5 queues on 2 brokers (a h1:1, b h2:2)");
    }

    #[test]
    fn permissions_are_respected() {
        let mut r = route();
        r.queue_datas[0].perm = perm::READ; // a: read-only
        r.queue_datas[1].perm = perm::WRITE; // b: write-only
        let w: Vec<_> = writable_queues(&r, None)
            .into_iter()
            .map(|q| q.broker_name)
            .collect();
        assert_eq!(w, vec!["b", "b"]);
        let rd: Vec<_> = readable_queues(&r)
            .into_iter()
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        assert_eq!(rd, vec![("a".to_string(), 0), ("a".to_string(), 1)]);
    }

    #[test]
    fn queue_counts_per_broker() {
        let r = route();
        let ab: BTreeSet<&str> = ["a", "b"].into_iter().collect();
        assert!(has_queues_on(&r, &ab, 2));
        assert!(!has_queues_on(&r, &ab, 3)); // b has 2
        assert!(!has_queues_on(&r, &["a", "c"].into_iter().collect(), 1)); // c has none
    }
}
