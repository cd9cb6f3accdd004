//! The three modes, certificate reload, and the errors a bad setup gets, over real sockets.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferromq_tls::{ClientTls, ServerTls, TlsMode, TlsSettings, Trust};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A self-signed certificate for 127.0.0.1 and localhost, written as `<name>.pem` and
/// `<name>.key` under `dir`; returns the certificate's DER.
fn write_cert(dir: &Path, name: &str) -> Vec<u8> {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("generate a certificate");
    std::fs::write(dir.join(format!("{name}.pem")), c.cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), c.key_pair.serialize_pem()).unwrap();
    c.cert.der().to_vec()
}

fn settings(dir: &Path, mode: TlsMode, name: &str) -> TlsSettings {
    TlsSettings {
        mode,
        cert: Some(dir.join(format!("{name}.pem"))),
        key: Some(dir.join(format!("{name}.key"))),
        reload_interval_ms: 100,
        ..TlsSettings::default()
    }
}

/// An echo server on a free port, speaking whatever the acceptor lets through; it prints
/// nothing and stops with `stop`.
async fn echo_server(tls: &ServerTls, stop: &CancellationToken) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let acceptor = tls.acceptor(&[]).unwrap();
    let stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                a = listener.accept() => a.unwrap(),
                _ = stop.cancelled() => return,
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn plaintext_echo(addr: &str) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"ping").await?;
    let mut buf = vec![0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("timed out"))??;
    Ok(buf)
}

/// Echoes over TLS and returns the certificate the server presented.
async fn tls_echo(addr: &str, trust: &Trust) -> std::io::Result<Vec<u8>> {
    let tcp = TcpStream::connect(addr).await?;
    let mut s = ClientTls::new(trust)
        .unwrap()
        .connect(tcp, "127.0.0.1")
        .await?;
    s.write_all(b"ping").await?;
    let mut buf = vec![0u8; 4];
    s.read_exact(&mut buf).await?;
    assert_eq!(buf, b"ping");
    let certs = s.get_ref().1.peer_certificates().unwrap();
    Ok(certs[0].to_vec())
}

fn trust(dir: &Path, name: &str) -> Trust {
    Trust::Files(vec![dir.join(format!("{name}.pem"))])
}

#[tokio::test]
async fn permissive_serves_tls_and_plaintext_on_one_port() {
    let dir = tempfile::tempdir().unwrap();
    let der = write_cert(dir.path(), "a");
    let stop = CancellationToken::new();
    let tls = ServerTls::start(&settings(dir.path(), TlsMode::Permissive, "a"), &stop).unwrap();
    let addr = echo_server(&tls, &stop).await;
    assert_eq!(plaintext_echo(&addr).await.unwrap(), b"ping");
    assert_eq!(tls_echo(&addr, &trust(dir.path(), "a")).await.unwrap(), der);
    assert_eq!(tls_echo(&addr, &Trust::Insecure).await.unwrap(), der);
    stop.cancel();
}

#[tokio::test]
async fn enforcing_closes_plaintext_and_serves_tls() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), "a");
    let stop = CancellationToken::new();
    let tls = ServerTls::start(&settings(dir.path(), TlsMode::Enforcing, "a"), &stop).unwrap();
    let addr = echo_server(&tls, &stop).await;
    assert!(
        plaintext_echo(&addr).await.is_err(),
        "enforcing mode answered a plaintext client"
    );
    tls_echo(&addr, &trust(dir.path(), "a")).await.unwrap();
    stop.cancel();
}

#[tokio::test]
async fn off_is_plaintext_only() {
    let stop = CancellationToken::new();
    let tls = ServerTls::start(&TlsSettings::default(), &stop).unwrap();
    assert_eq!(tls.mode(), TlsMode::Off);
    let addr = echo_server(&tls, &stop).await;
    assert_eq!(plaintext_echo(&addr).await.unwrap(), b"ping");
    assert!(tls_echo(&addr, &Trust::Insecure).await.is_err());
    stop.cancel();
}

#[tokio::test]
async fn a_client_refuses_a_certificate_it_does_not_trust() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), "a");
    write_cert(dir.path(), "other");
    let stop = CancellationToken::new();
    let tls = ServerTls::start(&settings(dir.path(), TlsMode::Enforcing, "a"), &stop).unwrap();
    let addr = echo_server(&tls, &stop).await;
    let err = tls_echo(&addr, &trust(dir.path(), "other"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    stop.cancel();
}

/// `openssl req -x509` marks its self-signed certificate as a CA, which chain verification
/// refuses as a server's own; trusting that exact certificate still works.
#[tokio::test]
async fn a_self_signed_ca_certificate_is_trusted_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("ca.key"), key.serialize_pem()).unwrap();
    let stop = CancellationToken::new();
    let tls = ServerTls::start(&settings(dir.path(), TlsMode::Enforcing, "ca"), &stop).unwrap();
    let addr = echo_server(&tls, &stop).await;
    let served = tls_echo(&addr, &trust(dir.path(), "ca")).await.unwrap();
    assert_eq!(served, cert.der().to_vec());
    stop.cancel();
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_cert(dir.path(), "a");
    let stop = CancellationToken::new();
    let tls = ServerTls::start(&settings(dir.path(), TlsMode::Enforcing, "a"), &stop).unwrap();
    let addr = echo_server(&tls, &stop).await;
    assert_eq!(tls_echo(&addr, &Trust::Insecure).await.unwrap(), first);

    // Renew in place: certificate first, key second, as an operator's copy would.
    let renewed = write_cert(dir.path(), "b");
    std::fs::copy(dir.path().join("b.pem"), dir.path().join("a.pem")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::copy(dir.path().join("b.key"), dir.path().join("a.key")).unwrap();
    let served = wait_for_certificate(&addr, &renewed).await;
    assert_eq!(served, renewed);

    // A broken renewal keeps the last good pair.
    std::fs::write(dir.path().join("a.pem"), "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(tls_echo(&addr, &Trust::Insecure).await.unwrap(), renewed);
    stop.cancel();
}

async fn wait_for_certificate(addr: &str, want: &[u8]) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = tls_echo(addr, &Trust::Insecure).await.unwrap();
        if got == want || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_bad_setup_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path(), "a");
    write_cert(dir.path(), "b");
    let stop = CancellationToken::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();

    let no_files = TlsSettings {
        mode: TlsMode::Enforcing,
        ..TlsSettings::default()
    };
    let e = ServerTls::start(&no_files, &stop).unwrap_err().to_string();
    assert!(e.contains("needs a certificate"), "{e}");

    let missing = settings(dir.path(), TlsMode::Permissive, "nope");
    let e = ServerTls::start(&missing, &stop).unwrap_err().to_string();
    assert!(e.contains("nope.pem"), "{e}");

    let garbage: PathBuf = dir.path().join("g.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let mut bad = settings(dir.path(), TlsMode::Permissive, "a");
    bad.cert = Some(garbage);
    let e = ServerTls::start(&bad, &stop).unwrap_err().to_string();
    assert!(e.contains("g.pem"), "{e}");

    let mut mismatched = settings(dir.path(), TlsMode::Permissive, "a");
    mismatched.key = Some(dir.path().join("b.key"));
    let e = ServerTls::start(&mismatched, &stop)
        .unwrap_err()
        .to_string();
    assert!(e.contains("do not make a certificate and its key"), "{e}");

    assert_eq!("disabled".parse::<TlsMode>().unwrap(), TlsMode::Off);
    assert!("strict".parse::<TlsMode>().is_err());
}
