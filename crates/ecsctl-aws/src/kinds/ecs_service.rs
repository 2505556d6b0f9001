//! `ecs_service` (not written yet).

super::not_yet!(EcsService, "ecs_service");
