//! The TLS options every ferromq tool takes to reach a cluster (`ferromq admin`, `bench`, and
//! each side of `mirror`).

use std::path::{Path, PathBuf};

use ferromq_tls::{ClientTls, TlsError, Trust};

/// `--tls`, `--tls-ca`, `--tls-insecure` (or `FERROMQ_TLS`, `FERROMQ_TLS_CA`,
/// `FERROMQ_TLS_INSECURE`). Either of the last two implies the first.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Connect with TLS, verifying the servers' certificates against the system's roots (or
    /// --tls-ca).
    #[arg(long, env = "FERROMQ_TLS", global = true)]
    pub tls: bool,
    /// PEM file of the certificates to trust (a private CA, or the servers' self-signed
    /// certificate). Implies --tls.
    #[arg(long, env = "FERROMQ_TLS_CA", value_name = "PEM", global = true)]
    pub tls_ca: Option<PathBuf>,
    /// TLS without verifying the servers' certificates (encrypted, not authenticated; what
    /// upstream's clients do in their default test mode). Implies --tls.
    #[arg(long, env = "FERROMQ_TLS_INSECURE", global = true)]
    pub tls_insecure: bool,
}

impl TlsArgs {
    /// The client TLS the options ask for, `None` for plaintext.
    ///
    /// # Errors
    /// A CA file that does not load, or no system root.
    pub fn client_tls(&self) -> Result<Option<ClientTls>, TlsError> {
        client_tls(self.tls, self.tls_ca.as_deref(), self.tls_insecure)
    }
}

/// [`TlsArgs::client_tls`] for tools that spell the options their own way (the mirror's
/// `--source-tls…` and `--target-tls…`).
///
/// # Errors
/// As [`TlsArgs::client_tls`].
pub fn client_tls(
    enabled: bool,
    ca: Option<&Path>,
    insecure: bool,
) -> Result<Option<ClientTls>, TlsError> {
    let trust = match (insecure, ca) {
        (true, _) => Trust::Insecure,
        (false, Some(ca)) => Trust::Files(vec![ca.to_path_buf()]),
        (false, None) if enabled => Trust::System,
        (false, None) => return Ok(None),
    };
    ClientTls::new(&trust).map(Some)
}
