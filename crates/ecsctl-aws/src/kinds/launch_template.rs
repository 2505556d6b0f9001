//! `launch_template` (not written yet).

super::not_yet!(LaunchTemplate, "launch_template");
