//! TLS for every ferromq port, on rustls.
//!
//! Map of the crate:
//! - [`settings`]: the `[tls]` configuration (mode, certificate files, reload interval) with
//!   upstream's mode names (off/disabled, permissive, enforcing).
//! - [`certs`]: loading a PEM certificate chain and key, and the resolver that swaps them when
//!   the files change, so a renewed certificate is served without a restart.
//! - [`server`]: [`ServerTls`] (one per process) and its per-port [`Acceptor`], which tells a
//!   TLS handshake from plaintext by the first byte (a TLS record starts with 0x16; a Remoting
//!   frame that did would be over 350 MiB, an HTTP/2 preface starts with `P`).
//! - [`stream`]: [`MaybeTls`], the accepted connection either way.
//! - [`watch`]: following files replaced in place (certificates here, the users and ACLs of a
//!   name server in the broker crate).
//! - [`client`]: [`ClientTls`], how ferromq's own tools and a broker's outgoing connections
//!   speak TLS.

pub mod certs;
pub mod client;
pub mod server;
pub mod settings;
pub mod stream;
pub mod watch;

use std::path::PathBuf;

use thiserror::Error;

pub use client::{ClientTls, Trust};
pub use server::{Acceptor, ServerTls};
pub use settings::{TlsMode, TlsSettings};
pub use stream::MaybeTls;

/// What went wrong setting TLS up. Every variant names the file or setting to fix.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error(
        "TLS mode {0} needs a certificate and its key: set cert and key in [tls], or \
         --tls-cert and --tls-key"
    )]
    MissingCertificate(&'static str),
    #[error("{what}: {source}")]
    Rustls { what: String, source: rustls::Error },
}

/// The crypto provider every config here is built with: chosen explicitly, so nothing depends
/// on a process-wide default being installed.
///
/// ring rather than aws-lc-rs: it builds without cmake and in a fraction of the time on the
/// project's 2-core machines. rustls 0.23.48 deprecates ring's provider because it has no
/// post-quantum key exchange (X25519MLKEM768); TLS 1.3 with X25519 is what upstream's clients
/// negotiate today. Moving to aws-lc-rs is this one function.
#[allow(deprecated)]
pub(crate) fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
