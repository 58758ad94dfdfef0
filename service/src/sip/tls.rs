//! rustls configurations for SIP over TLS: a client per TLS trunk (verifying the trunk's
//! certificate against its `ca=` file or the system's roots, for the trunk's host name or
//! IP address) and the server of the TLS listener.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Where Linux distributions keep the system's CA bundle (`SSL_CERT_FILE` wins).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}

/// The roots a trunk's certificate must chain to: the PEM file `ca`, else the system's.
fn roots(ca: Option<&str>) -> Result<RootCertStore, String> {
    let path = match ca {
        Some(p) => p.to_string(),
        None => std::env::var("SSL_CERT_FILE")
            .ok()
            .or_else(|| {
                SYSTEM_BUNDLES
                    .iter()
                    .find(|p| Path::new(p).exists())
                    .map(|p| p.to_string())
            })
            .ok_or("no ca= and no system CA bundle found")?,
    };
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(read_certs(Path::new(&path))?);
    if added == 0 {
        return Err(format!("{path}: no usable CA certificate"));
    }
    Ok(store)
}

/// A TLS client for a trunk, and the name its certificate must carry (`host`: a DNS name
/// or an IP address).
pub fn client(
    ca: Option<&str>,
    host: &str,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host:?} is not a name TLS can verify: {e}"))?;
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots(ca)?)
        .with_no_client_auth();
    Ok((Arc::new(cfg), name))
}

/// The TLS listener's server configuration from PEM files.
pub fn server(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS certificate: {e}"))?;
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("sip-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client(Some(empty.to_str().unwrap()), "example.com").unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        assert!(client(Some("/nonexistent/ca.pem"), "example.com").is_err());
        assert!(client(None, "not a valid name!").is_err());
        assert!(server(&empty, &empty).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
