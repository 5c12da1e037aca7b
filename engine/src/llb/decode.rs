//! A readable JSON dump of a `pb::Definition` (`cogpack build --dump-llb FILE`).
//!
//! Every op is listed in definition order with its digest (recomputed from its bytes), its
//! kind, its `llb.customname`, the caps it declares, its platform and its inputs by digest
//! (`sha256:…[output]`), then the decoded body. Mount and file-action inputs are resolved to
//! the same form (`scratch` for −1, `action N` for the result of an earlier file action).
//! Only what is in the definition can appear, and definitions carry secret ids, never
//! secret values.

use bollard_buildkit_proto::pb;
use prost::Message;
use serde_json::{json, Map, Value};

use super::state::{digest_of, CUSTOM_NAME};
use super::LlbError;

/// Decodes a definition into JSON: `{"result": …, "ops": [...]}`.
pub fn decode(def: &pb::Definition) -> Result<Value, LlbError> {
    let mut ops = Vec::new();
    let mut result = Value::Null;
    let count = def.def.len();
    for (i, bytes) in def.def.iter().enumerate() {
        let op = pb::Op::decode(bytes.as_slice()).map_err(|e| LlbError::Decode {
            index: i,
            message: e.to_string(),
        })?;
        let digest = digest_of(bytes);
        let refs: Vec<String> = op.inputs.iter().map(input_ref).collect();
        let mut entry = Map::new();
        entry.insert("digest".into(), json!(digest));
        let kind = match &op.op {
            None => "terminal",
            Some(pb::op::Op::Exec(_)) => "exec",
            Some(pb::op::Op::Source(_)) => "source",
            Some(pb::op::Op::File(_)) => "file",
            Some(pb::op::Op::Build(_)) => "build",
            Some(pb::op::Op::Merge(_)) => "merge",
            Some(pb::op::Op::Diff(_)) => "diff",
        };
        entry.insert("kind".into(), json!(kind));
        if let Some(md) = def.metadata.get(&digest) {
            if let Some(name) = md.description.get(CUSTOM_NAME) {
                entry.insert("name".into(), json!(name));
            }
            let other: Map<String, Value> = md
                .description
                .iter()
                .filter(|(k, _)| k.as_str() != CUSTOM_NAME)
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            if !other.is_empty() {
                entry.insert("description".into(), Value::Object(other));
            }
            if !md.caps.is_empty() {
                entry.insert("caps".into(), json!(md.caps.keys().collect::<Vec<_>>()));
            }
            if md.ignore_cache {
                entry.insert("ignore_cache".into(), json!(true));
            }
        }
        if let Some(p) = &op.platform {
            let mut s = format!("{}/{}", p.os, p.architecture);
            if !p.variant.is_empty() {
                s = format!("{s}/{}", p.variant);
            }
            entry.insert("platform".into(), json!(s));
        }
        if !refs.is_empty() {
            entry.insert("inputs".into(), json!(refs));
        }
        match &op.op {
            None => {
                if i + 1 == count {
                    result = refs.first().map(|r| json!(r)).unwrap_or(Value::Null);
                }
            }
            Some(pb::op::Op::Source(s)) => {
                entry.insert(
                    "source".into(),
                    json!({ "identifier": s.identifier, "attrs": s.attrs }),
                );
            }
            Some(pb::op::Op::Exec(e)) => {
                entry.insert("exec".into(), exec(e, &refs));
            }
            Some(pb::op::Op::File(f)) => {
                let actions: Vec<Value> = f.actions.iter().map(|a| file_action(a, &refs)).collect();
                entry.insert("file".into(), json!({ "actions": actions }));
            }
            Some(pb::op::Op::Merge(m)) => {
                let inputs: Vec<String> =
                    m.inputs.iter().map(|x| index_ref(x.input, &refs)).collect();
                entry.insert("merge".into(), json!({ "inputs": inputs }));
            }
            Some(pb::op::Op::Diff(d)) => {
                entry.insert(
                    "diff".into(),
                    json!({
                        "lower": d.lower.map(|x| index_ref(x.input, &refs)),
                        "upper": d.upper.map(|x| index_ref(x.input, &refs)),
                    }),
                );
            }
            Some(pb::op::Op::Build(b)) => {
                entry.insert(
                    "build".into(),
                    json!({ "builder": b.builder, "attrs": b.attrs }),
                );
            }
        }
        ops.push(Value::Object(entry));
    }
    let terminal_ok = def
        .def
        .last()
        .and_then(|b| pb::Op::decode(b.as_slice()).ok())
        .is_some_and(|op| op.op.is_none() && op.inputs.len() == 1);
    if !terminal_ok {
        return Err(LlbError::NoTerminal);
    }
    Ok(json!({ "result": result, "ops": ops }))
}

fn input_ref(input: &pb::Input) -> String {
    format!("{}[{}]", input.digest, input.index)
}

fn index_ref(index: i64, refs: &[String]) -> String {
    if index < 0 {
        "scratch".to_string()
    } else {
        refs.get(index as usize)
            .cloned()
            .unwrap_or_else(|| format!("invalid input {index}"))
    }
}

fn octal_or_unset(mode: i32) -> Value {
    if mode < 0 {
        json!(-1)
    } else {
        json!(format!("{mode:04o}"))
    }
}

