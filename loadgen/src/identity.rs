//! The service's identity REST API over a minimal HTTP/1.1 client (one request per
//! connection; the service answers with a Content-Length body).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::{IdentityResponse, TokenResponse};

/// Largest response we accept.
const MAX_RESPONSE: usize = 64 * 1024;

/// `POST path` with a JSON body and the access key; returns the response body.
async fn post(http: &str, key: &str, path: &str, body: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(http)
        .await
        .map_err(|e| format!("connect {http}: {e}"))?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {http}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("POST {path}: {e}"))?;
    let mut resp = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&chunk[..n]);
        if resp.len() > MAX_RESPONSE {
            return Err(format!("POST {path}: response too large"));
        }
    }
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("POST {path}: malformed response"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("POST {path}: no status"))?;
    if !(200..300).contains(&status) {
        return Err(format!("POST {path}: HTTP {status}: {}", body.trim()));
    }
    Ok(body.to_string())
}

/// Creates a user and a `voip` token for it: `(raw id, token)`.
pub async fn create_user(http: &str, key: &str) -> Result<(String, String), String> {
    let body = post(http, key, "/identities", "{}").await?;
    let id: IdentityResponse =
        serde_json::from_str(&body).map_err(|e| format!("identity response: {e}"))?;
    let body = post(
        http,
        key,
        &format!("/identities/{}/token", id.id),
        "{\"scopes\":[\"voip\"]}",
    )
    .await?;
    let tok: TokenResponse =
        serde_json::from_str(&body).map_err(|e| format!("token response: {e}"))?;
    Ok((id.id, tok.token))
}
