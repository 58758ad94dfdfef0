//! The service's durable state in an embedded SQLite database (`--database PATH`, default
//! `acscalling-service.db` in the working directory; `:memory:` only when asked): users,
//! the ids of their live tokens (a revocation deletes them), phone numbers assigned to users,
//! their push targets, rooms with their listed participants,
//! and the generated access key when none is configured.
//!
//! The identity store and the number plan keep their maps in memory for the hot paths (every
//! signaling connection validates a token) and write every change through to here before
//! they answer; at start they load from here. A write that fails is an error to the caller,
//! never a change that only lives in memory.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

/// Version of the schema below (`PRAGMA user_version`). Tables added later with
/// `CREATE TABLE IF NOT EXISTS` (the rooms) keep it: an older service ignores them.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    jti TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    exp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens(user_id);
CREATE TABLE IF NOT EXISTS phone_numbers (
    number TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS push_targets (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    PRIMARY KEY (user_id, url)
);
-- Rooms (`/rooms`). The participants are rows of their own, not a JSON column of `rooms`,
-- so that deleting a user takes its listings along (ON DELETE CASCADE, as for push targets)
-- and deleting a room takes its list; a JSON column could do neither. Times are unix
-- seconds (a u64 stored as its i64 bit pattern).
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    lobby INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS room_participants (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX IF NOT EXISTS room_participants_by_user ON room_participants(user_id);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// A database error, as text for logs and REST answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("database: {0}")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// A user as stored: its id and its live tokens (jti, expiry).
pub type StoredUser = (String, Vec<(String, u64)>);

/// A room as stored: its participants are (user, role as its protocol text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    pub id: String,
    pub valid_from: u64,
    pub valid_until: u64,
    pub lobby: bool,
    pub participants: Vec<(String, String)>,
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
    path: String,
}

impl Store {
    /// Opens (creating it if needed) the database at `path`; `:memory:` for one that lives as
    /// long as the process.
    pub fn open(path: &str) -> Result<Store, StoreError> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
            }
            let conn = Connection::open(path)?;
            restrict_permissions(path);
            conn
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        if path != ":memory:" {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError(format!(
                "{path} has schema version {version}, newer than this service's \
                 {SCHEMA_VERSION}: refusing to touch it"
            )));
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_string(),
        })
    }

    /// A database in memory (tests, and `--database :memory:`).
    pub fn in_memory() -> Store {
        Store::open(":memory:").expect("an in-memory SQLite database opens")
    }

    /// Where it lives (`:memory:` or a path).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Every user with its tokens that have not expired at `now`; expired ones are deleted.
    pub fn load_users(&self, now: u64) -> Result<Vec<StoredUser>, StoreError> {
        let conn = self.conn.lock();
        conn.execute("DELETE FROM tokens WHERE exp < ?1", params![now as i64])?;
        let mut users: Vec<StoredUser> = conn
            .prepare("SELECT id FROM users ORDER BY id")?
            .query_map([], |r| r.get::<_, String>(0))?
            .map(|id| id.map(|id| (id, Vec::new())))
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare("SELECT user_id, jti, exp FROM tokens")?;
        let tokens = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for t in tokens {
            let (user, jti, exp) = t?;
            if let Ok(i) = users.binary_search_by(|(id, _)| id.as_str().cmp(&user)) {
                users[i].1.push((jti, exp.max(0) as u64));
            }
        }
        Ok(users)
    }

    /// Adds a user (no-op when it exists).
    pub fn insert_user(&self, id: &str, now: u64) -> Result<(), StoreError> {
        self.conn.lock().execute(
            "INSERT OR IGNORE INTO users (id, created) VALUES (?1, ?2)",
            params![id, now as i64],
        )?;
        Ok(())
    }

    /// Deletes a user with its tokens and numbers.
    pub fn delete_user(&self, id: &str) -> Result<(), StoreError> {
        self.conn
            .lock()
            .execute("DELETE FROM users WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// Records a token issued to `user`; tokens of `user` expired at `now` are deleted.
    pub fn insert_token(
        &self,
        user: &str,
        jti: &str,
        exp: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM tokens WHERE user_id = ?1 AND exp < ?2",
            params![user, now as i64],
        )?;
        tx.execute(
            "INSERT INTO tokens (jti, user_id, exp) VALUES (?1, ?2, ?3)",
            params![jti, user, exp as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Revokes every token of `user`.
    pub fn delete_tokens(&self, user: &str) -> Result<(), StoreError> {
        self.conn
            .lock()
            .execute("DELETE FROM tokens WHERE user_id = ?1", params![user])?;
        Ok(())
    }

    /// Every (number, user) assignment.
    pub fn load_numbers(&self) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare("SELECT number, user_id FROM phone_numbers")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Assigns `number` to `user` (replacing an earlier owner: the plan checks first).
    pub fn assign_number(&self, number: &str, user: &str) -> Result<(), StoreError> {
        self.conn.lock().execute(
            "INSERT INTO phone_numbers (number, user_id) VALUES (?1, ?2)
             ON CONFLICT(number) DO UPDATE SET user_id = excluded.user_id",
            params![number, user],
        )?;
        Ok(())
    }

    /// Takes `number` away from whoever has it.
    pub fn unassign_number(&self, number: &str) -> Result<(), StoreError> {
        self.conn.lock().execute(
            "DELETE FROM phone_numbers WHERE number = ?1",
            params![number],
        )?;
        Ok(())
    }

    /// Every push target: (user, url, secret).
    pub fn load_push_targets(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare("SELECT user_id, url, secret FROM push_targets")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds `user`'s push target `url`, or replaces its secret.
    pub fn upsert_push_target(
        &self,
        user: &str,
        url: &str,
        secret: &str,
    ) -> Result<(), StoreError> {
        self.conn.lock().execute(
            "INSERT INTO push_targets (user_id, url, secret) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id, url) DO UPDATE SET secret = excluded.secret",
            params![user, url, secret],
        )?;
        Ok(())
    }

    /// Removes `user`'s push target `url`, or all of them.
    pub fn delete_push_targets(&self, user: &str, url: Option<&str>) -> Result<(), StoreError> {
        let conn = self.conn.lock();
        match url {
            Some(u) => conn.execute(
                "DELETE FROM push_targets WHERE user_id = ?1 AND url = ?2",
                params![user, u],
            )?,
            None => conn.execute("DELETE FROM push_targets WHERE user_id = ?1", params![user])?,
        };
        Ok(())
    }

    /// Every room that has not closed at `now` (rooms closed by then are deleted, their
    /// participants with them), with its participants: (user, role as text).
    pub fn load_rooms(&self, now: u64) -> Result<Vec<StoredRoom>, StoreError> {
        let conn = self.conn.lock();
        // Times past i64::MAX read as negative: those rooms close in a far future.
        conn.execute(
            "DELETE FROM rooms WHERE valid_until >= 0 AND valid_until <= ?1",
            params![now as i64],
        )?;
        let mut rooms: Vec<StoredRoom> = conn
            .prepare("SELECT id, valid_from, valid_until, lobby FROM rooms ORDER BY id")?
            .query_map([], |r| {
                Ok(StoredRoom {
                    id: r.get(0)?,
                    valid_from: r.get::<_, i64>(1)? as u64,
                    valid_until: r.get::<_, i64>(2)? as u64,
                    lobby: r.get(3)?,
                    participants: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare("SELECT room_id, user_id, role FROM room_participants")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (room, user, role) = row?;
            if let Ok(i) = rooms.binary_search_by(|r| r.id.as_str().cmp(&room)) {
                rooms[i].participants.push((user, role));
            }
        }
        Ok(rooms)
    }

    /// Adds a room with its participants (one transaction: all or nothing).
    pub fn insert_room(&self, room: &StoredRoom) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO rooms (id, valid_from, valid_until, lobby) VALUES (?1, ?2, ?3, ?4)",
            params![
                room.id,
                room.valid_from as i64,
                room.valid_until as i64,
                room.lobby
            ],
        )?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO room_participants (room_id, user_id, role) VALUES (?1, ?2, ?3)",
            )?;
            for (user, role) in &room.participants {
                stmt.execute(params![room.id, user, role])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes a room with its participants.
    pub fn delete_room(&self, id: &str) -> Result<(), StoreError> {
        self.conn
            .lock()
            .execute("DELETE FROM rooms WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// A setting (`access_key`).
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .lock()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.lock().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

/// The database holds token ids and maybe the access key: readable by the service's user only.
fn restrict_permissions(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        log::warn!("cannot restrict the permissions of {path}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> (std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("acs-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub/service.db");
        (dir, path.display().to_string())
    }

    #[test]
    fn what_is_written_is_there_after_reopening() {
        let (dir, path) = temp_db("reopen");
        {
            let s = Store::open(&path).unwrap();
            s.insert_user("8:acs:a", 1).unwrap();
            s.insert_user("8:acs:b", 1).unwrap();
            s.insert_user("8:acs:a", 2).unwrap(); // again: no-op
            s.insert_token("8:acs:a", "t1", 100, 10).unwrap();
            s.insert_token("8:acs:a", "t-old", 5, 10).unwrap(); // already expired
            s.insert_token("8:acs:b", "t2", 100, 10).unwrap();
            s.delete_tokens("8:acs:b").unwrap();
            s.assign_number("+15550001111", "8:acs:a").unwrap();
            s.assign_number("+15550002222", "8:acs:b").unwrap();
            s.unassign_number("+15550002222").unwrap();
            s.set_setting("access_key", "k1").unwrap();
            s.set_setting("access_key", "k2").unwrap();
        }
        let mode = std::fs::metadata(&path).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
        let s = Store::open(&path).unwrap();
        let users = s.load_users(20).unwrap();
        assert_eq!(
            users,
            vec![
                ("8:acs:a".to_string(), vec![("t1".to_string(), 100)]),
                ("8:acs:b".to_string(), vec![]),
            ]
        );
        assert_eq!(
            s.load_numbers().unwrap(),
            vec![("+15550001111".to_string(), "8:acs:a".to_string())]
        );
        assert_eq!(s.setting("access_key").unwrap().as_deref(), Some("k2"));
        assert_eq!(s.setting("nothing").unwrap(), None);
        // Deleting a user takes its tokens and numbers along.
        s.delete_user("8:acs:a").unwrap();
        assert_eq!(s.load_users(20).unwrap().len(), 1);
        assert!(s.load_numbers().unwrap().is_empty());
        // Tokens expire on load.
        s.insert_token("8:acs:b", "t3", 30, 20).unwrap();
        assert_eq!(s.load_users(31).unwrap()[0].1, vec![]);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn bad_paths_and_newer_schemas_are_refused() {
        assert!(Store::open("/proc/acs/nope.db").is_err());
        let (dir, path) = temp_db("newer");
        {
            let s = Store::open(&path).unwrap();
            s.conn
                .lock()
                .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let e = Store::open(&path).err().unwrap();
        assert!(e.0.contains("newer"), "{e}");
        // A file that is not a database.
        std::fs::write(&path, b"not a database at all, just text").unwrap();
        let _ = std::fs::remove_file(format!("{path}-wal"));
        assert!(Store::open(&path).is_err());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn rooms_are_kept_expire_and_go_with_their_users() {
        let (dir, path) = temp_db("rooms");
        let room = |id: &str, until: u64, participants: &[(&str, &str)]| StoredRoom {
            id: id.into(),
            valid_from: 10,
            valid_until: until,
            lobby: id == "r1",
            participants: participants
                .iter()
                .map(|(u, r)| (u.to_string(), r.to_string()))
                .collect(),
        };
        {
            let s = Store::open(&path).unwrap();
            s.insert_user("8:acs:a", 1).unwrap();
            s.insert_user("8:acs:b", 1).unwrap();
            let r1 = room(
                "r1",
                100,
                &[("8:acs:a", "organizer"), ("8:acs:b", "consumer")],
            );
            s.insert_room(&r1).unwrap();
            s.insert_room(&room("r2", 100, &[("8:acs:a", "attendee")]))
                .unwrap();
            s.insert_room(&room("old", 50, &[("8:acs:b", "attendee")]))
                .unwrap();
            s.insert_room(&room("far", u64::MAX, &[])).unwrap();
            // Unknown users and a second room with the same id: nothing is written.
            assert!(s
                .insert_room(&room(
                    "r3",
                    100,
                    &[("8:acs:a", "attendee"), ("8:acs:x", "attendee")]
                ))
                .is_err());
            assert!(s.insert_room(&room("r1", 100, &[])).is_err());
            s.delete_room("r2").unwrap();
        }
        let s = Store::open(&path).unwrap();
        let rooms = s.load_rooms(60).unwrap();
        let ids: Vec<&str> = rooms.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["far", "r1"],
            "r2 deleted, old closed, r3 never written"
        );
        let mut r1 = rooms[1].clone();
        r1.participants.sort();
        assert_eq!(
            r1,
            room(
                "r1",
                100,
                &[("8:acs:a", "organizer"), ("8:acs:b", "consumer")]
            )
        );
        assert_eq!(rooms[0].valid_until, u64::MAX);
        // The closed room was purged, its participants with it.
        let left: i64 = s
            .conn
            .lock()
            .query_row("SELECT COUNT(*) FROM room_participants", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 2);
        // A deleted user leaves the rooms that list it.
        s.delete_user("8:acs:b").unwrap();
        assert_eq!(
            s.load_rooms(60).unwrap()[1].participants,
            vec![("8:acs:a".to_string(), "organizer".to_string())]
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn tokens_of_unknown_users_are_refused() {
        let s = Store::in_memory();
        assert!(s.insert_token("8:acs:nobody", "t", 10, 1).is_err());
        assert!(s.assign_number("+1555", "8:acs:nobody").is_err());
        assert_eq!(s.path(), ":memory:");
    }
}
