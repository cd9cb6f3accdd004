//! Broker settings: typed, defaulted here, validated before any port is bound.
//! Upstream's property names are accepted as aliases where they mean the same.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When a send is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlushDiskType {
    /// Acknowledge after the write; fsync every `flush-interval-ms` (upstream ASYNC_FLUSH).
    #[serde(alias = "ASYNC_FLUSH")]
    Async,
    /// Acknowledge only after fsync, many sends sharing one (upstream SYNC_FLUSH).
    #[serde(alias = "SYNC_FLUSH")]
    Sync,
}

/// When an offset commit is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffsetDurability {
    /// On disk within `offset-flush-interval-ms` (default 200 ms, at most 1 s).
    Periodic,
    /// Acknowledged only after fsync (group commit).
    Durable,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct BrokerConfig {
    #[serde(alias = "brokerName")]
    pub broker_name: String,
    #[serde(alias = "brokerClusterName")]
    pub cluster: String,
    /// The address clients are told to use (upstream `brokerIP1`).
    #[serde(alias = "brokerIP1")]
    pub host: String,
    #[serde(alias = "listenPort")]
    pub port: u16,
    /// The "VIP" port old clients use (upstream: listen port − 2). 0 disables it.
    pub fast_port: u16,
    /// Serve the RocketMQ 5.x gRPC protocol (what upstream's proxy serves) on `grpc_port`.
    pub grpc: bool,
    /// The gRPC port (upstream proxy's `grpcServerPort`, 8081); 0 picks a free port.
    #[serde(alias = "grpcServerPort")]
    pub grpc_port: u16,
    /// Threads of the gRPC endpoint, each serving its share of the connections; 0: one per core.
    pub grpc_threads: usize,
    /// Name servers to register with, `host:port;host:port`.
    #[serde(alias = "namesrvAddr")]
    pub namesrv: String,
    /// Root of the broker's files (`store/`, `offsets/`, `config/`).
    #[serde(alias = "storePathRootDir")]
    pub data_dir: PathBuf,
    #[serde(alias = "flushDiskType")]
    pub flush_disk_type: FlushDiskType,
    pub flush_interval_ms: u64,
    pub offset_durability: OffsetDurability,
    pub offset_flush_interval_ms: u64,
    #[serde(alias = "autoCreateTopicEnable")]
    pub auto_create_topic: bool,
    #[serde(alias = "autoCreateSubscriptionGroup")]
    pub auto_create_subscription_group: bool,
    /// Queues of the `TBW102` template (upstream `defaultTopicQueueNums`).
    #[serde(alias = "defaultTopicQueueNums")]
    pub default_topic_queue_nums: i32,
    /// Delay levels, upstream syntax: `1s 5s 10s 30s 1m … 2h`.
    #[serde(alias = "messageDelayLevel")]
    pub message_delay_level: String,
    #[serde(alias = "maxMessageSize")]
    pub max_message_size: usize,
    /// Hours a commit-log segment is kept after its last write (upstream `fileReservedTime`).
    #[serde(alias = "fileReservedTime")]
    pub retention_hours: u64,
    #[serde(alias = "mappedFileSizeCommitLog")]
    pub segment_size: u64,
    /// Seconds between registrations with the name servers (10–60).
    pub register_interval_secs: u64,
    /// Longest a pull is held waiting for messages.
    pub max_long_poll_ms: u64,
    /// Frame size limit, for requests and responses alike.
    pub max_frame_bytes: usize,
    /// Connections served at once (both ports); more are closed at accept.
    pub max_connections: usize,
    /// Requests one connection may have in progress before the broker stops reading from it.
    pub max_inflight_per_connection: usize,
    /// Responses queued for one connection before its handlers wait.
    pub max_queued_responses: usize,
    /// Long polls held at once across all connections; more are answered SYSTEM_BUSY.
    pub max_held_pulls: usize,
    /// Topics the broker holds; creating more (explicitly or on first send) is refused.
    pub max_topics: usize,
    /// Queues across all topics; a topic that would exceed it is refused.
    pub max_queues: usize,
    /// Subscription groups the broker holds; creating more (explicitly or on first
    /// heartbeat/pull) is refused.
    pub max_groups: usize,
    /// Consumer and producer groups one client may register on one connection.
    pub max_groups_per_client: usize,
    /// Entries of the in-memory message index by key and unique key (QUERY_MESSAGE; at most about
    /// 70 bytes each, the oldest evicted beyond it); 0 disables the index.
    pub index_max_entries: usize,
    /// Bytes of commit log a background thread faults in ahead of the write position, so
    /// sends do not take those page faults; 0 disables it (`ferromq_store::StoreConfig`).
    pub prefault_ahead: u64,
    /// Port of the Prometheus endpoint (`http://host:port/metrics`); 0 disables it.
    pub metrics_port: u16,
    /// How appends reach the store's files: `auto` (pwrite on copy-on-write file systems, a
    /// shared mapping elsewhere), `mapped` or `pwrite`.
    pub write_mode: String,
    /// Milliseconds between scans for half messages to check back (upstream
    /// `transactionCheckInterval`); also the wait between two checks of one message.
    #[serde(alias = "transactionCheckInterval")]
    pub transaction_check_interval_ms: u64,
    /// Age of a half message before its producer is first asked about it (upstream
    /// `transactionTimeOut`); a message's `CHECK_IMMUNITY_TIME_IN_SECONDS` can extend it.
    #[serde(alias = "transactionTimeOut")]
    pub transaction_timeout_ms: u64,
    /// Check-backs of one half message before it is discarded (upstream `transactionCheckMax`).
    #[serde(alias = "transactionCheckMax")]
    pub transaction_check_max: u32,
    /// Unresolved half messages the broker holds; further half messages are refused with
    /// SYSTEM_BUSY until some are resolved.
    pub transaction_max_pending: usize,
    /// Check-backs (and discards) one scan sends at most; the rest wait for the next scan.
    pub transaction_checks_per_scan: usize,
    /// Check every request's signature (upstream `authenticationEnabled`): requests must carry
    /// the AccessKey and Signature a known user's secret key makes.
    #[serde(alias = "authenticationEnabled")]
    pub authentication_enabled: bool,
    /// Check every request against the user's ACL (upstream `authorizationEnabled`); needs
    /// authentication.
    #[serde(alias = "authorizationEnabled")]
    pub authorization_enabled: bool,
    /// A super user created at start when missing, `name:password` or upstream's
    /// `{"username":…,"password":…}` (`initAuthenticationUser`).
    #[serde(alias = "initAuthenticationUser")]
    pub init_authentication_user: String,
    /// Request codes served without credentials (upstream `authenticationWhitelist`).
    pub auth_whitelist: Vec<i32>,
    /// What the broker signs its own calls to the name servers with, `name:password` or
    /// upstream's `{"accessKey":…,"secretKey":…}` (`innerClientAuthenticationCredentials`);
    /// empty: the initial user's.
    #[serde(alias = "innerClientAuthenticationCredentials")]
    pub inner_client_credentials: String,
    /// TLS of every port; set from the file's top-level `[tls]` (one setting per process).
    #[serde(skip)]
    pub tls: ferromq_tls::TlsSettings,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            broker_name: "broker-a".into(),
            cluster: "DefaultCluster".into(),
            host: "127.0.0.1".into(),
            port: 10911,
            fast_port: 10909,
            grpc: true,
            grpc_port: 8081,
            grpc_threads: 0,
            namesrv: "127.0.0.1:9876".into(),
            data_dir: PathBuf::from("./data"),
            flush_disk_type: FlushDiskType::Async,
            flush_interval_ms: 500,
            offset_durability: OffsetDurability::Periodic,
            offset_flush_interval_ms: 200,
            auto_create_topic: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
            max_message_size: 4 * 1024 * 1024,
            retention_hours: 72,
            segment_size: 1 << 30,
            register_interval_secs: 30,
            max_long_poll_ms: 30_000,
            max_frame_bytes: ferromq_protocol::DEFAULT_MAX_FRAME,
            max_connections: 20_000,
            max_inflight_per_connection: 1024,
            max_queued_responses: 1024,
            max_held_pulls: 100_000,
            max_topics: 50_000,
            max_queues: 400_000,
            max_groups: 200_000,
            max_groups_per_client: 1_000,
            index_max_entries: ferromq_store::DEFAULT_INDEX_MAX_ENTRIES,
            prefault_ahead: ferromq_store::DEFAULT_PREFAULT_AHEAD,
            metrics_port: 0,
            write_mode: "auto".into(),
            transaction_check_interval_ms: 60_000,
            transaction_timeout_ms: 6_000,
            transaction_check_max: 15,
            transaction_max_pending: 100_000,
            transaction_checks_per_scan: 1_000,
            authentication_enabled: false,
            authorization_enabled: false,
            init_authentication_user: String::new(),
            auth_whitelist: Vec::new(),
            inner_client_credentials: String::new(),
            tls: ferromq_tls::TlsSettings::default(),
        }
    }
}

