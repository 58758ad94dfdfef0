//! REST: phone numbers assigned to identities.
//!
//! - `GET /identities/{id}/phone-numbers` → `{"phone_numbers": ["+1…", …]}`
//! - `PUT /identities/{id}/phone-numbers/{number}` → 200 `{"phone_number": "+1…"}`
//!   (409 when another user has it)
//! - `DELETE /identities/{id}/phone-numbers/{number}` → 204 (404 when not assigned)
//!
//! All take the access key as `Authorization: Bearer …`, like `/identities`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};

use crate::identity::{authorize, json_error};
use crate::phone_numbers::NumberError;
use crate::AppState;

/// The `/identities/{id}/phone-numbers` routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/identities/{id}/phone-numbers", get(list))
        .route(
            "/identities/{id}/phone-numbers/{number}",
            put(assign).delete(unassign),
        )
}

fn number_error(e: NumberError) -> Response {
    let status = match e {
        NumberError::Invalid(_) => StatusCode::BAD_REQUEST,
        NumberError::Taken(_) => StatusCode::CONFLICT,
        NumberError::NotAssigned(_) => StatusCode::NOT_FOUND,
        NumberError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_error(status, e.to_string())
}

async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    if !state.identity.exists(&id) {
        return json_error(StatusCode::NOT_FOUND, format!("no identity '{id}'"));
    }
    let numbers = state.hub.numbers.numbers_of(&id);
    Json(serde_json::json!({ "phone_numbers": numbers })).into_response()
}

async fn assign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, number)): Path<(String, String)>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    if !state.identity.exists(&id) {
        return json_error(StatusCode::NOT_FOUND, format!("no identity '{id}'"));
    }
    match state.hub.numbers.assign(&id, &number) {
        Ok(n) => {
            log::info!("{n} assigned to {id}");
            Json(serde_json::json!({ "phone_number": n })).into_response()
        }
        Err(e) => number_error(e),
    }
}

async fn unassign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, number)): Path<(String, String)>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    match state.hub.numbers.unassign(&id, &number) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => number_error(e),
    }
}
