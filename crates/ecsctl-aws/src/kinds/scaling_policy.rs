//! `scaling_policy` (not written yet).

super::not_yet!(ScalingPolicy, "scaling_policy");