impl BrokerConfig {
    /// Checks every setting; called before binding ports.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        ferromq_protocol::names::validate_group(&self.broker_name)
            .map_err(|e| format!("broker-name: {e}"))?;
        if self.cluster.is_empty() {
            return Err("cluster must not be empty".into());
        }
        if self.authorization_enabled && !self.authentication_enabled {
            return Err(
                "authorization-enabled needs authentication-enabled: without a verified \
                 signature the AccessKey names no one"
                    .into(),
            );
        }
        if self.host.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("host '{}' is not an IP address", self.host));
        }
        self.delay_levels()?;
        if self.offset_flush_interval_ms == 0 || self.offset_flush_interval_ms > 1000 {
            return Err("offset-flush-interval-ms must be in 1..=1000".into());
        }
        if self.flush_interval_ms == 0 {
            return Err("flush-interval-ms must be positive".into());
        }
        if self.segment_size < 64 * 1024 {
            return Err("segment-size must be at least 64 KiB".into());
        }
        if self.max_message_size + 4096 > self.segment_size as usize {
            return Err("max-message-size must be smaller than segment-size".into());
        }
        ferromq_protocol::limits::check_queue_nums(
            "default-topic-queue-nums",
            self.default_topic_queue_nums,
        )?;
        for (name, v) in [
            ("max-connections", self.max_connections),
            (
                "max-inflight-per-connection",
                self.max_inflight_per_connection,
            ),
            ("max-queued-responses", self.max_queued_responses),
            ("max-held-pulls", self.max_held_pulls),
            ("max-topics", self.max_topics),
            ("max-queues", self.max_queues),
            ("max-groups", self.max_groups),
            ("max-groups-per-client", self.max_groups_per_client),
            ("transaction-max-pending", self.transaction_max_pending),
            (
                "transaction-checks-per-scan",
                self.transaction_checks_per_scan,
            ),
            (
                "transaction-check-interval-ms",
                self.transaction_check_interval_ms as usize,
            ),
        ] {
            if v == 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.index_max_entries > ferromq_store::MAX_INDEX_ENTRIES {
            return Err(format!(
                "index-max-entries must be at most {}",
                ferromq_store::MAX_INDEX_ENTRIES
            ));
        }
        if self.prefault_ahead > ferromq_store::MAX_PREFAULT_AHEAD {
            return Err(format!(
                "prefault-ahead {} must be at most {} bytes",
                self.prefault_ahead,
                ferromq_store::MAX_PREFAULT_AHEAD
            ));
        }
        if ferromq_store::WriteMode::parse(&self.write_mode).is_none() {
            return Err(format!(
                "write-mode '{}' must be auto, mapped or pwrite",
                self.write_mode
            ));
        }
        if self.max_frame_bytes < 64 * 1024 || self.max_frame_bytes > 1 << 30 {
            return Err("max-frame-bytes must be in 64 KiB..=1 GiB".into());
        }
        Ok(())
    }

    /// The name servers to register with.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    /// Parsed delay levels (level 1 is index 0).
    ///
    /// # Errors
    /// A level that is not `<n>s|m|h|d`.
    pub fn delay_levels(&self) -> Result<Vec<Duration>, String> {
        let levels: Result<Vec<Duration>, String> = self
            .message_delay_level
            .split_whitespace()
            .map(parse_duration)
            .collect();
        let levels = levels?;
        if levels.is_empty() {
            return Err("message-delay-level must list at least one level".into());
        }
        Ok(levels)
    }

    /// The address clients use to reach this broker.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Every setting as `(name, value)`, sorted by name, as GET_BROKER_CONFIG reports them:
    /// under upstream's property name where the setting has one with the same meaning and unit
    /// ([`UPSTREAM_NAMES`]), else under ferromq's own (kebab-case) name. Values are written as
    /// upstream writes them (`flushDiskType` is `ASYNC_FLUSH` or `SYNC_FLUSH`). `brokerId` is
    /// always 0: a ferromq broker is a master.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut plain = self.clone();
        plain.data_dir = PathBuf::from(self.data_dir.to_string_lossy().into_owned());
        let fields = serde_json::to_value(&plain)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        let mut out: Vec<(String, String)> = fields
            .into_iter()
            .map(|(name, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (upstream_name(&name).unwrap_or(&name).to_string(), value)
            })
            .collect();
        for (name, value) in &mut out {
            if name == "flushDiskType" {
                *value = match self.flush_disk_type {
                    FlushDiskType::Async => "ASYNC_FLUSH",
                    FlushDiskType::Sync => "SYNC_FLUSH",
                }
                .into();
            }
        }
        out.push(("brokerId".into(), "0".into()));
        out.sort();
        out
    }
}

