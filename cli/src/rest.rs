//! Users and tokens from the service's REST API (plain HTTP on the signaling port):
//! `POST /dev/token` on a development service, or the identity API with the access key.

use crate::{fail, Cli, CliResult, TokenArgs};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A user and a token for it.
pub struct Issued {
    pub user: String,
    pub token: String,
}

/// `host:port` of a `ws://host:port[/path]` service URL (plain HTTP only).
fn http_host(service_url: &str) -> CliResult<String> {
    let url = service_url.trim();
    let rest = match url.split_once("://") {
        Some(("ws" | "http", rest)) => rest,
        Some(("wss" | "https", _)) => fail!(
            "getting a token over TLS is not supported by this tool; issue one from your \
             backend and pass --token"
        ),
        _ => fail!("service url '{url}' must start with ws:// (e.g. ws://127.0.0.1:8080)"),
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        fail!("service url '{url}' has no host");
    }
    Ok(host.to_string())
}

/// Sends one request; (status, body).
fn request(host: &str, path: &str, auth: Option<&str>, body: &str) -> CliResult<(u16, String)> {
    let addr = host
        .to_socket_addrs()
        .map_err(|e| crate::CliError(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| crate::CliError(format!("cannot resolve {host}")))?;
    let mut s = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)
        .map_err(|e| crate::CliError(format!("cannot reach the service at {host}: {e}")))?;
    s.set_read_timeout(Some(HTTP_TIMEOUT))?;
    let auth = auth
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| crate::CliError(format!("cannot send to the service at {host}: {e}")))?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let resp = String::from_utf8_lossy(&raw).to_string();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if status == 0 {
        fail!("the service at {host} sent no HTTP answer");
    }
    let body = resp
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The service's error message in a JSON error body, else the body.
fn error_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .or_else(|| v.get("message"))
                .map(|m| m.as_str().map(str::to_string).unwrap_or(m.to_string()))
        })
        .unwrap_or_else(|| body.trim().to_string())
}

fn field(body: &str, name: &str) -> CliResult<String> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| crate::CliError(format!("the service sent a bad answer: {e}")))?;
    match v[name].as_str() {
        Some(s) => Ok(s.to_string()),
        None => fail!("the service's answer has no '{name}'"),
    }
}

/// A user (`user` or a new one) and a token from `POST /dev/token`.
pub fn dev_token(service_url: &str, user: Option<&str>) -> CliResult<Issued> {
    let host = http_host(service_url)?;
    let body = match user {
        Some(u) => serde_json::json!({ "id": u }).to_string(),
        None => String::new(),
    };
    let (status, resp) = request(&host, "/dev/token", None, &body)?;
    match status {
        200 => Ok(Issued {
            user: field(&resp, "id")?,
            token: field(&resp, "token")?,
        }),
        404 if resp.trim().is_empty() => fail!(
            "the service at {host} has no /dev/token (start it with --dev-tokens, or pass --token)"
        ),
        _ => fail!(
            "the service refused a dev token ({status}): {}",
            error_text(&resp)
        ),
    }
}

/// A user (`user` or a new one) and a token from the identity API, with the access key.
pub fn identity_token(service_url: &str, key: &str, user: Option<&str>) -> CliResult<Issued> {
    let host = http_host(service_url)?;
    let user = match user {
        Some(u) => u.to_string(),
        None => {
            let (status, resp) = request(&host, "/identities", Some(key), "{}")?;
            if status != 200 && status != 201 {
                fail!(
                    "the service refused to create a user ({status}): {}",
                    error_text(&resp)
                );
            }
            field(&resp, "id")?
        }
    };
    let (status, resp) = request(
        &host,
        &format!("/identities/{user}/token"),
        Some(key),
        r#"{"scopes":["voip"]}"#,
    )?;
    if status != 200 {
        fail!(
            "the service refused a token for {user} ({status}): {}",
            error_text(&resp)
        );
    }
    Ok(Issued {
        user,
        token: field(&resp, "token")?,
    })
}

/// `acscalling token`.
pub fn token_command(cli: &Cli, a: &TokenArgs) -> CliResult<()> {
    let Some(url) = cli.service_url.as_deref() else {
        fail!("no service: pass --service-url or set ACS_SERVICE_URL");
    };
    let issued = match (a.dev, &a.access_key) {
        (true, _) => dev_token(url, a.user.as_deref())?,
        (false, Some(key)) => identity_token(url, key, a.user.as_deref())?,
        _ => fail!("say where the token comes from: --dev or --access-key KEY (ACS_ACCESS_KEY)"),
    };
    if a.export {
        println!("export ACS_USER='{}'", issued.user);
        println!("export ACS_TOKEN='{}'", issued.token);
    } else {
        println!("user: {}", issued.user);
        println!("token: {}", issued.token);
    }
    Ok(())
}
