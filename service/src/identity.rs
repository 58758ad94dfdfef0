//! Identities and access tokens: users (kept in memory, written through to the SQLite
//! [`Store`]), HS256 JWTs signed with the access key, revocation by token id, and the REST
//! endpoints under `/identities`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parking_lot::Mutex;

use crate::protocol::{
    EndReason, IdentityResponse, TokenClaims, TokenRequest, TokenResponse, SCOPE_VOIP,
};
use crate::store::{Store, StoreError};
use crate::AppState;

/// Longest token lifetime that may be requested, and the default.
pub const MAX_TOKEN_SECS: u64 = 86_400;

pub use crate::protocol::clock::unix_secs as unix_now;

/// Why an identity operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// The user id is not known.
    #[error("unknown identity '{0}'")]
    NotFound(String),
    /// The request was invalid.
    #[error("{0}")]
    BadRequest(String),
    /// Signing or the database failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for IdentityError {
    fn from(e: StoreError) -> Self {
        IdentityError::Internal(e.to_string())
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Forged, expired, revoked, garbage, or for a user that no longer exists.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Valid, but lacks the `voip` scope.
    #[error("forbidden: {0}")]
    Forbidden(String),
}

impl TokenError {
    /// The end reason to report on the wire.
    pub fn reason(&self) -> EndReason {
        match self {
            TokenError::Unauthorized(_) => EndReason::UNAUTHORIZED,
            TokenError::Forbidden(_) => EndReason::FORBIDDEN,
        }
    }
}

/// A user: only the ids of its live (issued, unrevoked, unexpired) tokens.
#[derive(Debug, Default)]
struct User {
    /// jti → exp.
    tokens: HashMap<String, u64>,
}

/// Users and the key that signs their tokens.
pub struct IdentityStore {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key: String,
    users: Mutex<HashMap<String, User>>,
    /// Where every change is written before it is answered.
    store: Arc<Store>,
}

impl IdentityStore {
    /// A store whose tokens are signed with `access_key`.
    /// A store whose users live only as long as the process (tests).
    pub fn new(access_key: &str) -> Self {
        Self::with_store(access_key, Arc::new(Store::in_memory()))
            .expect("an empty in-memory database loads")
    }

    /// The users (and their live tokens) of `store`, which every change is written to.
    pub fn with_store(access_key: &str, store: Arc<Store>) -> Result<Self, StoreError> {
        let users = store
            .load_users(unix_now())?
            .into_iter()
            .map(|(id, tokens)| {
                let user = User {
                    tokens: tokens.into_iter().collect(),
                };
                (id, user)
            })
            .collect();
        Ok(Self {
            encoding: EncodingKey::from_secret(access_key.as_bytes()),
            decoding: DecodingKey::from_secret(access_key.as_bytes()),
            key: access_key.to_string(),
            users: Mutex::new(users),
            store,
        })
    }

    /// How many users there are.
    pub fn user_count(&self) -> usize {
        self.users.lock().len()
    }

