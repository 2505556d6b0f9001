//! `iam_instance_profile` (not written yet).

super::not_yet!(IamInstanceProfile, "iam_instance_profile");
