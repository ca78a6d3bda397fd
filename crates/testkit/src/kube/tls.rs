//! The fake's TLS identity: a certificate for `127.0.0.1` and `localhost` signed by a CA made for
//! this test fake alone (both valid until 2126; the CA's key was thrown away after signing, the
//! server's key is checked in — it protects nothing). Clients trust the CA certificate: Go's
//! and rustls's verifiers both accept the pair (rustls refuses a self-signed CA as the server's
//! own certificate).

use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The CA certificate, PEM: what a kubeconfig's `certificate-authority-data` carries.
pub(super) const CA: &str = include_str!("tls/ca.pem");
pub(super) const CERTIFICATE: &str = include_str!("tls/cert.pem");
pub(super) const KEY: &str = include_str!("tls/key.pem");

pub(super) fn config() -> std::io::Result<Arc<ServerConfig>> {
    let invalid = |e: &dyn std::fmt::Display| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string());
    let certificate = CertificateDer::from_pem_slice(CERTIFICATE.as_bytes()).map_err(|e| invalid(&e))?;
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).map_err(|e| invalid(&e))?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&e))?
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .map_err(|e| invalid(&e))?;
    Ok(Arc::new(config))
}
