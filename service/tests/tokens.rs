//! Every way a token is refused, at REST (`GET /me`), at the signaling `Hello` and at
//! `RefreshToken`; expiry and revocation on live sessions.
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{dummy_offer, Client, Service, KEY};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn hello(token: &str) -> Value {
    json!({"type": "hello", "protocol": 2, "token": token, "display_name": "x"})
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The claims of a token (not verified).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `GET /me` with `token` as the bearer: (status, body).
fn me(svc: &Service, token: &str) -> (u16, Value) {
    svc.http("GET", "/me", Some(token), "")
}

struct Case {
    name: &'static str,
    token: String,
    /// HTTP status at REST; the same code comes in the signaling error.
    status: u16,
    /// A piece of the reason every refusal must give.
    reason: &'static str,
}

#[tokio::test]
async fn every_rejected_token_is_refused_at_rest_hello_and_refresh() {
    let svc = Service::start(&[]);
    let user = svc.create_user();
    let good = svc.token(&user);
    let claims = claims_of(&good);
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();

    // Set up the users and tokens the cases need.
    let expired = svc.token_with(&user, r#"{"expires_in_secs": 1}"#);
    let revoked_user = svc.create_user();
    let revoked = svc.token(&revoked_user);
    assert_eq!(
        svc.http(
            "POST",
            &format!("/identities/{revoked_user}/revoke"),
            Some(KEY),
            ""
        )
        .0,
        204
    );
    let deleted_user = svc.create_user();
    let deleted = svc.token(&deleted_user);
    assert_eq!(
        svc.http(
            "DELETE",
            &format!("/identities/{deleted_user}"),
            Some(KEY),
            ""
        )
        .0,
        204
    );
    let chat = svc.token_with(&user, r#"{"scopes": ["chat"]}"#);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let mut tampered = claims.clone();
    tampered["exp"] = json!(now() + 10 * 86_400);
    let tampered = format!("{}.{}.{}", parts[0], b64(&tampered), parts[2]);
    let other_key = sign(&claims, "not-the-service-key");
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap();
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let no_exp = sign(&no_exp, KEY);
    let mut never_issued = claims.clone();
    never_issued["jti"] = json!("00000000-0000-0000-0000-000000000000");
    let never_issued = sign(&never_issued, KEY);
    let mut stranger = claims.clone();
    stranger["sub"] = json!("8:acs:00000000-0000-0000-0000-000000000000");
    let stranger = sign(&stranger, KEY);
    parts[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    let forged = parts.join(".");

    let cases = vec![
        Case {
            name: "forged signature",
            token: forged,
            status: 401,
            reason: "signature does not verify",
        },
        Case {
            name: "tampered claims (longer expiry)",
            token: tampered,
            status: 401,
            reason: "signature does not verify",
        },
        Case {
            name: "signed with another key",
            token: other_key,
            status: 401,
            reason: "signature does not verify",
        },
        Case {
            name: "alg none",
            token: alg_none,
            status: 401,
            reason: "malformed token",
        },
        Case {
            name: "another algorithm",
            token: hs512,
            status: 401,
            reason: "not signed with HS256",
        },
        Case {
            name: "expired",
            token: expired,
            status: 401,
            reason: "token expired",
        },
        Case {
            name: "revoked",
            token: revoked,
            status: 401,
            reason: "token revoked",
        },
        Case {
            name: "never issued (unknown token id)",
            token: never_issued,
            status: 401,
            reason: "token revoked",
        },
        Case {
            name: "wrong scope",
            token: chat,
            status: 403,
            reason: "lacks the voip scope",
        },
        Case {
            name: "deleted user",
            token: deleted,
            status: 401,
            reason: "does not exist",
        },
        Case {
            name: "user that never existed",
            token: stranger,
            status: 401,
            reason: "does not exist",
        },
        Case {
            name: "missing exp claim",
            token: no_exp,
            status: 401,
            reason: "missing field `exp`",
        },
        Case {
            name: "malformed: garbage",
            token: "garbage".into(),
            status: 401,
            reason: "malformed token",
        },
        Case {
            name: "malformed: empty",
            token: String::new(),
            status: 401,
            reason: "malformed token",
        },
        Case {
            name: "malformed: three dots of nothing",
            token: "a.b.c".into(),
            status: 401,
            reason: "malformed token",
        },
        Case {
            name: "malformed: not base64",
            token: "%%%.%%%.%%%".into(),
            status: 401,
            reason: "malformed token",
        },
    ];

    // A session that tries to refresh with each bad token (and must survive the attempts).
    let mut live = Client::connect(&svc).await;
    live.send(hello(&good)).await;
    live.expect("welcome").await;

    for (i, case) in cases.iter().enumerate() {
        let (status, body) = me(&svc, &case.token);
        let text = body["error"].as_str().unwrap_or_default();
        assert_eq!(status, case.status, "REST {}: {body}", case.name);
        assert!(text.contains(case.reason), "REST {}: {text}", case.name);

        let mut c = Client::connect(&svc).await;
        c.send(hello(&case.token)).await;
        let e = c.expect("error").await;
        let text = e["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(e["error"]["code"], case.status, "Hello {}: {e}", case.name);
        assert!(text.contains(case.reason), "Hello {}: {text}", case.name);
        assert!(c.closed().await, "Hello {}: connection closed", case.name);

        let req = 100 + i as u64;
        live.send(json!({"type": "refresh_token", "req": req, "token": case.token}))
            .await;
        let r = live
            .expect_where("refresh response", |m| {
                m["type"] == "response" && m["req"] == req
            })
            .await;
        let text = r["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            r["error"]["code"], case.status,
            "Refresh {}: {r}",
            case.name
        );
        assert!(text.contains(case.reason), "Refresh {}: {text}", case.name);
        println!("refused {:<36} {} {text}", case.name, case.status);
    }

    // No token at all.
    let (status, body) = svc.http("GET", "/me", None, "");
    assert_eq!(status, 401, "{body}");
    let mut c = Client::connect(&svc).await;
    c.send(json!({"type": "hello", "protocol": 2, "display_name": "x"}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(e["error"]["code"], 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("token"));

    // The good token passes everywhere, and the live session survived every bad refresh.
    let (status, body) = me(&svc, &good);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], user.as_str());
    assert_eq!(body["scopes"], json!(["voip"]));
    assert_eq!(body["expires_on"], claims["exp"]);
    live.send(json!({"type": "refresh_token", "req": 1, "token": good}))
        .await;
    let r = live
        .expect_where("refresh 1", |m| m["type"] == "response" && m["req"] == 1)
        .await;
    assert!(r.get("error").is_none(), "{r}");
    // Another user's valid token does not take the session over.
    let other = svc.create_user();
    live.send(json!({"type": "refresh_token", "req": 2, "token": svc.token(&other)}))
        .await;
    let r = live
        .expect_where("refresh 2", |m| m["type"] == "response" && m["req"] == 2)
        .await;
    assert_eq!(r["error"]["code"], 403, "{r}");
}

/// Alice (token `token`) in a 1:1 call with Bob: (alice, bob, call id).
async fn in_a_call(svc: &Service, alice_token: &str) -> (Client, Client, String) {
    let mut alice = Client::connect(svc).await;
    alice.send(hello(alice_token)).await;
    alice.expect("welcome").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    let call = format!("tok-{}", uuid_like());
    alice
        .send(json!({"type": "start_call", "req": 1, "call_id": call,
                     "targets": [bob_id], "offer_sdp": dummy_offer()}))
        .await;
    assert!(alice.expect("response").await.get("error").is_none());
    bob.expect("incoming_call").await;
    bob.send(json!({"type": "accept", "req": 2, "call_id": call, "offer_sdp": dummy_offer()}))
        .await;
    assert!(bob.expect("response").await["answer_sdp"].is_string());
    alice
        .expect_where("bob joined", |m| {
            m["type"] == "participant_updated" && m["participant"]["state"] == "Connecting"
        })
        .await;
    (alice, bob, call)
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Waits for the error that closes `c`; returns it and when it came.
async fn closing_error(c: &mut Client) -> (Value, Instant) {
    let e = c.expect("error").await;
    let at = Instant::now();
    assert!(c.closed().await, "closed after {e}");
    (e, at)
}

#[tokio::test]
async fn revocation_and_deletion_end_live_sessions_within_a_second() {
    let svc = Service::start(&[]);
    for (what, path_of, method, reason) in [
        ("revoke", "/revoke", "POST", "token revoked"),
        ("delete", "", "DELETE", "identity deleted"),
    ] {
        let alice_id = svc.create_user();
        let (mut alice, mut bob, call) = in_a_call(&svc, &svc.token(&alice_id)).await;
        let sent = Instant::now();
        let (st, _) = svc.http(
            method,
            &format!("/identities/{alice_id}{path_of}"),
            Some(KEY),
            "",
        );
        assert_eq!(st, 204);
        let (e, at) = closing_error(&mut alice).await;
        let latency = at - sent;
        println!("{what}: live session closed {latency:?} after the REST request");
        assert!(latency < Duration::from_secs(1), "{what}: {latency:?}");
        assert_eq!(e["error"]["code"], 401, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(reason),
            "{e}"
        );
        // Bob sees Alice leave with the reason; the 1:1 call ends.
        let gone = bob
            .expect_where("alice removed", |m| {
                m["type"] == "participant_removed" && m["participant"]["id"] == alice_id.as_str()
            })
            .await;
        assert_eq!(gone["participant"]["end_reason"]["code"], 401, "{gone}");
        bob.expect_call_state(&call, "Disconnected").await;
    }
}

#[tokio::test]
async fn a_session_whose_token_expires_unrefreshed_is_told_then_closed() {
    let svc = Service::start(&["--token-warning-secs", "2"]);
    let alice_id = svc.create_user();
    let token = svc.token_with(&alice_id, r#"{"expires_in_secs": 4}"#);
    let exp = claims_of(&token)["exp"].as_u64().unwrap();
    let (mut alice, mut bob, call) = in_a_call(&svc, &token).await;
    let w = alice.expect("token_expiring").await;
    assert!(w["expires_in_secs"].as_u64().unwrap() <= 2, "{w}");
    let (e, _) = closing_error(&mut alice).await;
    let closed_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    println!(
        "expired session closed {:.2} s after the token's exp",
        closed_unix - exp as f64
    );
    assert!(closed_unix >= exp as f64, "closed before expiry");
    assert!(closed_unix < exp as f64 + 2.0, "closed late");
    assert_eq!(e["error"]["code"], 401, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("expired"));
    let gone = bob
        .expect_where("alice removed", |m| {
            m["type"] == "participant_removed" && m["participant"]["id"] == alice_id.as_str()
        })
        .await;
    assert_eq!(gone["participant"]["end_reason"]["code"], 401, "{gone}");
    bob.expect_call_state(&call, "Disconnected").await;
}