fn exec(e: &pb::ExecOp, refs: &[String]) -> Value {
    let meta = e.meta.clone().unwrap_or_default();
    let network = match pb::NetMode::try_from(e.network) {
        Ok(pb::NetMode::Unset) => json!("sandbox"),
        Ok(pb::NetMode::Host) => json!("host"),
        Ok(pb::NetMode::None) => json!("none"),
        Err(_) => json!(e.network),
    };
    let mounts: Vec<Value> = e
        .mounts
        .iter()
        .map(|m| {
            let mut v = Map::new();
            v.insert("dest".into(), json!(m.dest));
            match pb::MountType::try_from(m.mount_type) {
                Ok(pb::MountType::Bind) => {
                    v.insert("type".into(), json!("bind"));
                    v.insert("from".into(), json!(index_ref(m.input, refs)));
                    if !m.selector.is_empty() {
                        v.insert("selector".into(), json!(m.selector));
                    }
                    v.insert("readonly".into(), json!(m.readonly));
                }
                Ok(pb::MountType::Cache) => {
                    v.insert("type".into(), json!("cache"));
                    if let Some(c) = &m.cache_opt {
                        v.insert("id".into(), json!(c.id));
                        let sharing = pb::CacheSharingOpt::try_from(c.sharing)
                            .map(|s| s.as_str_name().to_ascii_lowercase())
                            .unwrap_or_else(|_| c.sharing.to_string());
                        v.insert("sharing".into(), json!(sharing));
                    }
                }
                Ok(pb::MountType::Secret) => {
                    v.insert("type".into(), json!("secret"));
                    if let Some(s) = &m.secret_opt {
                        v.insert("id".into(), json!(s.id));
                        v.insert("optional".into(), json!(s.optional));
                        v.insert("mode".into(), json!(format!("{:04o}", s.mode)));
                        v.insert("uid".into(), json!(s.uid));
                        v.insert("gid".into(), json!(s.gid));
                    }
                }
                Ok(pb::MountType::Tmpfs) => {
                    v.insert("type".into(), json!("tmpfs"));
                    if let Some(t) = &m.tmpfs_opt {
                        v.insert("size".into(), json!(t.size));
                    }
                }
                Ok(pb::MountType::Ssh) => {
                    v.insert("type".into(), json!("ssh"));
                    if let Some(s) = &m.ssh_opt {
                        v.insert("id".into(), json!(s.id));
                    }
                }
                Err(_) => {
                    v.insert("type".into(), json!(m.mount_type));
                }
            }
            v.insert("output".into(), json!(m.output));
            Value::Object(v)
        })
        .collect();
    json!({
        "args": meta.args,
        "env": meta.env,
        "cwd": meta.cwd,
        "user": meta.user,
        "network": network,
        "mounts": mounts,
    })
}

fn file_action(a: &pb::FileAction, refs: &[String]) -> Value {
    let n = refs.len() as i64;
    let resolve = |i: i64| -> String {
        if i >= n {
            format!("action {}", i - n)
        } else {
            index_ref(i, refs)
        }
    };
    let owner = |o: &Option<pb::ChownOpt>| -> Value {
        let Some(o) = o else { return Value::Null };
        let user = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
            Some(pb::user_opt::User::ById(id)) => json!(id),
            Some(pb::user_opt::User::ByName(n)) => {
                json!({ "name": n.name, "lookup": resolve(n.input) })
            }
            None => Value::Null,
        };
        json!({ "user": user(&o.user), "group": user(&o.group) })
    };
    let mut v = Map::new();
    v.insert("input".into(), json!(resolve(a.input)));
    v.insert("output".into(), json!(a.output));
    match &a.action {
        Some(pb::file_action::Action::Copy(c)) => {
            v.insert("secondary_input".into(), json!(resolve(a.secondary_input)));
            v.insert(
                "copy".into(),
                json!({
                    "src": c.src,
                    "dest": c.dest,
                    "owner": owner(&c.owner),
                    "mode": octal_or_unset(c.mode),
                    "follow_symlink": c.follow_symlink,
                    "dir_copy_contents": c.dir_copy_contents,
                    "create_dest_path": c.create_dest_path,
                    "allow_wildcard": c.allow_wildcard,
                    "allow_empty_wildcard": c.allow_empty_wildcard,
                    "timestamp": c.timestamp,
                    "include": c.include_patterns,
                    "exclude": c.exclude_patterns,
                }),
            );
        }
        Some(pb::file_action::Action::Mkfile(f)) => {
            let data = match std::str::from_utf8(&f.data) {
                Ok(text) => json!(text),
                Err(_) => json!({ "binary_bytes": f.data.len() }),
            };
            v.insert(
                "mkfile".into(),
                json!({
                    "path": f.path,
                    "mode": octal_or_unset(f.mode),
                    "data": data,
                    "owner": owner(&f.owner),
                    "timestamp": f.timestamp,
                }),
            );
        }
        Some(pb::file_action::Action::Mkdir(d)) => {
            v.insert(
                "mkdir".into(),
                json!({
                    "path": d.path,
                    "mode": octal_or_unset(d.mode),
                    "make_parents": d.make_parents,
                    "owner": owner(&d.owner),
                    "timestamp": d.timestamp,
                }),
            );
        }
        Some(pb::file_action::Action::Rm(r)) => {
            v.insert(
                "rm".into(),
                json!({ "path": r.path, "allow_not_found": r.allow_not_found, "allow_wildcard": r.allow_wildcard }),
            );
        }
        Some(pb::file_action::Action::Symlink(s)) => {
            v.insert(
                "symlink".into(),
                json!({ "oldpath": s.oldpath, "newpath": s.newpath }),
            );
        }
        None => {}
    }
    Value::Object(v)
}
