//! Memory is bounded by what is configured, not by what clients send: a broker holding 100,000
//! subscription groups and 10,000 idle connections stays within a stated RSS.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{pull_at, Server};
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::response as rs;

/// The bound this test holds the broker to (measured: see docs/reliability.md).
const RSS_BOUND_MIB: u64 = 512;
const GROUPS: usize = 100_000;
const CONNECTIONS: usize = 10_000;

fn rss_mib(pid: u32) -> u64 {
    common::rss_kib(pid).expect("the broker's VmRSS") / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_groups_and_ten_thousand_idle_connections() {
    let mut server = Server::standalone(&[]);
    let pid = server.pid().unwrap();
    let addr = server.broker_addr();
    let client = Arc::new(MqClient::new(
        &server.namesrv_addr(),
        Duration::from_secs(30),
    ));
    client
        .create_topic(&addr, &TopicConfig::new("R", 1))
        .await
        .unwrap();
    let baseline = rss_mib(pid);

    // 100,000 groups, each created by its first pull (as upstream auto-creates them).
    let started = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|w| {
            let (client, addr) = (client.clone(), addr.clone());
            tokio::spawn(async move {
                for i in (w..GROUPS).step_by(32) {
                    let group = format!("Group{i:06}");
                    let p = pull_at(&group, "R", 0, 0, 1);
                    let r = client.pull(&addr, &p).await.unwrap();
                    assert_eq!(r.code, rs::PULL_NOT_FOUND);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let groups_took = started.elapsed();
    let with_groups = rss_mib(pid);

    // 10,000 idle connections.
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        conns.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_conns = rss_mib(pid);
    // Still serving.
    assert_eq!(
        client.max_offset(&addr, "R", 0).await.unwrap(),
        0,
        "the broker answers with every connection open"
    );
    println!(
        "rss: baseline {baseline} MiB, +{GROUPS} groups {with_groups} MiB ({groups_took:?}), \
         +{CONNECTIONS} idle connections {with_conns} MiB (bound {RSS_BOUND_MIB} MiB)"
    );
    assert!(
        with_conns <= RSS_BOUND_MIB,
        "RSS {with_conns} MiB over the bound of {RSS_BOUND_MIB} MiB"
    );
    drop(conns);
    server.stop();
}
