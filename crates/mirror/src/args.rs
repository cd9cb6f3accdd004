//! Command-line arguments of `ferromq mirror`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

/// `ferromq mirror [run flags] | status | failover`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MirrorArgs {
    #[command(subcommand)]
    pub command: Option<MirrorCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum MirrorCommand {
    /// Per topic and group: message lag, offset-sync lag and the last error of a running (or
    /// stopped) mirror, read from its state dir.
    #[command(after_help = "Examples:\n  ferromq mirror status --state-dir ./mirror-state")]
    Status {
        #[arg(long, default_value = "mirror-state")]
        state_dir: PathBuf,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        output: String,
    },
    /// Stop the running mirror at a consistent point (messages copied up to what the source
    /// holds, if it still answers; offsets synced once more) and print what to switch.
    #[command(after_help = "Examples:\n  ferromq mirror failover --state-dir ./mirror-state")]
    Failover {
        #[arg(long, default_value = "mirror-state")]
        state_dir: PathBuf,
        /// How long to wait for the mirror to finish.
        #[arg(long, default_value = "60", value_name = "SECONDS")]
        wait_secs: u64,
    },
}

/// Running the mirror.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Name servers of the source cluster (`host:port[;host:port]`); any broker speaking the
    /// RocketMQ protocol (only upstream request codes are used to read it).
    #[arg(long)]
    pub source_namesrv: Option<String>,
    /// Name servers of the target cluster (ferromq brokers).
    #[arg(long)]
    pub target_namesrv: Option<String>,
    /// Reach the source cluster with TLS (system roots, or --source-tls-ca).
    #[arg(long)]
    pub source_tls: bool,
    /// PEM certificates trusted for the source cluster. Implies --source-tls.
    #[arg(long, value_name = "PEM")]
    pub source_tls_ca: Option<PathBuf>,
    /// TLS to the source without verifying its certificates. Implies --source-tls.
    #[arg(long)]
    pub source_tls_insecure: bool,
    /// Reach the target cluster with TLS (system roots, or --target-tls-ca).
    #[arg(long)]
    pub target_tls: bool,
    /// PEM certificates trusted for the target cluster. Implies --target-tls.
    #[arg(long, value_name = "PEM")]
    pub target_tls_ca: Option<PathBuf>,
    /// TLS to the target without verifying its certificates. Implies --target-tls.
    #[arg(long)]
    pub target_tls_insecure: bool,
    /// Access key requests to the source are signed with (its ACL: reads of topics, groups
    /// and offsets).
    #[arg(
        long,
        env = "FERROMQ_SOURCE_ACCESS_KEY",
        requires = "source_secret_key"
    )]
    pub source_access_key: Option<String>,
    #[arg(long, env = "FERROMQ_SOURCE_SECRET_KEY", hide_env_values = true)]
    pub source_secret_key: Option<String>,
    /// Access key requests to the target are signed with (its ACL: writes of topics, messages
    /// and offsets).
    #[arg(
        long,
        env = "FERROMQ_TARGET_ACCESS_KEY",
        requires = "target_secret_key"
    )]
    pub target_access_key: Option<String>,
    #[arg(long, env = "FERROMQ_TARGET_SECRET_KEY", hide_env_values = true)]
    pub target_secret_key: Option<String>,
    /// Topics to mirror (a regular expression matched against the whole name).
    #[arg(long, default_value = ".*")]
    pub topics: String,
    /// Consumer groups whose offsets (and retry topics) are mirrored (whole-name regex).
    #[arg(long, default_value = ".*")]
    pub groups: String,
    /// Where the offset translation and the status live (locked while the mirror runs).
    #[arg(long, default_value = "mirror-state")]
    pub state_dir: PathBuf,
    /// Prometheus metrics (`/metrics`) and status (`/status`) over HTTP; `off` disables.
    #[arg(long, default_value = "127.0.0.1:9877")]
    pub metrics_addr: String,
    /// Also overwrite the offsets of groups that have live consumers on the target.
    #[arg(long)]
    pub force_groups: bool,
    /// Label stamped on copied messages as their origin (default: the source name servers).
    #[arg(long)]
    pub source_label: Option<String>,
    /// Label of the target cluster: messages whose origin is this label are not copied (so a
    /// mirror run the other way after a failover does not copy the backup's copies back).
    #[arg(long)]
    pub target_label: Option<String>,
    /// How often the source's offsets are read.
    #[arg(long, default_value = "200")]
    pub offset_interval_ms: u64,
    /// How often topics and groups are discovered.
    #[arg(long, default_value = "3000")]
    pub discovery_interval_ms: u64,
    /// Messages per pull.
    #[arg(long, default_value = "64")]
    pub batch: i32,
    /// Request timeout.
    #[arg(long, default_value = "5")]
    pub timeout_secs: u64,
    /// Consumer group name the mirror pulls with on the source (nothing is committed with it).
    #[arg(long, default_value = "ferromq-mirror")]
    pub pull_group: String,
}

