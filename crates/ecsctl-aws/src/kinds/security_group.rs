//! `security_group` (not written yet).

super::not_yet!(SecurityGroup, "security_group");
