//! `autoscaling_group` (not written yet).

super::not_yet!(AutoscalingGroup, "autoscaling_group");
