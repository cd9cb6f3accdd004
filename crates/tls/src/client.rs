//! The connecting side: ferromq's tools, and a broker's connections to its name servers.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

use crate::certs::load_certificates;
use crate::settings::TlsSettings;
use crate::TlsError;

/// Which server certificates a client accepts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Certificates issued by those in these PEM files (a private CA), or exactly one of them
    /// (a self-signed server certificate).
    Files(Vec<PathBuf>),
    /// The operating system's roots.
    System,
    /// Any certificate, as upstream's clients do in their default "test mode": encrypted but
    /// not authenticated. Only on request (`--tls-insecure`).
    Insecure,
}

/// A client TLS configuration, shared by every connection of a client.
#[derive(Clone)]
pub struct ClientTls {
    connector: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// # Errors
    /// A trust file that does not load, or no usable system root.
    pub fn new(trust: &Trust) -> Result<Self, TlsError> {
        let provider = crate::provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                what: "TLS protocol versions".into(),
                source,
            })?;
        let policy = match trust {
            Trust::Insecure => Policy::Any,
            Trust::Files(files) => {
                let mut roots = RootCertStore::empty();
                for path in files {
                    roots.add_parsable_certificates(load_certificates(path)?);
                }
                Policy::Files {
                    files: files.clone(),
                    chains: webpki(roots, &provider),
                }
            }
            Trust::System => {
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                match webpki(roots, &provider) {
                    Some(v) => Policy::Chains(v),
                    None => {
                        return Err(TlsError::Pem {
                            path: PathBuf::from("(system certificate store)"),
                            reason: "no trusted root found; pass --tls-ca".into(),
                        })
                    }
                }
            }
        };
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier { provider, policy }))
            .with_no_client_auth();
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// What a server process trusts for its own outgoing connections: the `ca` file, else its
    /// own certificate (a cluster sharing one self-signed certificate), else the system roots.
    /// `None` when `connect_with_tls` is off.
    ///
    /// # Errors
    /// As [`ClientTls::new`].
    pub fn from_settings(settings: &TlsSettings) -> Result<Option<Self>, TlsError> {
        if !settings.connect_with_tls {
            return Ok(None);
        }
        let trust = match (&settings.ca, &settings.cert) {
            (Some(ca), _) => Trust::Files(vec![ca.clone()]),
            (None, Some(cert)) => Trust::Files(vec![cert.clone()]),
            (None, None) => Trust::System,
        };
        Self::new(&trust).map(Some)
    }

    /// Runs the handshake on `tcp`; `host` (a name or an IP address) is what the server's
    /// certificate must name.
    ///
    /// # Errors
    /// An invalid host, or a failed handshake (an untrusted certificate among them).
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{host:?} cannot name a TLS server: {e}"),
            )
        })?;
        self.connector.connect(name, tcp).await
    }
}

/// Chain verification against `roots` (a name, dates, a path to a root), when any root is usable.
fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Option<Arc<WebPkiServerVerifier>> {
    if roots.is_empty() {
        return None;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .ok()
}

/// Which server certificates pass.
#[derive(Debug)]
enum Policy {
    Any,
    /// Issued by a trusted root, for the name connected to.
    Chains(Arc<WebPkiServerVerifier>),
    /// Issued by a certificate in the files, or exactly one of them. The exact match covers a
    /// self-signed server certificate marked as a CA (what `openssl req -x509` makes), which
    /// chain verification refuses as an end entity; the files are read again at each handshake
    /// so a broker's own connections follow a certificate renewed in place.
    Files {
        files: Vec<PathBuf>,
        chains: Option<Arc<WebPkiServerVerifier>>,
    },
}

/// Applies the [`Policy`], and always checks that the server holds the certificate's key.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    policy: Policy,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chains = match &self.policy {
            Policy::Any => return Ok(ServerCertVerified::assertion()),
            Policy::Chains(v) => Some(v),
            Policy::Files { chains, .. } => chains.as_ref(),
        };
        let by_chain = match chains {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        match (&self.policy, by_chain) {
            (_, Ok(v)) => Ok(v),
            (Policy::Files { files, .. }, Err(e)) => {
                let pinned = files
                    .iter()
                    .filter_map(|f| load_certificates(f).ok())
                    .flatten()
                    .any(|c| c.as_ref() == end_entity.as_ref());
                if pinned {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(e)
                }
            }
            (_, Err(e)) => Err(e),
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
