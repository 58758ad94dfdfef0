//! The service's state survives restarts (issue 14): users, token revocations and phone
//! numbers are in its SQLite database (`--database`), also when it is killed with SIGKILL.
mod common;

use common::{Client, Service, KEY};
use serde_json::json;

fn hello(token: &str) -> serde_json::Value {
    json!({"type": "hello", "protocol": 2, "token": token, "display_name": "x"})
}

/// Whether signaling accepts `token` (welcome) or refuses it (error 401).
async fn accepted(svc: &Service, token: &str) -> bool {
    let mut c = Client::connect(svc).await;
    c.send(hello(token)).await;
    loop {
        let m = c.next().await.expect("an answer to hello");
        match m["type"].as_str() {
            Some("welcome") => return true,
            Some("error") => {
                assert_eq!(m["error"]["code"], 401, "{m}");
                return false;
            }
            _ => continue,
        }
    }
}

fn temp_db(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("acs-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("service.db").display().to_string();
    (dir, db)
}

#[tokio::test]
async fn users_revocations_and_numbers_survive_a_kill_and_restart() {
    let (dir, db) = temp_db("restart");
    let (kept, revoked, deleted, kept_token, revoked_token, deleted_token);
    {
        let svc = Service::start(&["--database", &db]);
        kept = svc.create_user();
        revoked = svc.create_user();
        deleted = svc.create_user();
        kept_token = svc.token(&kept);
        revoked_token = svc.token(&revoked);
        deleted_token = svc.token(&deleted);
        let (st, v) = svc.http(
            "POST",
            &format!("/identities/{revoked}/revoke"),
            Some(KEY),
            "",
        );
        assert_eq!(st, 204, "{v}");
        let (st, _) = svc.http("DELETE", &format!("/identities/{deleted}"), Some(KEY), "");
        assert_eq!(st, 204);
        let (st, v) = svc.http(
            "PUT",
            &format!("/identities/{kept}/phone-numbers/+15551230001"),
            Some(KEY),
            "",
        );
        assert_eq!(st, 200, "{v}");
        assert!(accepted(&svc, &kept_token).await);
        assert!(!accepted(&svc, &revoked_token).await);
        // Dropped: SIGKILL, no goodbye.
    }
    let svc = Service::start(&["--database", &db]);
    // The kept user's token still opens a session; the revoked one's and the deleted
    // user's do not.
    assert!(accepted(&svc, &kept_token).await, "a restart forgot a user");
    assert!(
        !accepted(&svc, &revoked_token).await,
        "a restart undid a revocation"
    );
    assert!(
        !accepted(&svc, &deleted_token).await,
        "a restart brought a deleted user back"
    );
    // The revoked user exists: a new token works.
    let fresh = svc.token(&revoked);
    assert!(accepted(&svc, &fresh).await);
    let (st, _) = svc.http(
        "POST",
        &format!("/identities/{deleted}/token"),
        Some(KEY),
        "",
    );
    assert_eq!(st, 404);
    // The number is still the kept user's, and still taken for anyone else.
    let (st, v) = svc.http(
        "GET",
        &format!("/identities/{kept}/phone-numbers"),
        Some(KEY),
        "",
    );
    assert_eq!(st, 200);
    assert_eq!(v["phone_numbers"], json!(["+15551230001"]));
    let (st, _) = svc.http(
        "PUT",
        &format!("/identities/{revoked}/phone-numbers/+15551230001"),
        Some(KEY),
        "",
    );
    assert_eq!(st, 409);
    // Unassigned, then restarted again: gone for good.
    let (st, _) = svc.http(
        "DELETE",
        &format!("/identities/{kept}/phone-numbers/+15551230001"),
        Some(KEY),
        "",
    );
    assert_eq!(st, 204);
    drop(svc);
    let svc = Service::start(&["--database", &db]);
    let (_, v) = svc.http(
        "GET",
        &format!("/identities/{kept}/phone-numbers"),
        Some(KEY),
        "",
    );
    assert_eq!(v["phone_numbers"], json!([]));
    drop(svc);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_generated_access_key_is_kept_so_tokens_outlive_restarts() {
    let (dir, db) = temp_db("key");
    let token;
    let key;
    {
        let _svc = Service::start_keyed(&["--database", &db], None);
        let conn = rusqlite::Connection::open(&db).unwrap();
        key = conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'access_key'",
                [],
                |r| r.get::<_, String>(0),
            )
            .expect("the generated key is in the database");
        let (st, v) = _svc.http("POST", "/identities", Some(&key), "");
        assert_eq!(st, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (st, v) = _svc.http("POST", &format!("/identities/{id}/token"), Some(&key), "");
        assert_eq!(st, 200);
        token = v["token"].as_str().unwrap().to_string();
    }
    let svc = Service::start_keyed(&["--database", &db], None);
    assert_eq!(svc.http("POST", "/identities", Some(&key), "").0, 201);
    assert!(accepted(&svc, &token).await);
    drop(svc);
    // A configured key wins over the kept one (and the old tokens no longer verify).
    let svc = Service::start_keyed(&["--database", &db], Some("another-key"));
    assert_eq!(svc.http("POST", "/identities", Some(&key), "").0, 401);
    assert!(!accepted(&svc, &token).await);
    drop(svc);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_unusable_database_stops_the_service_with_a_clear_error() {
    let (dir, _) = temp_db("bad");
    let not_db = dir.join("not.db");
    std::fs::write(&not_db, b"this is not an SQLite database, only some text").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acscalling-service"))
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(&not_db)
        .env("ACS_ACCESS_KEY", KEY)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--database"), "{err}");
    // The file is left as it was.
    assert_eq!(
        std::fs::read(&not_db).unwrap(),
        b"this is not an SQLite database, only some text"
    );
    std::fs::remove_dir_all(dir).ok();
}
