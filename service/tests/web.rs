//! The browser client's routes: `--web-dir` serves the SDK bundle and the sample page (only
//! the listed files), `--dev-tokens` issues users and tokens to loopback clients.
mod common;

use common::{Service, KEY};
use std::io::{Read, Write};
use std::net::TcpStream;

/// Status, headers and body of a GET.
fn get(svc: &Service, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(svc.http).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn dev_tokens_only_when_enabled() {
    let off = Service::start(&[]);
    assert_eq!(off.http("POST", "/dev/token", None, "").0, 404);

    let svc = Service::start(&["--dev-tokens"]);
    // A new user and a voip token for it, without the access key.
    let (st, v) = svc.http("POST", "/dev/token", None, "");
    assert_eq!(st, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let token = v["token"].as_str().unwrap().to_string();
    assert!(id.starts_with("8:acs:"), "{id}");
    assert!(v["expires_on"].as_u64().unwrap() > 0);
    // The token is a real one: GET /me accepts it.
    let (st, me) = svc.http("GET", "/me", Some(&token), "");
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["id"], id.as_str());
    // A refresh for the same user.
    let (st, again) = svc.http("POST", "/dev/token", None, &format!("{{\"id\":\"{id}\"}}"));
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_ne!(again["token"], v["token"]);
    // Bad input: clear errors.
    let (st, e) = svc.http("POST", "/dev/token", None, "{\"id\":\"alice\"}");
    assert_eq!(st, 400);
    assert!(
        e["error"].as_str().unwrap().contains("invalid user id"),
        "{e}"
    );
    let (st, e) = svc.http("POST", "/dev/token", None, "{\"id\":\"8:acs:nobody\"}");
    assert_eq!(st, 404, "{e}");
    let (st, e) = svc.http("POST", "/dev/token", None, "not json");
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("bad body"), "{e}");
    let (st, _) = svc.http("POST", "/dev/token", None, "{\"scopes\":[\"admin\"]}");
    assert_eq!(st, 400, "unknown fields are refused");
    // The identity API still wants the access key.
    assert_eq!(svc.http("POST", "/identities", None, "").0, 401);
    assert_eq!(svc.http("POST", "/identities", Some(KEY), "").0, 201);
}

#[test]
fn web_dir_serves_the_listed_files_only() {
    let dir = std::env::temp_dir().join(format!("acs-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sample")).unwrap();
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("sample/index.html"), "<!doctype html><p>sample").unwrap();
    std::fs::write(dir.join("dist/acscalling.js"), "export const x = 1;").unwrap();
    std::fs::write(dir.join("secret.txt"), "no").unwrap();
    let d = dir.display().to_string();

    let none = Service::start(&[]);
    assert_eq!(get(&none, "/").0, 404);

    let svc = Service::start(&["--web-dir", &d]);
    let (st, head, body) = get(&svc, "/");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(body.contains("sample"));
    let (st, head, body) = get(&svc, "/sdk/acscalling.js");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert_eq!(body, "export const x = 1;");
    // Not built yet: a 404 that says how to build it.
    let (st, _, body) = get(&svc, "/sample.js");
    assert_eq!(st, 404);
    assert!(body.contains("npm run build"), "{body}");
    // Nothing outside the list, however it is spelled.
    for path in [
        "/secret.txt",
        "/sdk/../secret.txt",
        "/sample/../secret.txt",
        "/dist/acscalling.js",
    ] {
        assert_eq!(get(&svc, path).0, 404, "{path}");
    }
    assert_eq!(svc.http("GET", "/health", None, "").0, 200);
    std::fs::remove_dir_all(&dir).ok();
}
