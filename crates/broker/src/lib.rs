//! The broker: RocketMQ request handlers over the message store and the offset table.
//!
//! Map of the crate:
//! - [`dispatch`]: the one table from request code to handler. Start here to find any code.
//! - [`handlers`]: one module per request family (`send`, `pull`, `offset`, `query`,
//!   `client`, `retry`, `topic`, `group`, `admin`, `transaction`).
//! - [`progress`]: consumer progress as a service (resets, intents, history, undo, lag).
//! - [`topics`], [`groups`]: topic and subscription-group configs, persisted as JSON.
//! - [`clients`]: online consumers and producers per group ([`grpc_clients`]: 5.x gRPC ones); [`locks`]: ordered-consumer locks.
//! - [`pull_hold`]: long-polling wake-ups; [`schedule`]: delay levels; [`register`]: name-server
//!   registration; [`housekeeping`]: expiry of silent clients and retention.
//! - [`pop`]: POP consumption (invisibility windows, acks, redelivery) over `ferromq-pop`.
//! - [`transaction`]: half messages, END_TRANSACTION, check-backs and their recovery.
//! - [`config`]: settings; [`error`]: the mapping of internal errors to response codes.

// Handlers answer `Result<RemotingCommand, RemotingCommand>`: both outcomes are a response of
// the same type, so boxing the error side would only add an allocation to the error path.
#![allow(clippy::result_large_err)]