/// ferromq settings and upstream's name for the same setting (same meaning, same unit).
pub const UPSTREAM_NAMES: &[(&str, &str)] = &[
    ("broker-name", "brokerName"),
    ("cluster", "brokerClusterName"),
    ("host", "brokerIP1"),
    ("port", "listenPort"),
    ("namesrv", "namesrvAddr"),
    ("data-dir", "storePathRootDir"),
    ("flush-disk-type", "flushDiskType"),
    ("flush-interval-ms", "flushIntervalCommitLog"),
    ("auto-create-topic", "autoCreateTopicEnable"),
    (
        "auto-create-subscription-group",
        "autoCreateSubscriptionGroup",
    ),
    ("default-topic-queue-nums", "defaultTopicQueueNums"),
    ("message-delay-level", "messageDelayLevel"),
    ("max-message-size", "maxMessageSize"),
    ("retention-hours", "fileReservedTime"),
    ("segment-size", "mappedFileSizeCommitLog"),
    ("transaction-check-interval-ms", "transactionCheckInterval"),
    ("transaction-timeout-ms", "transactionTimeOut"),
    ("transaction-check-max", "transactionCheckMax"),
];

/// Upstream's name of a ferromq setting, if it has one.
pub fn upstream_name(setting: &str) -> Option<&'static str> {
    UPSTREAM_NAMES
        .iter()
        .find(|(own, _)| *own == setting)
        .map(|(_, up)| *up)
}

