//! Certificate files: loading, and serving the newest good pair.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use crate::TlsError;

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn pem_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Every certificate in a PEM file, in order.
///
/// # Errors
/// The file cannot be read, is not PEM, or holds no certificate.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no CERTIFICATE block in the file"));
    }
    Ok(certs)
}

/// A certificate chain and its private key, checked to belong together.
///
/// # Errors
/// Either file cannot be read or parsed, or the key is not the certificate's.
pub fn load_pair(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = load_certificates(cert)?;
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| pem_error(key, format!("no usable private key ({e})")))?;
    CertifiedKey::from_der(chain, key_der, &crate::provider())
        .map(Arc::new)
        .map_err(|source| TlsError::Rustls {
            what: format!(
                "{} and {} do not make a certificate and its key",
                cert.display(),
                key.display()
            ),
            source,
        })
}

/// Hands every handshake the current certificate; [`ReloadingCert::watch`] replaces it when the
/// files change.
#[derive(Debug)]
pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert: PathBuf,
    key: PathBuf,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().clone())
    }
}

impl ReloadingCert {
    /// Loads the pair now.
    ///
    /// # Errors
    /// As [`load_pair`]: a server never starts with a certificate it cannot use.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        Ok(Arc::new(Self {
            current: RwLock::new(load_pair(cert, key)?),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        }))
    }

    /// The certificate chain served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().clone()
    }

    /// Checks the files every `every` until `stop`; a changed pair that loads is served to new
    /// connections from then on. One that does not (a key written after its certificate, a
    /// broken file) is reported once and the previous pair stays, so a bad renewal never takes
    /// the port down; it is tried again at the next change.
    pub fn watch(self: &Arc<Self>, every: Duration, stop: CancellationToken) {
        let this = self.clone();
        let paths = vec![self.cert.clone(), self.key.clone()];
        crate::watch::on_change(paths, "TLS certificate", every, stop, move || {
            let pair = load_pair(&this.cert, &this.key).map_err(|e| e.to_string())?;
            *this.current.write() = pair;
            Ok(())
        });
    }
}
