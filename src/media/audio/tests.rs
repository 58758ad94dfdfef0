//! Engine tests placeholder.
