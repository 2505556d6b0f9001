//! `hosted_zone` (not written yet).

super::not_yet!(HostedZone, "hosted_zone");
