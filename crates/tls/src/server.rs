//! The listening side: one [`ServerTls`] per process, one [`Acceptor`] per port.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::certs::ReloadingCert;
use crate::settings::{TlsMode, TlsSettings};
use crate::stream::MaybeTls;
use crate::TlsError;

/// The first byte of a TLS record carrying a handshake (a ClientHello).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// How long a new connection may take to send its first byte and finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The process's TLS: its mode and its (reloading) certificate.
#[derive(Debug, Clone)]
pub struct ServerTls {
    mode: TlsMode,
    cert: Option<Arc<ReloadingCert>>,
}

impl ServerTls {
    /// Plaintext on every port.
    pub fn off() -> Self {
        Self {
            mode: TlsMode::Off,
            cert: None,
        }
    }

    /// Loads the certificate the settings name and watches its files until `stop`.
    ///
    /// # Errors
    /// A mode other than off without both files, or files that do not load: the process must
    /// refuse to start rather than serve plaintext where TLS was asked for.
    pub fn start(settings: &TlsSettings, stop: &CancellationToken) -> Result<Self, TlsError> {
        let name = match settings.mode {
            TlsMode::Off => return Ok(Self::off()),
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        };
        let (Some(cert), Some(key)) = (&settings.cert, &settings.key) else {
            return Err(TlsError::MissingCertificate(name));
        };
        let reloading = ReloadingCert::load(cert, key)?;
        reloading.watch(settings.reload_interval(), stop.clone());
        Ok(Self {
            mode: settings.mode,
            cert: Some(reloading),
        })
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// The certificate served now, when TLS is on.
    pub fn certificate(&self) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.cert.as_ref().map(|c| c.current())
    }

    /// An acceptor for one port; `alpn` lists the protocols it negotiates (`h2` for gRPC,
    /// nothing for Remoting).
    ///
    /// # Errors
    /// rustls refused the protocol versions (not expected with the built-in provider).
    pub fn acceptor(&self, alpn: &[&[u8]]) -> Result<Acceptor, TlsError> {
        let Some(cert) = &self.cert else {
            return Ok(Acceptor {
                mode: TlsMode::Off,
                tls: None,
            });
        };
        let mut config = rustls::ServerConfig::builder_with_provider(crate::provider())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                what: "TLS protocol versions".into(),
                source,
            })?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Acceptor {
            mode: self.mode,
            tls: Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        })
    }
}

/// Turns accepted TCP connections into [`MaybeTls`] streams according to the mode.
#[derive(Clone)]
pub struct Acceptor {
    mode: TlsMode,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor")
            .field("mode", &self.mode)
            .finish()
    }
}

impl Acceptor {
    /// Plaintext only.
    pub fn plaintext() -> Self {
        Self {
            mode: TlsMode::Off,
            tls: None,
        }
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Whether [`Acceptor::accept`] returns at once (no byte to wait for, no handshake), so the
    /// accept loop can skip spawning a task for it.
    pub fn is_plaintext(&self) -> bool {
        self.tls.is_none()
    }

    /// Reads nothing in off mode; otherwise waits (bounded) for the first byte, and runs the
    /// TLS handshake when it starts one. Enforcing mode refuses a plaintext start.
    ///
    /// # Errors
    /// A plaintext client in enforcing mode, a failed handshake, or no byte in time.
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<MaybeTls> {
        let Some(tls) = &self.tls else {
            return Ok(MaybeTls::Plain(tcp));
        };
        let handshake = async {
            let mut first = [0u8; 1];
            let n = tcp.peek(&mut first).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed before sending anything",
                ));
            }
            if first[0] != TLS_HANDSHAKE_RECORD {
                return match self.mode {
                    TlsMode::Enforcing => Err(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        "plaintext connection refused: TLS mode is enforcing",
                    )),
                    _ => Ok(MaybeTls::Plain(tcp)),
                };
            }
            let stream = tls.accept(tcp).await?;
            Ok(MaybeTls::Tls(Box::new(stream)))
        };
        tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no TLS handshake or first request within 10 s",
                )
            })?
    }
}
