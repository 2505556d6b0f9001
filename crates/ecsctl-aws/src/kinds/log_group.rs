//! `log_group` (not written yet).

super::not_yet!(LogGroup, "log_group");
