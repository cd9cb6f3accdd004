//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "ferromq",
    version,
    about = "A RocketMQ-compatible message broker with first-class consumer offsets"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a name server and a broker in one process.
    ///
    /// Example: ferromq standalone --data-dir ./data
    Standalone(ServerArgs),
    /// Run a name server.
    ///
    /// Example: ferromq namesrv --listen 0.0.0.0:9876
    Namesrv(NamesrvArgs),
    /// Run a broker that registers with one or more name servers.
    ///
    /// Example: ferromq broker --namesrv 127.0.0.1:9876 --broker-name broker-b --broker-port 10921
    Broker(ServerArgs),
    /// Benchmark any RocketMQ-compatible broker, found through a name server.
    Bench(ferromq_bench::BenchArgs),
    /// Administer a cluster: consumer progress (reset with dry run, describe, export/import,
    /// clone, delete, history, undo), topics, and mqadmin's command names.
    ///
    /// Example: ferromq admin -n 127.0.0.1:9876 offsets reset --group orders --topic Orders --to-earliest
    Admin(ferromq_admin::AdminArgs),
    /// Mirror messages and consumer progress to a backup cluster (disaster recovery), with
    /// exact offset translation; `status` and `failover` for operators.
    ///
    /// Example: ferromq mirror --source-namesrv 10.0.0.1:9876 --target-namesrv 10.1.0.1:9876 --topics 'Orders.*'
    Mirror(ferromq_mirror::MirrorArgs),
}

#[derive(Args, Debug, Default)]
pub struct NamesrvArgs {
    /// TOML configuration file (section `[namesrv]`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<String>,
    #[command(flatten)]
    pub tls: TlsServerArgs,
    /// Check every request's signature against the users in --auth-file.
    #[arg(long, requires = "auth_file")]
    pub authentication_enabled: bool,
    /// Also check every request against the users' ACLs (registering a broker and deleting
    /// routes are updates of the cluster).
    #[arg(long, requires = "auth_file")]
    pub authorization_enabled: bool,
    /// The users and ACLs: a broker's `<data>/config/auth.json` (a copy, or shared storage);
    /// reloaded when it changes.
    #[arg(long, value_name = "PATH")]
    pub auth_file: Option<PathBuf>,
}

/// TLS of every port the process opens (the `[tls]` section of the file).
#[derive(Args, Debug, Default, Clone)]
pub struct TlsServerArgs {
    /// off (plaintext), permissive (TLS and plaintext on one port) or enforcing (TLS only).
    /// Default: permissive when --tls-cert is given, else off.
    #[arg(long, value_name = "MODE")]
    pub tls_mode: Option<ferromq_tls::TlsMode>,
    /// PEM certificate chain (reloaded when the file changes).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FlushArg {
    Async,
    Sync,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OffsetDurabilityArg {
    Periodic,
    Durable,
}

#[derive(Args, Debug, Default)]
pub struct ServerArgs {
    /// TOML configuration file (sections `[namesrv]`, `[broker]` and `[tls]`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub tls: TlsServerArgs,
    /// Root directory of all data (default ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// IP address to listen on and announce to clients (default 127.0.0.1).
    #[arg(long)]
    pub host: Option<String>,
    /// Name-server port (standalone only; default 9876).
    #[arg(long)]
    pub namesrv_port: Option<u16>,
    /// Name servers to register with, host:port;host:port (broker only).
    #[arg(long, env = "FERROMQ_NAMESRV")]
    pub namesrv: Option<String>,
    /// Broker port (default 10911; 0 picks a free port).
    #[arg(long)]
    pub broker_port: Option<u16>,
    /// The "VIP" port older clients use (default broker port − 2; 0 disables).
    #[arg(long)]
    pub fast_port: Option<u16>,
    /// The RocketMQ 5.x gRPC port (default 8081; with --broker-port 0 a free port; 0 picks a
    /// free port).
    #[arg(long)]
    pub grpc_port: Option<u16>,
    /// Do not serve the gRPC protocol.
    #[arg(long)]
    pub no_grpc: bool,
    /// Require every request to be signed by a known user (upstream authenticationEnabled).
    #[arg(long)]
    pub authentication_enabled: bool,
    /// Check every request against the user's ACL (upstream authorizationEnabled; implies
    /// --authentication-enabled).
    #[arg(long)]
    pub authorization_enabled: bool,
    /// A super user created at start when missing: `name:password`.
    #[arg(
        long,
        env = "FERROMQ_INIT_USER",
        value_name = "NAME:PASSWORD",
        hide_env_values = true
    )]
    pub init_authentication_user: Option<String>,
    /// Broker name (default broker-a).
    #[arg(long)]
    pub broker_name: Option<String>,
    /// Cluster name (default DefaultCluster).
    #[arg(long)]
    pub cluster: Option<String>,
    /// When a send is acknowledged: after the write (async) or after fsync (sync).
    #[arg(long, value_enum)]
    pub flush_mode: Option<FlushArg>,
    /// When an offset commit is acknowledged: within 200 ms (periodic) or after fsync (durable).
    #[arg(long, value_enum)]
    pub offset_durability: Option<OffsetDurabilityArg>,
    /// Delay levels, upstream syntax ("1s 5s 10s 30s 1m ... 2h").
    #[arg(long)]
    pub message_delay_level: Option<String>,
    /// Commit-log segment size in bytes (default 1 GiB).
    #[arg(long)]
    pub segment_size: Option<u64>,
    /// Seconds between name-server registrations (default 30).
    #[arg(long)]
    pub register_interval_secs: Option<u64>,
    /// Serve the broker's Prometheus metrics on http://HOST:PORT/metrics (default off).
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// Serve the name server's Prometheus metrics on http://HOST:PORT/metrics (default off).
    #[arg(long)]
    pub namesrv_metrics_port: Option<u16>,
    /// Milliseconds between scans for half messages to check back (default 60000).
    #[arg(long)]
    pub transaction_check_interval_ms: Option<u64>,
    /// Age in ms of a half message before its producer is asked about it (default 6000).
    #[arg(long)]
    pub transaction_timeout_ms: Option<u64>,
    /// Check-backs of one half message before it is discarded (default 15).
    #[arg(long)]
    pub transaction_check_max: Option<u32>,
}
