//! Latency of timestamp resets (dry runs) through FERRO_RESET_OFFSETS on a long queue: the
//! broker binary-searches the queue by store time for every request.
//!
//! `cargo run --release -p ferromq-bench --example reset_latency -- <namesrv> <topic> [requests]`

use std::time::{Duration, Instant};

use ferromq_client::MqClient;
use ferromq_protocol::codes::request as rq;
use serde_json::{json, Value};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (namesrv, topic) = (args.get(1).expect("namesrv"), args.get(2).expect("topic"));
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
    let client = MqClient::new(namesrv, Duration::from_secs(10));
    let route = client.route(topic).await.expect("route");
    let addr = route.broker_datas[0]
        .master_addr()
        .expect("master")
        .to_string();
    let max = client
        .max_offset(&addr, topic, 0)
        .await
        .expect("max offset");
    // Store times of the queue's first and last message bound the timestamps we ask for.
    let first = store_time(&client, &addr, topic, 0).await;
    let last = store_time(&client, &addr, topic, max - 1).await;
    println!("queue {topic}:0 holds {max} messages stored {first}..{last}");
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let ts = first + (last - first) * (i as i64) / (n as i64);
        let req = json!({"groups":["ResetBench"],"topics":[{"topic":topic,"queues":[0]}],
                         "spec":{"kind":"timestamp","value":ts},"dryRun":true});
        let t0 = Instant::now();
        let plan: Value = client
            .ferro(&addr, rq::FERRO_RESET_OFFSETS, &req)
            .await
            .expect("reset");
        lat.push(t0.elapsed());
        assert!(plan["queues"][0]["target"].as_i64().is_some());
    }
    // Round trip of a request that does no search, to separate the search from the network.
    let mut base = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        client
            .max_offset(&addr, topic, 0)
            .await
            .expect("max offset");
        base.push(t0.elapsed());
    }
    lat.sort();
    base.sort();
    let p = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize].as_micros();
    println!(
        "timestamp reset (dry run) round trip: p50 {} us  p99 {} us",
        p(&lat, 0.5),
        p(&lat, 0.99)
    );
    println!(
        "GET_MAX_OFFSET round trip:          p50 {} us  p99 {} us",
        p(&base, 0.5),
        p(&base, 0.99)
    );
}

async fn store_time(client: &MqClient, addr: &str, topic: &str, offset: i64) -> i64 {
    let p = ferromq_client::requests::Pull {
        group: "ResetBench",
        topic,
        queue_id: 0,
        offset,
        max_msgs: 1,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    client.pull(addr, &p).await.expect("pull").messages[0].store_timestamp
}
