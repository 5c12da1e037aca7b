//! ExecOp: run a command on a root filesystem with extra mounts.
//!
//! Encoding rules (BuildKit `solver/pb/ops.proto`):
//! - the root mount is a `BIND` at `/` reading the root state (input −1 when it is scratch);
//! - mounts are emitted root first, then sorted by target, so a parent directory is always
//!   mounted before the mounts inside it (Go's client sorts the same way);
//! - writable bind mounts (the root included) get outputs 0, 1, … in that order; read-only
//!   binds, cache, tmpfs and secret mounts get −1;
//! - cache, tmpfs and secret mounts read no input (−1).

use std::collections::{BTreeMap, BTreeSet};

use bollard_buildkit_proto::pb;

use super::state::{add_input, finish};
use super::{caps, LlbError, OpMeta, State};

/// Network access of an exec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Network {
    /// The engine's sandboxed network (`UNSET`).
    #[default]
    Sandbox,
    /// No network (`NONE`).
    None,
    /// The host's network (`HOST`; needs the `network.host` entitlement).
    Host,
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CacheSharing {
    #[default]
    Shared,
    Private,
    Locked,
}

/// What is mounted at a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSpec {
    /// Files of another state; `selector` picks a path inside it.
    Bind {
        source: State,
        selector: Option<String>,
        readonly: bool,
    },
    /// A persistent cache directory kept by the engine.
    Cache { id: String, sharing: CacheSharing },
    /// A secret file fetched from the client's session; never part of an output.
    Secret {
        id: String,
        optional: bool,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// An in-memory filesystem; `size` in bytes needs `exec.mount.tmpfs.size`.
    Tmpfs { size: Option<u64> },
}

impl MountSpec {
    /// A secret file owned by root with mode 0400.
    pub fn secret(id: impl Into<String>, optional: bool) -> MountSpec {
        MountSpec::Secret {
            id: id.into(),
            optional,
            mode: 0o400,
            uid: 0,
            gid: 0,
        }
    }

    /// A read-only bind of `source` (or of `selector` inside it).
    pub fn bind_readonly(source: State, selector: Option<String>) -> MountSpec {
        MountSpec::Bind {
            source,
            selector,
            readonly: true,
        }
    }
}

/// An exec under construction.
#[derive(Debug, Clone)]
pub struct Exec {
    root: State,
    args: Vec<String>,
    env: Vec<String>,
    cwd: String,
    user: String,
    mounts: Vec<(String, MountSpec)>,
    network: Network,
}

/// The states an exec produces: its root and its writable bind mounts by target.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub root: State,
    pub mounts: BTreeMap<String, State>,
}

impl Exec {
    /// Runs `args` (argv; no shell is implied) on `root`, in `/` as root, with no env.
    pub fn new(root: State, args: Vec<String>) -> Exec {
        Exec {
            root,
            args,
            env: Vec::new(),
            cwd: "/".into(),
            user: String::new(),
            mounts: Vec::new(),
            network: Network::Sandbox,
        }
    }

    /// The complete environment (`KEY=value`); raw LLB inherits nothing from images.
    pub fn env(mut self, env: Vec<String>) -> Exec {
        self.env = env;
        self
    }

    /// Working directory (absolute).
    pub fn cwd(mut self, cwd: impl Into<String>) -> Exec {
        self.cwd = cwd.into();
        self
    }

    /// `user[:group]`; empty means root.
    pub fn user(mut self, user: impl Into<String>) -> Exec {
        self.user = user.into();
        self
    }

    /// Network mode.
    pub fn network(mut self, network: Network) -> Exec {
        self.network = network;
        self
    }

    /// Adds a mount at the absolute path `target`.
    pub fn mount(mut self, target: impl Into<String>, spec: MountSpec) -> Exec {
        self.mounts.push((target.into(), spec));
        self
    }

