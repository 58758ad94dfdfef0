//! Test helpers: start the real binary, a tiny HTTP client, a signaling client, and a
//! str0m-based media client.
#![allow(dead_code)]

pub mod media;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

pub const KEY: &str = "test-access-key";

/// A running service, killed on drop.
pub struct Service {
    child: Child,
    pub http: SocketAddr,
    pub media: SocketAddr,
}

impl Service {
    pub fn start(extra: &[&str]) -> Service {
        Service::start_keyed(extra, Some(KEY))
    }

    /// Like [`Service::start`] with `key` as the access key (`None`: the service uses the one
    /// in its database or generates one).
    pub fn start_keyed(extra: &[&str], key: Option<&str>) -> Service {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_acscalling-service"));
        match key {
            Some(k) => cmd.env("ACS_ACCESS_KEY", k),
            None => cmd.env_remove("ACS_ACCESS_KEY"),
        };
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0", "--media-port", "0"])
            .args(["--database", ":memory:"])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start service");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let rest = line
            .trim()
            .strip_prefix("acscalling-service listening ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let mut http = None;
        let mut media = None;
        for part in rest.split(' ') {
            if let Some(a) = part.strip_prefix("http=") {
                http = Some(a.parse().unwrap());
            } else if let Some(a) = part.strip_prefix("media=") {
                media = Some(a.parse().unwrap());
            }
        }
        Service {
            child,
            http: http.unwrap(),
            media: media.unwrap(),
        }
    }

    /// `(status, json body)` of an HTTP request with the given bearer key.
    pub fn http(&self, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(self.http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let auth = key
            .map(|k| format!("Authorization: Bearer {k}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
        let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    pub fn create_user(&self) -> String {
        let (st, v) = self.http("POST", "/identities", Some(KEY), "");
        assert_eq!(st, 201);
        v["id"].as_str().unwrap().to_string()
    }

    pub fn token(&self, id: &str) -> String {
        self.token_with(id, "{}")
    }

    pub fn token_with(&self, id: &str, body: &str) -> String {
        let (st, v) = self.http("POST", &format!("/identities/{id}/token"), Some(KEY), body);
        assert_eq!(st, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/signaling", self.http)
    }

    /// A user with a connected, authenticated signaling client.
    pub async fn user(&self, name: &str) -> (String, Client) {
        let id = self.create_user();
        let token = self.token(&id);
        let mut c = Client::connect(self).await;
        c.send(json!({"type": "hello", "protocol": 2, "token": token, "display_name": name}))
            .await;
        let w = c.expect("welcome").await;
        assert_eq!(w["user_id"], id.as_str());
        (id, c)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A signaling client speaking JSON.
pub struct Client {
    ws: Ws,
}

impl Client {
    pub async fn connect(svc: &Service) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(svc.ws_url())
            .await
            .unwrap();
        Client { ws }
    }

    pub async fn send(&mut self, v: Value) {
        self.send_raw(&v.to_string()).await;
    }

    /// Sends and says whether the write went through (a peer that closes on us mid-write
    /// resets the connection).
    pub async fn try_send(&mut self, v: Value) -> bool {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .is_ok()
    }

    pub async fn send_raw(&mut self, s: &str) {
        self.ws
            .send(Message::Text(s.to_string().into()))
            .await
            .unwrap();
    }

    /// Next JSON message, or None when closed / 10 s pass.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(Duration::from_secs(10)).await
    }

    pub async fn next_within(&mut self, d: Duration) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(d, self.ws.next()).await.ok()??;
            match m {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Skips messages until one of type `ty` arrives.
    pub async fn expect(&mut self, ty: &str) -> Value {
        loop {
            let m = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {ty}"));
            if m["type"] == ty {
                return m;
            }
        }
    }

    /// Skips messages until one matches `pred`.
    pub async fn expect_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {what}"));
            if pred(&m) {
                return m;
            }
        }
    }

    /// Waits for `CallState{state}` of `call_id`.
    pub async fn expect_call_state(&mut self, call_id: &str, state: &str) -> Value {
        self.expect_where(&format!("call state {state}"), |m| {
            m["type"] == "call_state" && m["call_id"] == call_id && m["state"] == state
        })
        .await
    }

    /// True when the server closed the connection (after optional messages) within 5 s;
    /// false when it is still open then.
    pub async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// A minimal syntactically valid offer for calls whose media is not exercised.
pub fn dummy_offer() -> String {
    media::offer_only()
}
