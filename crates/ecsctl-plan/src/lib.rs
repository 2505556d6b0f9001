//! The plan (to be written).
