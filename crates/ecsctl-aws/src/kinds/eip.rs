//! `eip` (not written yet).

super::not_yet!(Eip, "eip");
