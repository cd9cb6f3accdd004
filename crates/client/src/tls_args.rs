//! The options every ferromq tool takes to reach a cluster (`ferromq admin`, `bench`, and each
//! side of `mirror`): TLS, and the access key and secret key requests are signed with.

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

/// `--access-key` and `--secret-key` (or `FERROMQ_ACCESS_KEY`, `FERROMQ_SECRET_KEY`): sign every
/// request, as upstream's `AclClientRPCHook` does, for brokers with authentication on.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CredentialArgs {
    /// Access key (the user name) requests are signed for.
    #[arg(
        long,
        env = "FERROMQ_ACCESS_KEY",
        global = true,
        requires = "secret_key"
    )]
    pub access_key: Option<String>,
    /// Secret key of the access key (prefer the environment variable to the command line).
    #[arg(
        long,
        env = "FERROMQ_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
}

impl CredentialArgs {
    pub fn credentials(&self) -> Option<crate::Credentials> {
        credentials(self.access_key.as_deref(), self.secret_key.as_deref())
    }
}

/// Credentials from an access key and a secret key, when both are given.
pub fn credentials(
    access_key: Option<&str>,
    secret_key: Option<&str>,
) -> Option<crate::Credentials> {
    match (access_key, secret_key) {
        (Some(a), Some(s)) if !a.is_empty() => Some(crate::Credentials {
            access_key: a.to_string(),
            secret_key: s.to_string(),
        }),
        _ => None,
    }
}

/// Everything a tool needs to reach one cluster: TLS options and credentials.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

impl ConnectArgs {
    /// # Errors
    /// TLS options that do not load.
    pub fn options(&self) -> Result<crate::ConnectOptions, TlsError> {
        Ok(crate::ConnectOptions {
            tls: self.tls.client_tls()?,
            credentials: self.credentials.credentials(),
        })
    }
}
