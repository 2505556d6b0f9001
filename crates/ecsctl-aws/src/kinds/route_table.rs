//! `route_table` (not written yet).

super::not_yet!(RouteTable, "route_table");
