//! Rooms (ACS rooms; our counterpart of meeting links): a group call with a validity window
//! and a participant list with roles, created through the REST API and joined by its id or
//! its link `http://<service>/meet/<id>`.
//!
//! `POST /rooms` (access key) creates one, `GET /rooms/{id}` reads it, `DELETE /rooms/{id}`
//! removes it. Joining (`JoinGroupCall` with `room`) is refused outside the window (403) and
//! to anyone not listed (403); a joiner gets its listed role, which the service enforces
//! ([`crate::authz`]): consumers listen and watch only, attendees cannot change the roster,
//! presenters can, organizers can also end the meeting for everyone. A room made with
//! `lobby` lets unlisted people ask to join: they wait in its lobby ([`crate::lobby`]).
//!
//! Rooms live in memory (a restart forgets them).

use crate::identity::{authorize, json_error};
use crate::protocol::{Identifier, Role, RoomParticipant, RoomRequest, RoomResponse};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// A room's longest validity (ACS: 180 days).
const MAX_VALIDITY_SECS: u64 = 180 * 24 * 3600;
/// The most listed participants of one room.
const MAX_LISTED: usize = 1000;

/// A room.
#[derive(Debug, Clone)]
pub struct Room {
    pub valid_from: u64,
    pub valid_until: u64,
    pub roles: HashMap<String, Role>,
    /// Unlisted people wait in the lobby instead of being refused.
    pub lobby: bool,
}

/// How a joiner enters a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Listed: straight in with its role.
    Listed(Role),
    /// Not listed, the room has a lobby: waits there; admitted as an attendee.
    Lobby,
}

/// Every room, by id.
#[derive(Default)]
pub struct Rooms(Mutex<HashMap<String, Room>>);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a join is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomRefusal {
    #[error("no room {0}")]
    Unknown(String),
    #[error("room {id} is open from {from} (unix seconds); it is {now}")]
    NotYet { id: String, from: u64, now: u64 },
    #[error("room {id} closed at {until} (unix seconds); it is {now}")]
    Over { id: String, until: u64, now: u64 },
    #[error("{user} is not a participant of room {id}")]
    NotListed { id: String, user: String },
}

impl Rooms {
    /// How `user` enters room `id` now, or why it may not join.
    pub fn entry_of(&self, id: &str, user: &str) -> Result<Entry, RoomRefusal> {
        let rooms = self.0.lock();
        let room = rooms
            .get(id)
            .ok_or_else(|| RoomRefusal::Unknown(id.to_string()))?;
        let now = unix_now();
        if now < room.valid_from {
            return Err(RoomRefusal::NotYet {
                id: id.to_string(),
                from: room.valid_from,
                now,
            });
        }
        if now >= room.valid_until {
            return Err(RoomRefusal::Over {
                id: id.to_string(),
                until: room.valid_until,
                now,
            });
        }
        match room.roles.get(user) {
            Some(role) => Ok(Entry::Listed(*role)),
            None if room.lobby => Ok(Entry::Lobby),
            None => Err(RoomRefusal::NotListed {
                id: id.to_string(),
                user: user.to_string(),
            }),
        }
    }

    fn response(id: &str, room: &Room, base: &str) -> RoomResponse {
        let mut participants: Vec<RoomParticipant> = room
            .roles
            .iter()
            .map(|(id, role)| RoomParticipant {
                id: id.clone(),
                role: *role,
            })
            .collect();
        participants.sort_by(|a, b| a.id.cmp(&b.id));
        RoomResponse {
            id: id.to_string(),
            valid_from: room.valid_from,
            valid_until: room.valid_until,
            participants,
            join_url: format!("{base}/meet/{id}"),
            lobby: room.lobby,
        }
    }
}

/// The `/rooms` routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/rooms", post(create_room))
        .route("/rooms/{id}", get(get_room).delete(delete_room))
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

async fn create_room(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    let req: RoomRequest = if body.trim().is_empty() {
        RoomRequest::default()
    } else {
        match serde_json::from_str(&body) {
            Ok(r) => r,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("bad room: {e}")),
        }
    };
    let now = unix_now();
    let valid_from = req.valid_from.unwrap_or(now);
    let valid_until = req
        .valid_until
        .unwrap_or(valid_from.saturating_add(MAX_VALIDITY_SECS));
    if valid_until <= valid_from {
        return json_error(
            StatusCode::BAD_REQUEST,
            "valid_until must come after valid_from",
        );
    }
    if valid_until - valid_from > MAX_VALIDITY_SECS {
        return json_error(StatusCode::BAD_REQUEST, "a room is valid 180 days at most");
    }
    if req.participants.len() > MAX_LISTED {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_LISTED} participants"),
        );
    }
    let mut roles = HashMap::new();
    for p in &req.participants {
        match Identifier::parse(&p.id) {
            Ok(Identifier::CommunicationUser(u)) if state.identity.exists(&u) => {
                roles.insert(u, p.role);
            }
            Ok(Identifier::CommunicationUser(u)) => {
                return json_error(StatusCode::NOT_FOUND, format!("no user {u}"))
            }
            _ => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("'{}' is not a user id (8:acs:…)", p.id),
                )
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let room = Room {
        valid_from,
        valid_until,
        roles,
        lobby: req.lobby,
    };
    let body = Rooms::response(&id, &room, &base_url(&headers));
    state.hub.rooms.0.lock().insert(id.clone(), room);
    log::info!(
        "room {id} created: {} participants, valid {valid_from}..{valid_until}",
        body.participants.len()
    );
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn get_room(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    match state.hub.rooms.0.lock().get(&id) {
        Some(room) => Json(Rooms::response(&id, room, &base_url(&headers))).into_response(),
        None => json_error(StatusCode::NOT_FOUND, format!("no room {id}")),
    }
}

async fn delete_room(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    match state.hub.rooms.0.lock().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => json_error(StatusCode::NOT_FOUND, format!("no room {id}")),
    }
}
