//! Identity REST API against the real binary.
mod common;

use common::{Client, Service, KEY};
use serde_json::json;

#[test]
fn identities_tokens_and_auth() {
    let svc = Service::start(&[]);
    assert_eq!(svc.http("GET", "/health", None, "").0, 200);

    let id = svc.create_user();
    assert!(id.starts_with("8:acs:"), "{id}");

    let (st, v) = svc.http("POST", &format!("/identities/{id}/token"), Some(KEY), "");
    assert_eq!(st, 200);
    assert_eq!(v["id"], id.as_str());
    assert!(v["token"].as_str().unwrap().split('.').count() == 3);
    assert!(v["expires_on"].as_u64().unwrap() > 0);

    // Bad and missing keys.
    let (st, v) = svc.http("POST", "/identities", Some("wrong"), "");
    assert_eq!(st, 401);
    assert!(v["error"].is_string());
    assert_eq!(svc.http("POST", "/identities", None, "").0, 401);
    assert_eq!(
        svc.http(
            "POST",
            &format!("/identities/{id}/token"),
            Some("wrong"),
            ""
        )
        .0,
        401
    );

    // Unknown user, bad lifetime.
    let (st, v) = svc.http("POST", "/identities/8:acs:nobody/token", Some(KEY), "");
    assert_eq!(st, 404);
    assert!(v["error"].is_string());
    let (st, _) = svc.http(
        "POST",
        &format!("/identities/{id}/token"),
        Some(KEY),
        r#"{"expires_in_secs": 0}"#,
    );
    assert_eq!(st, 400);
    let (st, _) = svc.http(
        "POST",
        &format!("/identities/{id}/token"),
        Some(KEY),
        r#"{"expires_in_secs": 86401}"#,
    );
    assert_eq!(st, 400);

    // Delete.
    let other = svc.create_user();
    assert_eq!(
        svc.http("DELETE", &format!("/identities/{other}"), Some(KEY), "")
            .0,
        204
    );
    assert_eq!(
        svc.http("DELETE", &format!("/identities/{other}"), Some(KEY), "")
            .0,
        404
    );
}

#[tokio::test]
async fn revoked_tokens_are_refused_and_live_connections_closed() {
    let svc = Service::start(&[]);
    let id = svc.create_user();
    let old = svc.token(&id);

    // A live connection with the old token.
    let mut live = Client::connect(&svc).await;
    live.send(json!({"type": "hello", "protocol": 2, "token": old, "display_name": "A"}))
        .await;
    live.expect("welcome").await;

    assert_eq!(
        svc.http("POST", &format!("/identities/{id}/revoke"), Some(KEY), "")
            .0,
        204
    );
    let e = live.expect("error").await;
    assert_eq!(e["error"]["code"], 401);
    assert!(live.closed().await);

    let mut c = Client::connect(&svc).await;
    c.send(json!({"type": "hello", "protocol": 2, "token": old, "display_name": "A"}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(e["error"]["code"], 401);

    // A token issued after the revocation works.
    let fresh = svc.token(&id);
    let mut c = Client::connect(&svc).await;
    c.send(json!({"type": "hello", "protocol": 2, "token": fresh, "display_name": "A"}))
        .await;
    c.expect("welcome").await;
}
