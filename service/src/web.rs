//! The browser client over the HTTP listener: the JavaScript SDK bundle and the sample page
//! (`--web-dir DIR`, the repository's `web/` after `npm run build`), and the dev-mode token
//! endpoint (`--dev-tokens`) that lets the sample sign in without a backend.
//!
//! Only the files listed in [`FILES`] are served, read from disk on each request (a rebuilt
//! bundle shows without a restart); no path from the request reaches the file system. A
//! room's link `GET /meet/<id>` (the `join_url` of `POST /rooms`; the id must be a UUID)
//! is the sample page, which joins the room named by its path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::identity::json_error;
use crate::protocol::{Identifier, TokenRequest};
use crate::AppState;

/// URL path → (file under the web directory, content type).
const FILES: &[(&str, &str, &str)] = &[
    ("/", "sample/index.html", "text/html; charset=utf-8"),
    (
        "/index.html",
        "sample/index.html",
        "text/html; charset=utf-8",
    ),
    (
        "/sample.js",
        "sample/sample.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/sample.css",
        "sample/sample.css",
        "text/css; charset=utf-8",
    ),
    (
        "/sdk/acscalling.js",
        "dist/acscalling.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/sdk/acscalling.js.map",
        "dist/acscalling.js.map",
        "application/json",
    ),
];

/// The page a room's link (`/meet/<id>`) opens: the sample page, which reads the id from
/// its path.
const MEET_PAGE: (&str, &str) = ("sample/index.html", "text/html; charset=utf-8");

/// Lifetime of a dev token (an hour: the sample refreshes it before then).
const DEV_TOKEN_SECS: u64 = 3600;

/// The routes of the browser client: static files when `web_dir` is set, `POST /dev/token`
/// when `dev_tokens` is.
pub fn routes(web_dir: Option<&Path>, dev_tokens: bool) -> Router<Arc<AppState>> {
    let mut r = Router::new();
    if let Some(dir) = web_dir {
        for (url, file, mime) in FILES {
            let path = dir.join(file);
            r = r.route(url, get(move || serve(path.clone(), mime)));
        }
        let page = dir.join(MEET_PAGE.0);
        r = r.route(
            "/meet/{id}",
            get(move |UrlPath(id): UrlPath<String>| meet(page.clone(), id)),
        );
    }
    if dev_tokens {
        r = r.route("/dev/token", post(dev_token));
    }
    r
}

/// `GET /meet/<id>`: the sample page for a room id (a UUID; anything else is 404). The id
/// only picks the response: the file served is always [`MEET_PAGE`].
async fn meet(page: PathBuf, id: String) -> Response {
    if uuid::Uuid::parse_str(&id).is_err() || id.len() != 36 {
        return json_error(
            StatusCode::NOT_FOUND,
            format!("no room '{id}': a room link is /meet/<uuid>"),
        );
    }
    serve(page, MEET_PAGE.1).await
}

async fn serve(path: PathBuf, mime: &'static str) -> Response {
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            log::warn!("web: cannot read {}: {e}", path.display());
            json_error(
                StatusCode::NOT_FOUND,
                format!(
                    "{} is not built: run `npm ci && npm run build` in web/",
                    path.display()
                ),
            )
        }
    }
}

/// Body of `POST /dev/token`: the user to issue for (a new user when absent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenRequest {
    #[serde(default)]
    id: Option<String>,
}

/// `POST /dev/token` (`--dev-tokens` only, loopback clients only): a user and a `voip`
/// token for it, without the access key. For the sample page on a developer's machine; a
/// real deployment issues tokens from its own backend with the access key.
async fn dev_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return json_error(
            StatusCode::FORBIDDEN,
            "dev tokens are issued to loopback clients only",
        );
    }
    let req: DevTokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        DevTokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("bad body: {e}")),
        }
    };
    let id = match req.id {
        Some(id) => match Identifier::parse(&id) {
            Ok(Identifier::CommunicationUser(id)) => id,
            _ => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("invalid user id '{id}': expected 8:acs:<id>"),
                )
            }
        },
        None => match state.identity.create_user() {
            Ok(id) => {
                log::info!("dev token: identity created: {id}");
                id
            }
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
    };
    let req = TokenRequest {
        scopes: Vec::new(),
        expires_in_secs: Some(DEV_TOKEN_SECS),
    };
    match state.identity.issue_token(&id, &req) {
        Ok(t) => (StatusCode::OK, Json(t)).into_response(),
        Err(crate::identity::IdentityError::NotFound(id)) => {
            json_error(StatusCode::NOT_FOUND, format!("unknown identity '{id}'"))
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
