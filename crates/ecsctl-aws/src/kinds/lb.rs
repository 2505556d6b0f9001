//! `lb` (not written yet).

super::not_yet!(Lb, "lb");
