//! `iam_role` (not written yet).

super::not_yet!(IamRole, "iam_role");