/// A run flag that is missing or wrong; the message names the flag.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("--source-namesrv is required")]
    MissingSourceNamesrv,
    #[error("--target-namesrv is required")]
    MissingTargetNamesrv,
    /// The source and the target are the same cluster.
    #[error("--source-namesrv and --target-namesrv are the same")]
    SameNamesrv,
    /// `--topics` or `--groups` is not a regular expression.
    #[error("{flag}: {error}")]
    BadRegex {
        flag: &'static str,
        #[source]
        error: regex::Error,
    },
    /// `--metrics-addr` is neither `off` nor a socket address.
    #[error("--metrics-addr {addr}: {error}")]
    BadMetricsAddr {
        addr: String,
        #[source]
        error: std::net::AddrParseError,
    },
    #[error("--batch must be within 1..=1024")]
    BadBatch,
    #[error("--{side}-tls: {reason}")]
    Tls { side: &'static str, reason: String },
}

/// Validated run settings.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub source_namesrv: String,
    pub target_namesrv: String,
    pub topics: regex::Regex,
    pub groups: regex::Regex,
    pub state_dir: PathBuf,
    pub metrics_addr: Option<SocketAddr>,
    pub force_groups: bool,
    pub source_label: String,
    pub target_label: String,
    pub offset_interval: Duration,
    pub discovery_interval: Duration,
    pub batch: i32,
    pub timeout: Duration,
    pub pull_group: String,
    /// TLS and credentials of the connections to each side.
    pub source: ferromq_client::ConnectOptions,
    pub target: ferromq_client::ConnectOptions,
}

