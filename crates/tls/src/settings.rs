//! What the configuration file and the command line say about TLS.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a listening port treats TLS, with upstream's names (`tls.server.mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plaintext only; a TLS handshake is not understood.
    #[default]
    #[serde(alias = "disabled")]
    Off,
    /// Both: a connection that starts with a TLS handshake gets TLS, any other is plaintext.
    /// For migrating clients one at a time.
    Permissive,
    /// TLS only: plaintext connections are closed at once.
    Enforcing,
}

impl std::str::FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "disabled" => Ok(TlsMode::Off),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err(format!(
                "unknown TLS mode {s:?}: expected off (disabled), permissive or enforcing"
            )),
        }
    }
}

/// The `[tls]` section: one setting for every port of the process (Remoting, the fast port,
/// the embedded name server and gRPC), as upstream has one `tls.server.mode` per JVM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// PEM certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the leaf certificate.
    pub key: Option<PathBuf>,
    /// How often the two files are checked for a change; a changed pair is loaded for new
    /// connections without a restart (open connections keep theirs).
    pub reload_interval_ms: u64,
    /// Whether this process's own outgoing connections (a broker registering with its name
    /// servers) use TLS.
    pub connect_with_tls: bool,
    /// PEM certificates trusted by those outgoing connections. Unset: this process's own
    /// certificate (a cluster sharing one self-signed certificate), then the system's roots.
    pub ca: Option<PathBuf>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            mode: TlsMode::Off,
            cert: None,
            key: None,
            reload_interval_ms: 5_000,
            connect_with_tls: false,
            ca: None,
        }
    }
}

impl TlsSettings {
    pub fn reload_interval(&self) -> Duration {
        Duration::from_millis(self.reload_interval_ms.max(100))
    }
}