pub mod access;
pub mod clients;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod filter;
pub mod group_rates;
pub mod groups;
pub mod grpc_clients;
pub mod handlers;
pub mod housekeeping;
pub mod locks;
pub mod metrics;
pub mod persist;
pub mod pop;
pub mod progress;
pub mod pull_hold;
pub mod register;
pub mod remote_consumers;
pub mod request_modes;
pub mod route_lookup;
pub mod schedule;
pub mod stats;
pub mod timer;
pub mod timer_recall;
pub mod topics;
pub mod transaction;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferromq_net::{ConnConfig, Connection, Handler};
use ferromq_offsets::{OffsetStore, OffsetStoreConfig};
use ferromq_protocol::RemotingCommand;
use ferromq_store::{FlushMode, MessageStore, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use config::BrokerConfig;

fn is_loopback(host: &str) -> bool {
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}
pub use error::BrokerError;

/// Everything a handler needs, shared by all connections.
pub struct Broker {
    pub cfg: BrokerConfig,
    pub store: Arc<MessageStore>,
    pub offsets: Arc<OffsetStore>,
    pub topics: topics::TopicManager,
    pub groups: groups::GroupManager,
    pub clients: clients::ClientManager,
    pub locks: locks::LockManager,
    pub pull_hold: pull_hold::PullHold,
    /// How far groups pulled, and reset guards.
    pub pull_state: progress::pull_state::PullState,
    pub stats: stats::Stats,
    /// Messages per second each group pulls from each topic (`consumeTps`).
    pub group_rates: group_rates::GroupRates,
    pub metrics: metrics::BrokerMetrics,
    /// Serialises the resolution of offset intents (see `Progress::resolve`).
    pub intent_resolution: tokio::sync::Mutex<()>,
    /// Compiled SQL92 subscription filters.
    pub filters: filter::FilterCache,
    /// The address written into stored records and message ids (`host:port`).
    pub store_host: SocketAddr,
    pub delay_levels: Vec<Duration>,
    pub shutdown: CancellationToken,
    pub boot_time_ms: i64,
    /// How much of the commit log's tail counts as in memory (40 % of RAM, as upstream's
    /// `accessMessageInMemoryMaxRatio`); decides whether a queue is "young".
    pub memory_resident_bytes: i64,
    /// Half messages waiting for a commit or rollback, and their check-backs.
    pub transactions: transaction::Transactions,
    /// POP consumers' deliveries in flight, journaled under `<data>/pop`.
    pub pop: ferromq_pop::PopTable,
    /// The 5.x gRPC consumers seen per group.
    pub grpc_clients: grpc_clients::GrpcClients,
    /// PULL or POP per topic and group (mqadmin `setConsumeMode`), for QUERY_ASSIGNMENT.
    pub request_modes: request_modes::RequestModes,
    /// Timed messages recalled before their time.
    pub timer_recalls: timer_recall::Recalls,
    /// Consumers reached over the gRPC endpoint's Telemetry streams (set once by it).
    pub remote_consumers: std::sync::OnceLock<Arc<dyn remote_consumers::RemoteConsumers>>,
    /// Users and ACLs, and whether requests are checked against them (`access::check`).
    pub access: access::Access,
    /// What the broker signs its own name-server calls with (`access::inner_credentials`).
    pub inner_credentials: Option<(String, String)>,
    /// TLS of the broker's ports (Remoting, fast port, gRPC), its certificate reloaded in place.
    pub tls: ferromq_tls::ServerTls,
    /// TLS of the broker's own connections to its name servers (`tls.connect_with_tls`).
    pub namesrv_tls: Option<ferromq_tls::ClientTls>,
    /// Connections open now on every port (Remoting, fast port, gRPC): `max-connections`
    /// covers them together.
    pub open_connections: Arc<std::sync::atomic::AtomicUsize>,
}

/// A started broker. Dropping it does not stop it; call [`RunningBroker::stop`].
pub struct RunningBroker {
    pub broker: Arc<Broker>,
    pub addr: SocketAddr,
    pub fast_addr: Option<SocketAddr>,
    /// Where `/metrics` is served, when enabled and bound.
    pub metrics_addr: Option<SocketAddr>,
    registered: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

struct BrokerHandler(Arc<Broker>);

impl Handler for BrokerHandler {
    async fn handle(
        self: &Arc<Self>,
        conn: Connection,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        dispatch::dispatch(&self.0, conn, req).await
    }

    fn on_open(self: &Arc<Self>, _conn: &Connection) {
        self.0.metrics.connections.inc();
    }

    fn on_close(self: &Arc<Self>, conn: &Connection) {
        self.0.metrics.connections.dec();
        for group in self.0.clients.connection_closed(conn.id()) {
            self.0.clients.notify_ids_changed(&group);
        }
    }

    fn on_limit(self: &Arc<Self>, limit: &'static str) {
        self.0.metrics.limit_hit(limit);
    }
}

impl Broker {
    /// Opens the store and offset table (recovering after a crash), binds the ports and starts
    /// serving, registering with the name servers.
    ///
    /// # Errors
    /// Bad configuration, unreadable data, or a port that cannot be bound.
    pub async fn start(cfg: BrokerConfig) -> Result<RunningBroker, BrokerError> {
        cfg.validate().map_err(BrokerError::Config)?;
        let delay_levels = cfg.delay_levels().map_err(BrokerError::Config)?;
        let shutdown = CancellationToken::new();
        // TLS first: a certificate that does not load stops the start before any port is open.
        let tls = ferromq_tls::ServerTls::start(&cfg.tls, &shutdown)
            .map_err(|e| BrokerError::Config(format!("tls: {e}")))?;
        let namesrv_tls = ferromq_tls::ClientTls::from_settings(&cfg.tls)
            .map_err(|e| BrokerError::Config(format!("tls: {e}")))?;
        let listener = TcpListener::bind((cfg.host.as_str(), cfg.port)).await?;
        let addr = listener.local_addr()?;
        let fast_listener = match cfg.fast_port {
            0 => None,
            p => Some(TcpListener::bind((cfg.host.as_str(), p)).await?),
        };
        let mut cfg = cfg;
        cfg.port = addr.port();
        let store = MessageStore::open(StoreConfig {
            root: cfg.data_dir.join("store"),
            segment_size: cfg.segment_size,
            flush: match cfg.flush_disk_type {
                config::FlushDiskType::Async => FlushMode::Async {
                    interval: Duration::from_millis(cfg.flush_interval_ms),
                },
                config::FlushDiskType::Sync => FlushMode::Sync {
                    timeout: Duration::from_secs(5),
                },
            },
            retention: Duration::from_secs(cfg.retention_hours * 3600),
            max_message_size: cfg.max_message_size,
            write_mode: ferromq_store::WriteMode::parse(&cfg.write_mode).unwrap_or_default(),
            index_max_entries: cfg.index_max_entries,
            prefault_ahead: cfg.prefault_ahead,
            ..StoreConfig::default()
        })?;
        // Periodic mode promises "on disk within offset-flush-interval-ms"; writing the log
        // behind by at most 10 ms (one pwrite per burst of commits, not one each) keeps a SIGKILL
        // from losing more than that and measured +15% commits/s. Durable mode is unaffected.
        let tuning = ferromq_offsets::Tuning {
            write_behind: match cfg.offset_durability {
                config::OffsetDurability::Periodic => Some(Duration::from_millis(10)),
                config::OffsetDurability::Durable => None,
            },
            ..ferromq_offsets::Tuning::default()
        };
        let offsets = OffsetStore::open_with(
            OffsetStoreConfig {
                dir: cfg.data_dir.join("offsets"),
                durability: match cfg.offset_durability {
                    config::OffsetDurability::Periodic => ferromq_offsets::Durability::Periodic {
                        interval: Duration::from_millis(cfg.offset_flush_interval_ms),
                    },
                    config::OffsetDurability::Durable => ferromq_offsets::Durability::Durable {
                        timeout: Duration::from_secs(5),
                    },
                },
            },
            tuning,
        )?;
        let config_dir = cfg.data_dir.join("config");
        let topics = topics::TopicManager::load(
            config_dir.join("topics.json"),
            cfg.auto_create_topic,
            cfg.default_topic_queue_nums,
            delay_levels.len(),
            topics::TopicLimits {
                max_topics: cfg.max_topics,
                max_queues: cfg.max_queues,
            },
        )
        .map_err(BrokerError::Config)?;
        let groups = groups::GroupManager::load(
            config_dir.join("subscriptionGroup.json"),
            cfg.auto_create_subscription_group,
            cfg.max_groups,
        )
        .map_err(BrokerError::Config)?;
        let request_modes = request_modes::RequestModes::load(
            config_dir.join("messageRequestMode.json"),
            cfg.max_groups.saturating_mul(4),
        )
        .map_err(BrokerError::Config)?;
        let access = access::Access::open(&cfg, &config_dir).map_err(BrokerError::Config)?;
        let inner_credentials = access::inner_credentials(&cfg).map_err(BrokerError::Config)?;
        if !cfg.authentication_enabled && !is_loopback(&cfg.host) {
            tracing::warn!(host = %cfg.host, "listening beyond loopback with authentication off: anyone who reaches these ports can produce, consume and change offsets (authentication-enabled)");
        }
        let timer_recalls = timer_recall::Recalls::load(config_dir.join("timerRecalled.json"))
            .map_err(BrokerError::Config)?;
        let transactions =
            transaction::Transactions::open(&store, config_dir.clone(), cfg.transaction_timeout_ms);
        let pop = ferromq_pop::PopTable::open(ferromq_pop::PopConfig::new(
            cfg.data_dir.join("pop"),
            cfg.flush_disk_type == config::FlushDiskType::Sync,
        ))
        .map_err(|e| BrokerError::Config(e.to_string()))?;
        let broker = Arc::new(Broker {
            store_host: addr,
            cfg,
            store,
            offsets,
            topics,
            groups,
            clients: clients::ClientManager::default(),
            locks: locks::LockManager::default(),
            pull_hold: pull_hold::PullHold::default(),
            pull_state: progress::pull_state::PullState::default(),
            stats: stats::Stats::default(),
            group_rates: group_rates::GroupRates::default(),
            metrics: metrics::BrokerMetrics::new(),
            intent_resolution: tokio::sync::Mutex::new(()),
            filters: filter::FilterCache::default(),
            delay_levels,
            shutdown: shutdown.clone(),
            boot_time_ms: topics::now_ms(),
            memory_resident_bytes: memory_resident_bytes(),
            transactions,
            pop,
            grpc_clients: grpc_clients::GrpcClients::default(),
            request_modes,
            timer_recalls,
            remote_consumers: std::sync::OnceLock::new(),
            access,
            inner_credentials,
            tls,
            namesrv_tls,
            open_connections: Arc::default(),
        });
        let acceptor = broker
            .tls
            .acceptor(&[])
            .map_err(|e| BrokerError::Config(format!("tls: {e}")))?;
        let conn_cfg = ConnConfig {
            max_frame: broker.cfg.max_frame_bytes,
            send_queue: broker.cfg.max_queued_responses,
            max_inflight: broker.cfg.max_inflight_per_connection,
            max_connections: broker.cfg.max_connections,
            open_connections: broker.open_connections.clone(),
        };
        let metrics_addr = match broker.cfg.metrics_port {
            0 => None,
            port => {
                let ip = broker
                    .cfg
                    .host
                    .parse::<std::net::IpAddr>()
                    .map_err(|e| BrokerError::Config(format!("host: {e}")))?;
                metrics::serve(broker.clone(), SocketAddr::new(ip, port)).await
            }
        };
        let guards = progress::restore_guards(&broker);
        if guards > 0 {
            info!(guards, "reset guards restored from the offset history");
        }
        let handler = Arc::new(BrokerHandler(broker.clone()));
        let mut tasks = vec![tokio::spawn(ferromq_net::serve(
            listener,
            handler.clone(),
            conn_cfg.clone(),
            acceptor.clone(),
            shutdown.clone(),
        ))];
        let fast_addr = match fast_listener {
            Some(l) => {
                let a = l.local_addr()?;
                tasks.push(tokio::spawn(ferromq_net::serve(
                    l,
                    handler,
                    conn_cfg,
                    acceptor,
                    shutdown.clone(),
                )));
                Some(a)
            }
            None => None,
        };
        let (reg_tx, registered) = watch::channel(false);
        tasks.push(tokio::spawn(register::run(broker.clone(), reg_tx)));
        tasks.push(tokio::spawn(housekeeping::run(broker.clone())));
        tasks.push(tokio::spawn(schedule::run(broker.clone())));
        tasks.push(tokio::spawn(transaction::check::run(broker.clone())));
        info!(%addr, ?fast_addr, broker = %broker.cfg.broker_name, cluster = %broker.cfg.cluster, "broker listening");
        Ok(RunningBroker {
            broker,
            addr,
            fast_addr,
            metrics_addr,
            registered,
            tasks,
        })
    }
}

impl RunningBroker {
    /// Waits until the broker has registered with at least one name server.
    ///
    /// # Errors
    /// When `timeout` passes first.
    pub async fn wait_registered(&mut self, timeout: Duration) -> Result<(), BrokerError> {
        tokio::time::timeout(timeout, self.registered.wait_for(|r| *r))
            .await
            .map_err(|_| {
                BrokerError::Config("no name server accepted the registration in time".into())
            })?
            .map_err(|_| BrokerError::Config("registration task ended".into()))?;
        Ok(())
    }

    /// Stops serving, unregisters from the name servers, answers held pulls, and flushes the
    /// store and the offset table.
    ///
    /// # Errors
    /// A flush that failed (the data written so far is still recovered on the next start).
    pub async fn stop(self) -> Result<(), BrokerError> {
        let b = self.broker;
        b.shutdown.cancel();
        b.pull_hold.wake_all();
        register::unregister_all(&b).await;
        for t in self.tasks {
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                warn!("a broker task did not stop within 5 s");
            }
        }
        let b2 = b.clone();
        tokio::task::spawn_blocking(move || -> Result<(), BrokerError> {
            b2.store.shutdown()?;
            b2.offsets.shutdown()?;
            for r in [
                b2.topics.flush(Duration::from_secs(5)),
                b2.groups.flush(Duration::from_secs(5)),
                b2.request_modes.flush(),
                b2.timer_recalls.flush(),
            ] {
                r.map_err(BrokerError::Config)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| BrokerError::Config(format!("shutdown task failed: {e}")))??;
        info!("broker stopped; store and offsets flushed");
        Ok(())
    }
}

/// 40 % of physical memory, from /proc/meminfo (4 GiB when unknown).
fn memory_resident_bytes() -> i64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .map(String::from)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<i64>().ok())
        })
        .unwrap_or(10 * 1024 * 1024);
    total_kib * 1024 * 40 / 100
}
