//! The name server.
//!
//! - [`routes`]: [`RouteInfoManager`], the registry of brokers, clusters and topic queues, with
//!   liveness (brokers silent for their timeout, 120 s by default, are dropped).
//! - [`handlers`]: the request-code dispatch table (one `match`) and a function per code.
//! - [`NameServer`]: binds the listener and runs the expiry scan.

// Handlers answer `Result<RemotingCommand, RemotingCommand>`: both outcomes are a response of
// the same type, so boxing the error side would only add an allocation to the error path.
#![allow(clippy::result_large_err)]

pub mod handlers;
pub mod metrics;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferromq_net::ConnConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use routes::RouteInfoManager;

/// Name-server settings.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct NamesrvConfig {
    /// Address to listen on.
    pub listen: String,
    /// Answer routes for unknown topics from the `TBW102` template, when a broker registered it
    /// (it does only when it allows topic auto-creation). Needed by clients such as ali-ons that
    /// cannot fall back to `TBW102` themselves.
    pub auto_create_routes: bool,
    /// Queue count announced for a topic that will be auto-created.
    pub auto_create_queue_nums: i32,
    /// How often dead brokers are looked for.
    #[serde(with = "millis")]
    pub scan_interval: Duration,
    /// Port of the Prometheus endpoint (`/metrics`) on the listen address's IP; 0 disables it.
    pub metrics_port: u16,
    /// TLS of the listening port; set from the file's top-level `[tls]`.
    #[serde(skip)]
    pub tls: ferromq_tls::TlsSettings,
    /// Refuse every request until a [`RequestGuard`] is installed ([`NameServer::guard`]):
    /// set when the process authenticates requests, so the name server never serves unchecked
    /// in the moment before its guard exists.
    #[serde(skip)]
    pub guarded: bool,
}

/// Authenticates and authorizes one request (the broker's ACL check, shared with the embedded
/// name server); may add fields to it.
pub type RequestGuard = Arc<
    dyn Fn(
            &mut ferromq_protocol::RemotingCommand,
            std::net::IpAddr,
        ) -> Result<(), ferromq_protocol::Refusal>
        + Send
        + Sync,
>;

/// The guard slot of a name server: empty and unguarded serves everything; empty and guarded
/// refuses everything.
#[derive(Default)]
pub struct Guard {
    guarded: bool,
    check: std::sync::OnceLock<RequestGuard>,
}

impl Guard {
    /// Installs the check (once; a second call is ignored).
    pub fn install(&self, check: RequestGuard) {
        let _ = self.check.set(check);
    }

    fn check(
        &self,
        req: &mut ferromq_protocol::RemotingCommand,
        ip: std::net::IpAddr,
    ) -> Result<(), ferromq_protocol::Refusal> {
        match self.check.get() {
            Some(check) => check(req, ip),
            None if self.guarded => Err(ferromq_protocol::Refusal::NoPermission {
                message: "the name server is starting: credentials cannot be checked yet".into(),
                forbidden_type: None,
            }),
            None => Ok(()),
        }
    }
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9876".into(),
            auto_create_routes: true,
            auto_create_queue_nums: 4,
            scan_interval: Duration::from_secs(5),
            metrics_port: 0,
            tls: ferromq_tls::TlsSettings::default(),
            guarded: false,
        }
    }
}

/// A running name server.
pub struct NameServer {
    pub routes: Arc<RouteInfoManager>,
    pub local_addr: SocketAddr,
    /// Where `/metrics` is served, when enabled and bound.
    pub metrics_addr: Option<SocketAddr>,
    /// Where a process that checks credentials installs the check.
    pub guard: Arc<Guard>,
}

impl NameServer {
    /// Binds and starts serving until `shutdown` is cancelled.
    ///
    /// # Errors
    /// When the listen address cannot be bound.
    pub async fn start(
        cfg: NamesrvConfig,
        shutdown: CancellationToken,
    ) -> std::io::Result<NameServer> {
        // A certificate that does not load stops the start before the port is open.
        let tls = ferromq_tls::ServerTls::start(&cfg.tls, &shutdown)
            .and_then(|t| t.acceptor(&[]))
            .map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("tls: {e}"))
            })?;
        let listener = TcpListener::bind(&cfg.listen).await?;
        let local_addr = listener.local_addr()?;
        let routes = Arc::new(RouteInfoManager::new(
            cfg.auto_create_routes,
            cfg.auto_create_queue_nums,
        ));
        let metrics = Arc::new(metrics::NamesrvMetrics::default());
        let guard = Arc::new(Guard {
            guarded: cfg.guarded,
            check: std::sync::OnceLock::new(),
        });
        let handler = Arc::new(handlers::NamesrvHandler::new(
            routes.clone(),
            metrics.clone(),
            guard.clone(),
        ));
        let metrics_addr = match cfg.metrics_port {
            0 => None,
            port => {
                let render_routes = routes.clone();
                ferromq_metrics::serve(
                    SocketAddr::new(local_addr.ip(), port),
                    move || metrics.render(&render_routes),
                    shutdown.clone(),
                )
                .await
            }
        };
        tokio::spawn(ferromq_net::serve(
            listener,
            handler,
            ConnConfig::default(),
            tls,
            shutdown.clone(),
        ));
        let scan_routes = routes.clone();
        let interval = cfg.scan_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => scan_routes.expire_dead_brokers(std::time::Instant::now()),
                    _ = shutdown.cancelled() => break,
                }
            }
        });
        info!(%local_addr, "name server listening");
        Ok(NameServer {
            routes,
            local_addr,
            metrics_addr,
            guard,
        })
    }
}