    /// Whether `presented` equals the access key (compared in constant time).
    pub fn key_matches(&self, presented: &str) -> bool {
        let (a, b) = (self.key.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Creates a user and returns its raw id `8:acs:<uuid>`.
    pub fn create_user(&self) -> Result<String, IdentityError> {
        let id = format!("8:acs:{}", uuid::Uuid::new_v4());
        let mut users = self.users.lock();
        self.store.insert_user(&id, unix_now())?;
        users.insert(id.clone(), User::default());
        Ok(id)
    }

    /// Makes sure the user `id` exists (users named in the configuration).
    pub fn ensure_user(&self, id: &str) -> Result<(), IdentityError> {
        let mut users = self.users.lock();
        if !users.contains_key(id) {
            self.store.insert_user(id, unix_now())?;
            users.insert(id.to_string(), User::default());
        }
        Ok(())
    }

    /// Whether the user exists.
    pub fn exists(&self, id: &str) -> bool {
        self.users.lock().contains_key(id)
    }

    /// Issues a token for `id`.
    pub fn issue_token(
        &self,
        id: &str,
        req: &TokenRequest,
    ) -> Result<TokenResponse, IdentityError> {
        let lifetime = req.expires_in_secs.unwrap_or(MAX_TOKEN_SECS);
        if !(1..=MAX_TOKEN_SECS).contains(&lifetime) {
            return Err(IdentityError::BadRequest(format!(
                "expires_in_secs must be within 1..={MAX_TOKEN_SECS}"
            )));
        }
        let scopes: Vec<&str> = if req.scopes.is_empty() {
            vec![SCOPE_VOIP]
        } else {
            req.scopes.iter().map(String::as_str).collect()
        };
        if scopes
            .iter()
            .any(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace()))
        {
            return Err(IdentityError::BadRequest("invalid scope".into()));
        }
        let now = unix_now();
        let claims = TokenClaims {
            sub: id.to_string(),
            exp: now + lifetime,
            iat: now,
            scope: scopes.join(" "),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut users = self.users.lock();
        let user = users
            .get_mut(id)
            .ok_or_else(|| IdentityError::NotFound(id.to_string()))?;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        self.store.insert_token(id, &claims.jti, claims.exp, now)?;
        user.tokens.retain(|_, exp| *exp >= now);
        user.tokens.insert(claims.jti.clone(), claims.exp);
        Ok(TokenResponse {
            id: id.to_string(),
            token,
            expires_on: claims.exp,
        })
    }

    /// Invalidates every token of `id` issued so far.
    pub fn revoke(&self, id: &str) -> Result<(), IdentityError> {
        let mut users = self.users.lock();
        let user = users
            .get_mut(id)
            .ok_or_else(|| IdentityError::NotFound(id.to_string()))?;
        self.store.delete_tokens(id)?;
        user.tokens.clear();
        Ok(())
    }

    /// Deletes the user (and so all its tokens).
    pub fn delete(&self, id: &str) -> Result<(), IdentityError> {
        let mut users = self.users.lock();
        if !users.contains_key(id) {
            return Err(IdentityError::NotFound(id.to_string()));
        }
        self.store.delete_user(id)?;
        users.remove(id);
        Ok(())
    }

    /// Checks signature, expiry, revocation, the user and the `voip` scope.
    pub fn validate(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &validation)
            .map_err(|e| TokenError::Unauthorized(why_invalid(&e)))?;
        let claims = data.claims;
        if claims.exp <= unix_now() {
            return Err(TokenError::Unauthorized("token expired".into()));
        }
        {
            let users = self.users.lock();
            let user = users.get(&claims.sub).ok_or_else(|| {
                TokenError::Unauthorized(format!(
                    "the token's identity {} does not exist (deleted)",
                    claims.sub
                ))
            })?;
            if !user.tokens.contains_key(&claims.jti) {
                return Err(TokenError::Unauthorized("token revoked".into()));
            }
        }
        if !claims.scope.split_whitespace().any(|s| s == SCOPE_VOIP) {
            return Err(TokenError::Forbidden("token lacks the voip scope".into()));
        }
        Ok(claims)
    }
}

/// A clear reason for a token that does not decode.
fn why_invalid(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => {
            "token signature does not verify (forged, or signed with another access key)".into()
        }
        ErrorKind::InvalidAlgorithm => "token is not signed with HS256 (forged)".into(),
        ErrorKind::ExpiredSignature => "token expired".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("token lacks the '{c}' claim"),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::InvalidClaimFormat(_) => {
            format!("malformed token (not a JWT issued by this service): {e}")
        }
        _ => format!("invalid token: {e}"),
    }
}

/// The `/identities` routes and `GET /me`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/identities", post(create_identity))
        .route("/identities/{id}", delete(delete_identity))
        .route("/identities/{id}/token", post(issue_token))
        .route("/identities/{id}/revoke", post(revoke_tokens))
        .route("/me", get(whoami))
}