/// ferromq's own name of a setting named either way (`autoCreateTopicEnable` or
/// `auto-create-topic`); `None` for a name that is neither.
pub fn setting_name(name: &str) -> Option<String> {
    if let Some((own, _)) = UPSTREAM_NAMES.iter().find(|(_, up)| *up == name) {
        return Some((*own).to_string());
    }
    let fields = serde_json::to_value(BrokerConfig::default()).ok()?;
    fields.get(name).map(|_| name.to_string())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("bad delay level '{s}' (expected e.g. 1s, 2m, 1h)");
    let (num, unit) = s.split_at(s.len().checked_sub(1).ok_or_else(bad)?);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit {
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return Err(bad()),
    };
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_levels_parse() {
        let c = BrokerConfig::default();
        c.validate().unwrap();
        let levels = c.delay_levels().unwrap();
        assert_eq!(levels.len(), 18);
        assert_eq!(levels[2], Duration::from_secs(10));
        assert_eq!(levels[17], Duration::from_secs(7200));
    }

    #[test]
    fn upstream_names_are_accepted() {
        let c: BrokerConfig = toml::from_str(
            "brokerName = \"b1\"\nflushDiskType = \"SYNC_FLUSH\"\nlistenPort = 1234",
        )
        .unwrap();
        assert_eq!(c.broker_name, "b1");
        assert_eq!(c.port, 1234);
        assert_eq!(c.flush_disk_type, FlushDiskType::Sync);
    }

    #[test]
    fn properties_use_upstream_names_where_they_exist() {
        let c = BrokerConfig {
            flush_disk_type: FlushDiskType::Sync,
            ..Default::default()
        };
        let props: std::collections::BTreeMap<String, String> =
            c.properties().into_iter().collect();
        assert_eq!(props["brokerName"], "broker-a");
        assert_eq!(props["flushDiskType"], "SYNC_FLUSH");
        assert_eq!(props["autoCreateTopicEnable"], "true");
        assert_eq!(props["storePathRootDir"], "./data");
        assert_eq!(props["max-connections"], "20000");
        assert_eq!(props["offset-durability"], "periodic");
        assert!(!props.contains_key("broker-name"));
        assert_eq!(
            setting_name("maxMessageSize").as_deref(),
            Some("max-message-size")
        );
        assert_eq!(setting_name("write-mode").as_deref(), Some("write-mode"));
        assert_eq!(setting_name("noSuchSetting"), None);
    }

    #[test]
    fn bad_settings_are_named() {
        let c = BrokerConfig {
            message_delay_level: "1x".into(),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("1x"));
        let c = BrokerConfig {
            host: "localhost".into(),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("host"));
    }
}
