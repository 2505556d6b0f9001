//! `ecs_cluster` (not written yet).

super::not_yet!(EcsCluster, "ecs_cluster");