    /// Serialises the exec.
    pub fn build(self, meta: &OpMeta) -> Result<ExecOutput, LlbError> {
        if self.args.first().is_none_or(|a| a.is_empty()) {
            return Err(LlbError::EmptyCommand);
        }
        if !self.cwd.starts_with('/') {
            return Err(LlbError::NotAbsolute {
                what: "working directory",
                path: self.cwd,
            });
        }
        let mut mounts = self.mounts;
        let mut seen = BTreeSet::new();
        for (target, _) in &mounts {
            if !target.starts_with('/') {
                return Err(LlbError::NotAbsolute {
                    what: "mount target",
                    path: target.clone(),
                });
            }
            if target == "/" {
                return Err(LlbError::MountTarget {
                    target: target.clone(),
                    why: "the root is the exec's own root",
                });
            }
            if !seen.insert(target.clone()) {
                return Err(LlbError::MountTarget {
                    target: target.clone(),
                    why: "two mounts share it",
                });
            }
        }
        mounts.sort_by(|a, b| a.0.cmp(&b.0));

        let mut needs = BTreeSet::from([caps::EXEC_META_BASE]);
        let mut inputs = Vec::new();
        let mut deps = Vec::new();
        let mut pb_mounts = Vec::new();
        let mut next_output = 0i64;

        let root_input = add_input(&mut inputs, &mut deps, &self.root);
        if root_input >= 0 {
            needs.insert(caps::EXEC_MOUNT_BIND);
        }
        pb_mounts.push(pb::Mount {
            input: root_input,
            dest: "/".into(),
            output: next_output,
            mount_type: pb::MountType::Bind as i32,
            ..Default::default()
        });
        next_output += 1;
        let mut outputs: Vec<(String, i64)> = Vec::new();

        for (target, spec) in &mounts {
            let mut m = pb::Mount {
                dest: target.clone(),
                input: -1,
                output: -1,
                ..Default::default()
            };
            match spec {
                MountSpec::Bind {
                    source,
                    selector,
                    readonly,
                } => {
                    m.mount_type = pb::MountType::Bind as i32;
                    m.input = add_input(&mut inputs, &mut deps, source);
                    if m.input >= 0 {
                        needs.insert(caps::EXEC_MOUNT_BIND);
                    }
                    let selector = selector.as_deref().unwrap_or("");
                    if !selector.is_empty() && selector != "/" {
                        m.selector = selector.to_string();
                        needs.insert(caps::EXEC_MOUNT_SELECTOR);
                    }
                    m.readonly = *readonly;
                    if !readonly {
                        m.output = next_output;
                        outputs.push((target.clone(), next_output));
                        next_output += 1;
                    }
                }
                MountSpec::Cache { id, sharing } => {
                    if id.is_empty() {
                        return Err(LlbError::EmptyId {
                            kind: "cache",
                            target: target.clone(),
                        });
                    }
                    m.mount_type = pb::MountType::Cache as i32;
                    m.cache_opt = Some(pb::CacheOpt {
                        id: id.clone(),
                        sharing: match sharing {
                            CacheSharing::Shared => pb::CacheSharingOpt::Shared,
                            CacheSharing::Private => pb::CacheSharingOpt::Private,
                            CacheSharing::Locked => pb::CacheSharingOpt::Locked,
                        } as i32,
                    });
                    needs.insert(caps::EXEC_MOUNT_CACHE);
                    needs.insert(caps::EXEC_MOUNT_CACHE_SHARING);
                }
                MountSpec::Secret {
                    id,
                    optional,
                    mode,
                    uid,
                    gid,
                } => {
                    if id.is_empty() {
                        return Err(LlbError::EmptyId {
                            kind: "secret",
                            target: target.clone(),
                        });
                    }
                    m.mount_type = pb::MountType::Secret as i32;
                    m.secret_opt = Some(pb::SecretOpt {
                        id: id.clone(),
                        uid: *uid,
                        gid: *gid,
                        mode: *mode,
                        optional: *optional,
                    });
                    needs.insert(caps::EXEC_MOUNT_SECRET);
                }
                MountSpec::Tmpfs { size } => {
                    m.mount_type = pb::MountType::Tmpfs as i32;
                    needs.insert(caps::EXEC_MOUNT_TMPFS);
                    if let Some(size) = size {
                        m.tmpfs_opt = Some(pb::TmpfsOpt {
                            size: i64::try_from(*size).unwrap_or(i64::MAX),
                        });
                        needs.insert(caps::EXEC_MOUNT_TMPFS_SIZE);
                    }
                }
            }
            pb_mounts.push(m);
        }

        let network = match self.network {
            Network::Sandbox => pb::NetMode::Unset,
            Network::None => pb::NetMode::None,
            Network::Host => pb::NetMode::Host,
        };
        if self.network != Network::Sandbox {
            needs.insert(caps::EXEC_META_NETWORK);
        }
        let exec = pb::ExecOp {
            meta: Some(pb::Meta {
                args: self.args,
                env: self.env,
                cwd: self.cwd,
                user: self.user,
                ..Default::default()
            }),
            mounts: pb_mounts,
            network: network as i32,
            security: pb::SecurityMode::Sandbox as i32,
            ..Default::default()
        };
        let op = pb::Op {
            inputs,
            op: Some(pb::op::Op::Exec(exec)),
            ..Default::default()
        };
        let node = finish(op, deps, needs, meta, true);
        Ok(ExecOutput {
            root: State::from_node(node.clone(), 0),
            mounts: outputs
                .into_iter()
                .map(|(t, i)| (t, State::from_node(node.clone(), i)))
                .collect(),
        })
    }
}
