//! Process-unique ids of API objects, shared by the client objects and the media objects the
//! API hands out (renderers, views), so that neither layer imports the other for them.

use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_OBJECT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id for every API object (the FFI uses it as the handle value).
pub(crate) fn next_object_id() -> u64 {
    NEXT_OBJECT_ID.fetch_add(1, Ordering::Relaxed)
}
