//! A pointer of the host's (a callback's `user_data`), carried across threads as a number.

/// A host pointer the host promises to keep valid for the life of what it was given to.
#[derive(Clone, Copy)]
pub(crate) struct HostPtr(pub usize);
