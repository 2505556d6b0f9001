//! `vpc` (not written yet).

super::not_yet!(Vpc, "vpc");
