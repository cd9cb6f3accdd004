//! In-process clusters for integration tests: a name server and N brokers on free loopback
//! ports, each broker with its own temporary data directory, and a client pointed at them.

use std::path::PathBuf;
use std::time::Duration;

use ferromq_broker::{Broker, BrokerConfig, RunningBroker};
use ferromq_client::MqClient;
use ferromq_namesrv::{NameServer, NamesrvConfig};
use tokio_util::sync::CancellationToken;

/// A name server and its brokers. Stop brokers with [`Cluster::stop_broker`] or
/// [`Cluster::shutdown`]; dropping the cluster abandons them (their tasks end with the runtime).
pub struct Cluster {
    pub namesrv_addr: String,
    ns_shutdown: CancellationToken,
    pub brokers: Vec<Option<RunningBroker>>,
    pub dirs: Vec<tempfile::TempDir>,
    configs: Vec<BrokerConfig>,
}

/// Tweaks applied to every broker's config before start.
pub type Tweak = fn(&mut BrokerConfig);

impl Cluster {
    /// Starts a name server and `brokers` brokers (named broker-0, broker-1, …).
    pub async fn start(brokers: usize) -> Cluster {
        Self::start_with(brokers, |_| {}).await
    }

    /// Like [`Cluster::start`], with `tweak` applied to each broker config.
    pub async fn start_with(brokers: usize, tweak: Tweak) -> Cluster {
        let ns_shutdown = CancellationToken::new();
        let ns = NameServer::start(
            NamesrvConfig {
                listen: "127.0.0.1:0".into(),
                ..NamesrvConfig::default()
            },
            ns_shutdown.clone(),
        )
        .await
        .expect("name server starts");
        let mut cluster = Cluster {
            namesrv_addr: ns.local_addr.to_string(),
            ns_shutdown,
            brokers: Vec::new(),
            dirs: Vec::new(),
            configs: Vec::new(),
        };
        for i in 0..brokers {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut cfg = BrokerConfig {
                broker_name: format!("broker-{i}"),
                port: 0,
                fast_port: 0,
                namesrv: cluster.namesrv_addr.clone(),
                data_dir: dir.path().to_path_buf(),
                segment_size: 16 * 1024 * 1024,
                max_message_size: 4 * 1024 * 1024,
                register_interval_secs: 2,
                message_delay_level: "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s".into(),
                ..BrokerConfig::default()
            };
            tweak(&mut cfg);
            cluster.dirs.push(dir);
            cluster.configs.push(cfg.clone());
            cluster.brokers.push(Some(start_broker(cfg).await));
        }
        cluster
    }

    /// The address of broker `i`.
    pub fn broker_addr(&self, i: usize) -> String {
        self.brokers[i]
            .as_ref()
            .expect("broker running")
            .addr
            .to_string()
    }

    /// The data directory of broker `i`.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dirs[i].path().to_path_buf()
    }

    /// A client of this cluster.
    pub fn client(&self) -> MqClient {
        MqClient::new(&self.namesrv_addr, Duration::from_secs(10))
    }

    /// Stops broker `i` cleanly (flushing everything).
    pub async fn stop_broker(&mut self, i: usize) {
        if let Some(b) = self.brokers[i].take() {
            b.stop().await.expect("broker stops cleanly");
        }
    }

    /// Starts broker `i` again on the same data directory and port.
    pub async fn restart_broker(&mut self, i: usize) {
        self.stop_broker(i).await;
        let mut cfg = self.configs[i].clone();
        cfg.port = 0;
        self.brokers[i] = Some(start_broker(cfg).await);
    }

    /// Stops every broker, then the name server.
    pub async fn shutdown(mut self) {
        for i in 0..self.brokers.len() {
            self.stop_broker(i).await;
        }
        self.ns_shutdown.cancel();
    }
}

async fn start_broker(cfg: BrokerConfig) -> RunningBroker {
    let mut b = Broker::start(cfg).await.expect("broker starts");
    b.wait_registered(Duration::from_secs(10))
        .await
        .expect("broker registers");
    b
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
