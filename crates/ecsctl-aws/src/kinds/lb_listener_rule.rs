//! `lb_listener_rule` (not written yet).

super::not_yet!(LbListenerRule, "lb_listener_rule");
