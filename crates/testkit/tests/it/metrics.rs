//! The broker's Prometheus endpoint: traffic, lag, store and limit figures, scraped over HTTP.

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests::Pull;
use ferromq_testkit::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static METRICS_PORT: AtomicU16 = AtomicU16::new(0);

fn with_metrics(cfg: &mut ferromq_broker::BrokerConfig) {
    cfg.metrics_port = METRICS_PORT.load(Ordering::SeqCst);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut text))
        .await
        .unwrap()
        .unwrap();
    assert!(
        text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
        "{text}"
    );
    text
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[tokio::test]
async fn traffic_lag_and_store_figures_are_exported() {
    METRICS_PORT.store(free_port(), Ordering::SeqCst);
    let c = Cluster::start_with(1, with_metrics).await;
    let addr = c.broker_addr(0);
    let metrics = c.brokers[0]
        .as_ref()
        .unwrap()
        .metrics_addr
        .expect("metrics endpoint bound");
    let client = c.client();
    for i in 0..10 {
        client
            .send(&addr, "P", "M", 0, Bytes::from(format!("m{i}")), "")
            .await
            .unwrap();
    }
    let p = Pull {
        group: "MG",
        topic: "M",
        queue_id: 0,
        offset: 0,
        max_msgs: 4,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    assert_eq!(client.pull(&addr, &p).await.unwrap().messages.len(), 4);
    client.update_offset(&addr, "MG", "M", 0, 4).await.unwrap();
    let text = scrape(metrics).await;
    assert_eq!(
        value(&text, r#"ferromq_messages_in_total{topic="M"}"#),
        10.0
    );
    assert_eq!(
        value(&text, r#"ferromq_messages_out_total{topic="M"}"#),
        4.0
    );
    assert_eq!(
        value(&text, r#"ferromq_group_lag_messages{group="MG",topic="M"}"#),
        6.0
    );
    assert!(value(&text, r#"ferromq_group_lag_seconds{group="MG",topic="M"}"#) >= 0.0);
    assert!(value(&text, "ferromq_store_bytes") > 0.0);
    assert!(value(&text, "ferromq_connections") >= 1.0);
    assert_eq!(value(&text, "ferromq_held_pulls"), 0.0);
    assert!(text.contains("ferromq_fsync_seconds_bucket"));
    c.shutdown().await;
}
