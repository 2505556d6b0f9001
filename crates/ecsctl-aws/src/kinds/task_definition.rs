//! `task_definition` (not written yet).

super::not_yet!(TaskDefinition, "task_definition");
