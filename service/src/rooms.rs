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
//! Rooms live in memory and are written through to the store ([`crate::store`], tables
//! `rooms` and `room_participants`) before a create or delete answers; at start they are
//! loaded from it ([`Rooms::attach_store`]), closed ones purged. With `--database :memory:`
//! a restart forgets them. A deleted user's listings go with it in the store (cascade) and
//! are dropped from memory when the room is next read (a deleted user cannot join anyway:
//! its tokens went with it).

use crate::identity::{authorize, json_error};
use crate::protocol::{Identifier, Role, RoomParticipant, RoomRequest, RoomResponse};
use crate::store::{Store, StoreError, StoredRoom};
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

/// Every room, by id; written through to the store when there is one.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    store: std::sync::OnceLock<Arc<Store>>,
}

use crate::identity::unix_now;

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

/// A role as the store keeps it: its protocol text (`organizer`, …).
fn role_text(role: Role) -> String {
    match serde_json::to_value(role) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{role:?}").to_lowercase(),
    }
}

fn role_of_text(text: &str) -> Option<Role> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

impl Rooms {
    /// Loads the rooms kept in `store` (those closed by now are purged); later creates and
    /// deletes are written to it (once, at start).
    pub fn attach_store(&self, store: Arc<Store>) -> Result<usize, StoreError> {
        let mut map = self.rooms.lock();
        for stored in store.load_rooms(unix_now())? {
            let mut roles = HashMap::new();
            for (user, role) in stored.participants {
                match role_of_text(&role) {
                    Some(r) => {
                        roles.insert(user, r);
                    }
                    None => log::warn!(
                        "room {}: {user} has an unknown role '{role}' in the store; not listed",
                        stored.id
                    ),
                }
            }
            map.insert(
                stored.id,
                Room {
                    valid_from: stored.valid_from,
                    valid_until: stored.valid_until,
                    roles,
                    lobby: stored.lobby,
                },
            );
        }
        let loaded = map.len();
        self.store
            .set(store)
            .map_err(|_| StoreError("the rooms already have a store".into()))?;
        Ok(loaded)
    }

    /// Adds room `id` (to the store first: a failed write adds nothing).
    fn insert(&self, id: &str, room: Room) -> Result<(), StoreError> {
        let mut map = self.rooms.lock();
        if let Some(store) = self.store.get() {
            let mut participants: Vec<(String, String)> = room
                .roles
                .iter()
                .map(|(u, r)| (u.clone(), role_text(*r)))
                .collect();
            participants.sort();
            store.insert_room(&StoredRoom {
                id: id.to_string(),
                valid_from: room.valid_from,
                valid_until: room.valid_until,
                lobby: room.lobby,
                participants,
            })?;
        }
        map.insert(id.to_string(), room);
        Ok(())
    }

    /// Removes room `id`: `Ok(false)` when there is none.
    fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let mut map = self.rooms.lock();
        if !map.contains_key(id) {
            return Ok(false);
        }
        if let Some(store) = self.store.get() {
            store.delete_room(id)?;
        }
        map.remove(id);
        Ok(true)
    }

    /// A deleted user is listed in no room any more (the store's rows went with the user).
    pub fn forget_user(&self, user: &str) {
        for room in self.rooms.lock().values_mut() {
            room.roles.remove(user);
        }
    }

    /// Room `id` without the listings of users that no longer exist (deleted users: the
    /// store dropped their rows with them).
    fn get(&self, id: &str, exists: impl Fn(&str) -> bool) -> Option<Room> {
        let mut map = self.rooms.lock();
        let room = map.get_mut(id)?;
        room.roles.retain(|u, _| exists(u));
        Some(room.clone())
    }

    /// How `user` enters room `id` now, or why it may not join.
    pub fn entry_of(&self, id: &str, user: &str) -> Result<Entry, RoomRefusal> {
        let rooms = self.rooms.lock();
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
    if let Err(e) = state.hub.rooms.insert(&id, room) {
        log::error!("room {id} not created: {e}");
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
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
    match state.hub.rooms.get(&id, |u| state.identity.exists(u)) {
        Some(room) => Json(Rooms::response(&id, &room, &base_url(&headers))).into_response(),
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
    match state.hub.rooms.remove(&id) {
        Ok(true) => {
            log::info!("room {id} deleted");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => json_error(StatusCode::NOT_FOUND, format!("no room {id}")),
        Err(e) => {
            log::error!("room {id} not deleted: {e}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}
