//! The TOML configuration file and command-line overrides. Defaults live in the library
//! crates' `Default` impls; `ferromq.example.toml` in the repository documents every key.

use std::path::Path;

use anyhow::Context;
use ferromq_broker::config::{FlushDiskType, OffsetDurability};
use ferromq_broker::BrokerConfig;
use ferromq_namesrv::NamesrvConfig;
use serde::{Deserialize, Serialize};

use crate::cli::{FlushArg, OffsetDurabilityArg, ServerArgs, TlsServerArgs};
use ferromq_tls::TlsMode;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub namesrv: NamesrvConfig,
    pub broker: BrokerConfig,
    /// One TLS setting for every port of the process, as upstream has one per JVM.
    pub tls: ferromq_tls::TlsSettings,
}

/// Reads the file if given, else defaults.
pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    match path {
        None => Ok(FileConfig::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid configuration in {}", p.display()))
        }
    }
}

/// Applies the TLS flags over the file's `[tls]` and hands the result to every role.
/// `standalone`: the broker's embedded name server speaks TLS, so the broker's registration
/// does too.
pub fn apply_tls(args: &TlsServerArgs, cfg: &mut FileConfig, standalone: bool) {
    let t = &mut cfg.tls;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        t.cert = Some(cert.clone());
        t.key = Some(key.clone());
        if args.tls_mode.is_none() && t.mode == TlsMode::Off {
            t.mode = TlsMode::Permissive;
        }
    }
    if let Some(m) = args.tls_mode {
        t.mode = m;
    }
    if standalone && t.mode != TlsMode::Off {
        t.connect_with_tls = true;
    }
    if t.mode == TlsMode::Off && t.cert.is_some() {
        tracing::warn!(
            "a TLS certificate is configured but tls mode is off: every port is plaintext"
        );
    }
    cfg.broker.tls = cfg.tls.clone();
    cfg.namesrv.tls = cfg.tls.clone();
}

/// Applies command-line flags over the file's values.
pub fn apply(args: &ServerArgs, cfg: &mut FileConfig) {
    let b = &mut cfg.broker;
    if let Some(d) = &args.data_dir {
        b.data_dir = d.clone();
    }
    if let Some(h) = &args.host {
        b.host = h.clone();
    }
    if let Some(p) = args.broker_port {
        b.port = p;
        if args.fast_port.is_none() {
            b.fast_port = p.saturating_sub(2);
        }
    }
    if let Some(p) = args.fast_port {
        b.fast_port = p;
    }
    // A broker on a free port (tests, side-by-side runs) gets a free gRPC port too, so two of
    // them never collide on 8081.
    if args.broker_port == Some(0) && args.grpc_port.is_none() {
        b.grpc_port = 0;
    }
    if let Some(p) = args.grpc_port {
        b.grpc_port = p;
    }
    if args.no_grpc {
        b.grpc = false;
    }
    if args.authentication_enabled || args.authorization_enabled {
        b.authentication_enabled = true;
    }
    if args.authorization_enabled {
        b.authorization_enabled = true;
    }
    if let Some(u) = &args.init_authentication_user {
        b.init_authentication_user = u.clone();
    }
    if let Some(n) = &args.broker_name {
        b.broker_name = n.clone();
    }
    if let Some(c) = &args.cluster {
        b.cluster = c.clone();
    }
    if let Some(n) = &args.namesrv {
        b.namesrv = n.clone();
    }
    if let Some(f) = args.flush_mode {
        b.flush_disk_type = match f {
            FlushArg::Async => FlushDiskType::Async,
            FlushArg::Sync => FlushDiskType::Sync,
        };
    }
    if let Some(d) = args.offset_durability {
        b.offset_durability = match d {
            OffsetDurabilityArg::Periodic => OffsetDurability::Periodic,
            OffsetDurabilityArg::Durable => OffsetDurability::Durable,
        };
    }
    if let Some(l) = &args.message_delay_level {
        b.message_delay_level = l.clone();
    }
    if let Some(s) = args.segment_size {
        b.segment_size = s;
    }
    if let Some(s) = args.register_interval_secs {
        b.register_interval_secs = s;
    }
    if let Some(p) = args.metrics_port {
        b.metrics_port = p;
    }
    if let Some(p) = args.namesrv_metrics_port {
        cfg.namesrv.metrics_port = p;
    }
    if let Some(v) = args.transaction_check_interval_ms {
        b.transaction_check_interval_ms = v;
    }
    if let Some(v) = args.transaction_timeout_ms {
        b.transaction_timeout_ms = v;
    }
    if let Some(v) = args.transaction_check_max {
        b.transaction_check_max = v;
    }
    let host = args.host.clone().unwrap_or_else(|| b.host.clone());
    if let Some(p) = args.namesrv_port {
        cfg.namesrv.listen = format!("{host}:{p}");
    } else if args.host.is_some() {
        let port = cfg
            .namesrv
            .listen
            .rsplit(':')
            .next()
            .unwrap_or("9876")
            .to_string();
        cfg.namesrv.listen = format!("{host}:{port}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses() {
        let text = include_str!("../../../ferromq.example.toml");
        let cfg: FileConfig = toml::from_str(text).unwrap();
        cfg.broker.validate().unwrap();
    }

    #[test]
    fn flags_override_file() {
        let mut cfg = FileConfig::default();
        let args = ServerArgs {
            broker_port: Some(20911),
            host: Some("127.0.0.2".into()),
            ..Default::default()
        };
        apply(&args, &mut cfg);
        assert_eq!(cfg.broker.port, 20911);
        assert_eq!(cfg.broker.fast_port, 20909);
        assert_eq!(cfg.namesrv.listen, "127.0.0.2:9876");
    }
}
