//! `subnet` (not written yet).

super::not_yet!(Subnet, "subnet");
