//! `lb_target_group` (not written yet).

super::not_yet!(LbTargetGroup, "lb_target_group");