/// `GET /me` with `Authorization: Bearer <user token>`: who the token is for, when it
/// expires and its scopes, after the same checks as a signaling `Hello` (401 forged,
/// malformed, expired, revoked or for a deleted user; 403 without the `voip` scope).
async fn whoami(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer"))
        .map(str::trim)
    else {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: Bearer <user token>",
        );
    };
    match state.identity.validate(token) {
        Ok(c) => Json(serde_json::json!({
            "id": c.sub,
            "expires_on": c.exp,
            "scopes": c.scope.split_whitespace().collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e @ TokenError::Unauthorized(_)) => json_error(StatusCode::UNAUTHORIZED, e.to_string()),
        Err(e @ TokenError::Forbidden(_)) => json_error(StatusCode::FORBIDDEN, e.to_string()),
    }
}

/// A JSON error response `{"error": "..."}`.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// Checks the bearer access key; the error is the ready 401 response (boxed: it is large).
pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(k) if state.identity.key_matches(k) => Ok(()),
        Some(_) => Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            "invalid access key",
        ))),
        None => Err(Box::new(json_error(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: Bearer <access-key>",
        ))),
    }
}

fn error_response(e: IdentityError) -> Response {
    let status = match e {
        IdentityError::NotFound(_) => StatusCode::NOT_FOUND,
        IdentityError::BadRequest(_) => StatusCode::BAD_REQUEST,
        IdentityError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_error(status, e.to_string())
}

async fn create_identity(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    let id = match state.identity.create_user() {
        Ok(id) => id,
        Err(e) => return error_response(e),
    };
    log::info!("identity created: {id}");
    (StatusCode::CREATED, Json(IdentityResponse { id })).into_response()
}

async fn issue_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    let req: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("bad body: {e}")),
        }
    };
    match state.identity.issue_token(&id, &req) {
        Ok(t) => (StatusCode::OK, Json(t)).into_response(),
        Err(e) => error_response(e),
    }
}

async fn revoke_tokens(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    match state.identity.revoke(&id) {
        Ok(()) => {
            state
                .hub
                .close_user(&id, EndReason::UNAUTHORIZED, "token revoked");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error_response(e),
    }
}

async fn delete_identity(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    match state.identity.delete(&id) {
        Ok(()) => {
            state.hub.numbers.remove_user(&id);
            state.hub.push.forget_user(&id);
            state.hub.rooms.forget_user(&id);
            state
                .hub
                .close_user(&id, EndReason::UNAUTHORIZED, "identity deleted");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error_response(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_validate_revoke() {
        let s = IdentityStore::new("key");
        let id = s.create_user().unwrap();
        let t = s.issue_token(&id, &TokenRequest::default()).unwrap();
        assert_eq!(s.validate(&t.token).unwrap().sub, id);
        let other = IdentityStore::new("other");
        assert!(matches!(
            other.validate(&t.token),
            Err(TokenError::Unauthorized(_))
        ));
        s.revoke(&id).unwrap();
        assert!(matches!(
            s.validate(&t.token),
            Err(TokenError::Unauthorized(_))
        ));
        let t2 = s.issue_token(&id, &TokenRequest::default()).unwrap();
        assert!(s.validate(&t2.token).is_ok());
    }

    #[test]
    fn scope_and_lifetime() {
        let s = IdentityStore::new("key");
        let id = s.create_user().unwrap();
        let chat = TokenRequest {
            scopes: vec!["chat".into()],
            expires_in_secs: Some(60),
        };
        let t = s.issue_token(&id, &chat).unwrap();
        assert!(matches!(
            s.validate(&t.token),
            Err(TokenError::Forbidden(_))
        ));
        let bad = TokenRequest {
            scopes: vec![],
            expires_in_secs: Some(0),
        };
        assert!(matches!(
            s.issue_token(&id, &bad),
            Err(IdentityError::BadRequest(_))
        ));
        assert!(matches!(
            s.issue_token("8:acs:nobody", &TokenRequest::default()),
            Err(IdentityError::NotFound(_))
        ));
        assert!(s.validate("garbage").is_err());
    }
}