impl RunArgs {
    /// Checks the flags.
    ///
    /// # Errors
    /// An [`ArgsError`] naming the bad flag.
    pub fn validate(&self) -> Result<RunConfig, ArgsError> {
        let source = self
            .source_namesrv
            .clone()
            .ok_or(ArgsError::MissingSourceNamesrv)?;
        let target = self
            .target_namesrv
            .clone()
            .ok_or(ArgsError::MissingTargetNamesrv)?;
        if source == target {
            return Err(ArgsError::SameNamesrv);
        }
        let whole = |flag: &'static str, re: &str| {
            regex::Regex::new(&format!("^(?:{re})$"))
                .map_err(|error| ArgsError::BadRegex { flag, error })
        };
        let metrics_addr = match self.metrics_addr.as_str() {
            "off" | "" => None,
            a => Some(a.parse().map_err(|error| ArgsError::BadMetricsAddr {
                addr: a.to_string(),
                error,
            })?),
        };
        if !(1..=1024).contains(&self.batch) {
            return Err(ArgsError::BadBatch);
        }
        let tls = |side, enabled, ca: &Option<PathBuf>, insecure| {
            ferromq_client::tls_args::client_tls(enabled, ca.as_deref(), insecure).map_err(|e| {
                ArgsError::Tls {
                    side,
                    reason: e.to_string(),
                }
            })
        };
        let credentials = ferromq_client::tls_args::credentials;
        Ok(RunConfig {
            source: ferromq_client::ConnectOptions {
                tls: tls(
                    "source",
                    self.source_tls,
                    &self.source_tls_ca,
                    self.source_tls_insecure,
                )?,
                credentials: credentials(
                    self.source_access_key.as_deref(),
                    self.source_secret_key.as_deref(),
                ),
            },
            target: ferromq_client::ConnectOptions {
                tls: tls(
                    "target",
                    self.target_tls,
                    &self.target_tls_ca,
                    self.target_tls_insecure,
                )?,
                credentials: credentials(
                    self.target_access_key.as_deref(),
                    self.target_secret_key.as_deref(),
                ),
            },
            source_label: self.source_label.clone().unwrap_or_else(|| source.clone()),
            target_label: self.target_label.clone().unwrap_or_else(|| target.clone()),
            source_namesrv: source,
            target_namesrv: target,
            topics: whole("--topics", &self.topics)?,
            groups: whole("--groups", &self.groups)?,
            state_dir: self.state_dir.clone(),
            metrics_addr,
            force_groups: self.force_groups,
            offset_interval: Duration::from_millis(self.offset_interval_ms.max(10)),
            discovery_interval: Duration::from_millis(self.discovery_interval_ms.max(100)),
            batch: self.batch,
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
            pull_group: self.pull_group.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn validate(flags: &[&str]) -> Result<RunConfig, ArgsError> {
        let cli = Cli::try_parse_from(std::iter::once("mirror").chain(flags.iter().copied()))
            .expect("flags parse");
        cli.run.validate()
    }

    const BOTH: [&str; 4] = ["--source-namesrv", "a:9876", "--target-namesrv", "b:9876"];

    #[test]
    fn bad_flags_are_named() {
        let err = validate(&[]).unwrap_err();
        assert!(matches!(err, ArgsError::MissingSourceNamesrv));
        assert_eq!(err.to_string(), "--source-namesrv is required");

        let err = validate(&["--source-namesrv", "a:9876"]).unwrap_err();
        assert!(matches!(err, ArgsError::MissingTargetNamesrv));

        let err = validate(&["--source-namesrv", "a:1", "--target-namesrv", "a:1"]).unwrap_err();
        assert!(matches!(err, ArgsError::SameNamesrv));

        let err = validate(&[&BOTH[..], &["--groups", "("]].concat()).unwrap_err();
        assert!(
            matches!(
                err,
                ArgsError::BadRegex {
                    flag: "--groups",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().starts_with("--groups: "), "{err}");

        let err = validate(&[&BOTH[..], &["--metrics-addr", "nowhere"]].concat()).unwrap_err();
        assert!(matches!(err, ArgsError::BadMetricsAddr { .. }), "{err}");
        assert!(
            err.to_string().starts_with("--metrics-addr nowhere: "),
            "{err}"
        );

        let err = validate(&[&BOTH[..], &["--batch", "0"]].concat()).unwrap_err();
        assert!(matches!(err, ArgsError::BadBatch));
        assert_eq!(err.to_string(), "--batch must be within 1..=1024");
    }

    #[test]
    fn good_flags_validate() {
        let cfg =
            validate(&[&BOTH[..], &["--metrics-addr", "off", "--topics", "a|b"]].concat()).unwrap();
        assert_eq!(cfg.metrics_addr, None);
        assert!(cfg.topics.is_match("b") && !cfg.topics.is_match("ab"));
        assert_eq!(cfg.source_label, "a:9876");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let err = crate::MirrorError::from(validate(&[]).unwrap_err());
        assert!(matches!(
            err,
            crate::MirrorError::Usage(crate::UsageError::Args(ArgsError::MissingSourceNamesrv))
        ));
        assert_eq!(err.to_string(), "--source-namesrv is required");
    }
}
