//! `lb_listener` (not written yet).

super::not_yet!(LbListener, "lb_listener");
