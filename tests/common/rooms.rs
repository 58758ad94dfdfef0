//! Rooms for the tests: `POST /rooms` on a test service.

use super::Service;
use acscalling::protocol::RoomResponse;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    acscalling::protocol::clock::unix_secs()
}

/// Creates a room from the JSON `body` (a `RoomRequest`); the service must answer 201.
pub fn create_room(svc: &Service, body: &str) -> RoomResponse {
    let (st, resp) = svc.post("/rooms", body);
    assert_eq!(st, 201, "{resp}");
    serde_json::from_str(&resp).unwrap()
}
