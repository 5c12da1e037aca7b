//! The OCI image config of the exported image.

use serde_json::{json, Map, Value};

use super::env::Environment;
use crate::plan::{ExportConfig, Platform};

/// `{architecture, os, config{Env, Entrypoint, Cmd, WorkingDir, User, Labels, ExposedPorts,
/// Volumes}}`: Env is the exported stage's environment with `export.env` applied on top
/// (expanded, later entries win per key); WorkingDir and User come from the export when it
/// sets them, else from the stage. Empty fields are left out (Env is always present).
/// `rootfs` and `history` are the builder's to fill in.
pub fn image_config(platform: &Platform, stage_env: &Environment, export: &ExportConfig) -> Value {
    let mut env = stage_env.clone();
    for entry in &export.env {
        env.apply_entry(entry);
    }
    let mut config = Map::new();
    config.insert("Env".into(), json!(env.entries()));
    if !export.entrypoint.is_empty() {
        config.insert("Entrypoint".into(), json!(export.entrypoint));
    }
    if !export.cmd.is_empty() {
        config.insert("Cmd".into(), json!(export.cmd));
    }
    if let Some(dir) = export.workdir.as_ref().or(stage_env.workdir.as_ref()) {
        config.insert("WorkingDir".into(), json!(dir));
    }
    if let Some(user) = export.user.as_ref().or(stage_env.user.as_ref()) {
        config.insert("User".into(), json!(user));
    }
    if !export.labels.is_empty() {
        config.insert("Labels".into(), json!(export.labels));
    }
    if !export.exposed_ports.is_empty() {
        let ports: Map<String, Value> = export
            .exposed_ports
            .iter()
            .map(|p| {
                (
                    if p.contains('/') {
                        p.clone()
                    } else {
                        format!("{p}/tcp")
                    },
                    json!({}),
                )
            })
            .collect();
        config.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if !export.volumes.is_empty() {
        let volumes: Map<String, Value> = export
            .volumes
            .iter()
            .map(|v| (v.clone(), json!({})))
            .collect();
        config.insert("Volumes".into(), Value::Object(volumes));
    }
    json!({
        "architecture": platform.architecture,
        "os": platform.os,
        "config": config,
    })
}
