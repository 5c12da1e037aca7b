//! FileOp: a chain of file actions (copy, mkfile, mkdir, rm) applied one after another.
//!
//! Encoding rules (BuildKit `solver/pb/ops.proto`, `FileOp{actions=2}`):
//! - the op's inputs are the base state (when not scratch) followed by every copy source,
//!   each once;
//! - an action index below `len(inputs)` names an op input, an index `len(inputs) + k`
//!   names the result of action `k`, and −1 is scratch: action 0 reads the base, action
//!   `k > 0` reads the result of action `k − 1`;
//! - only the last action has an output (0); the others have −1;
//! - unset copy modes and timestamps are −1 (0 would mean mode 000 and the Unix epoch).

use std::collections::BTreeSet;

use bollard_buildkit_proto::pb;

use super::state::{add_input, finish};
use super::{caps, LlbError, OpMeta, State};

/// A user or group, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(u32),
    /// Resolved against `/etc/passwd` / `/etc/group` of the lookup state.
    Name(String),
}

impl UserRef {
    /// `"1000"` is an id, anything else a name.
    pub fn parse(s: &str) -> UserRef {
        s.parse()
            .map(UserRef::Id)
            .unwrap_or_else(|_| UserRef::Name(s.to_string()))
    }
}

/// Owner of created files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chown {
    pub user: UserRef,
    pub group: Option<UserRef>,
    /// Where names are looked up; `None` means the state the action writes to.
    pub lookup: Option<State>,
}

impl Chown {
    /// Parses `user[:group]`.
    pub fn parse(spec: &str) -> Chown {
        let (user, group) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(UserRef::parse(g))),
            None => (spec, None),
        };
        Chown {
            user: UserRef::parse(user),
            group,
            lookup: None,
        }
    }
}

/// Options of a copy action. `Default` sets every flag to false and leaves mode unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    pub follow_symlinks: bool,
    /// Copy a directory's contents rather than the directory itself.
    pub dir_copy_contents: bool,
    pub create_dest_path: bool,
    pub allow_wildcard: bool,
    pub allow_empty_wildcard: bool,
    /// Filters inside the source (need `file.copy.includeexcludepatterns`, BuildKit v0.9+).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Permission bits of copied files; `None` keeps the source's.
    pub mode: Option<u32>,
    pub owner: Option<Chown>,
}

#[derive(Debug, Clone)]
enum Action {
    Copy {
        from: State,
        src: String,
        dest: String,
        opts: CopyOptions,
    },
    MkFile {
        path: String,
        mode: u32,
        data: Vec<u8>,
        owner: Option<Chown>,
    },
    MkDir {
        path: String,
        mode: u32,
        make_parents: bool,
        owner: Option<Chown>,
    },
    Rm {
        path: String,
        allow_not_found: bool,
        allow_wildcard: bool,
    },
}

/// A FileOp under construction: actions applied in order to `base`.
#[derive(Debug, Clone)]
pub struct FileOps {
    base: State,
    actions: Vec<Action>,
}

impl FileOps {
    /// Starts a chain on `base` (scratch for an independent layer).
    pub fn new(base: State) -> FileOps {
        FileOps {
            base,
            actions: Vec::new(),
        }
    }

    /// Whether no action was added.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Copies `src` (a path in `from`) to `dest`.
    pub fn copy(
        mut self,
        from: &State,
        src: impl Into<String>,
        dest: impl Into<String>,
        opts: CopyOptions,
    ) -> FileOps {
        self.actions.push(Action::Copy {
            from: from.clone(),
            src: src.into(),
            dest: dest.into(),
            opts,
        });
        self
    }

    /// Writes a file.
    pub fn mkfile(
        mut self,
        path: impl Into<String>,
        mode: u32,
        data: Vec<u8>,
        owner: Option<Chown>,
    ) -> FileOps {
        self.actions.push(Action::MkFile {
            path: path.into(),
            mode,
            data,
            owner,
        });
        self
    }

    /// Creates a directory.
    pub fn mkdir(
        mut self,
        path: impl Into<String>,
        mode: u32,
        make_parents: bool,
        owner: Option<Chown>,
    ) -> FileOps {
        self.actions.push(Action::MkDir {
            path: path.into(),
            mode,
            make_parents,
            owner,
        });
        self
    }

    /// Removes a path.
    pub fn rm(
        mut self,
        path: impl Into<String>,
        allow_not_found: bool,
        allow_wildcard: bool,
    ) -> FileOps {
        self.actions.push(Action::Rm {
            path: path.into(),
            allow_not_found,
            allow_wildcard,
        });
        self
    }

    /// Serialises the chain; the result is the last action's output.
    pub fn build(self, meta: &OpMeta) -> Result<State, LlbError> {
        if self.actions.is_empty() {
            return Err(LlbError::EmptyFileOp);
        }
        let mut needs = BTreeSet::from([caps::FILE_BASE]);
        let mut inputs = Vec::new();
        let mut deps = Vec::new();
        // All op inputs come first: the base, then every copy source and name-lookup state.
        let base = add_input(&mut inputs, &mut deps, &self.base);
        let mut secondary = Vec::new();
        let mut lookups = Vec::new();
        for action in &self.actions {
            secondary.push(match action {
                Action::Copy { from, .. } => add_input(&mut inputs, &mut deps, from),
                _ => -1,
            });
            let owner = match action {
                Action::Copy { opts, .. } => opts.owner.as_ref(),
                Action::MkFile { owner, .. } | Action::MkDir { owner, .. } => owner.as_ref(),
                Action::Rm { .. } => None,
            };
            lookups.push(
                owner
                    .and_then(|o| o.lookup.as_ref())
                    .map(|s| add_input(&mut inputs, &mut deps, s)),
            );
        }
        let n_inputs = inputs.len() as i64;
        let last = self.actions.len() - 1;
        let mut actions = Vec::new();
        for (k, action) in self.actions.into_iter().enumerate() {
            let input = if k == 0 {
                base
            } else {
                n_inputs + k as i64 - 1
            };
            let chown = |owner: Option<Chown>| {
                owner.map(|o| marshal_chown(&o, lookups[k].unwrap_or(input)))
            };
            let body = match action {
                Action::Copy {
                    src, dest, opts, ..
                } => {
                    absolute("copy source", &src)?;
                    absolute("copy destination", &dest)?;
                    if !opts.include.is_empty() || !opts.exclude.is_empty() {
                        needs.insert(caps::FILE_COPY_INCLUDE_EXCLUDE_PATTERNS);
                    }
                    pb::file_action::Action::Copy(pb::FileActionCopy {
                        src,
                        dest,
                        owner: chown(opts.owner),
                        mode: opts.mode.map_or(-1, |m| m as i32),
                        follow_symlink: opts.follow_symlinks,
                        dir_copy_contents: opts.dir_copy_contents,
                        create_dest_path: opts.create_dest_path,
                        allow_wildcard: opts.allow_wildcard,
                        allow_empty_wildcard: opts.allow_empty_wildcard,
                        timestamp: -1,
                        include_patterns: opts.include,
                        exclude_patterns: opts.exclude,
                        ..Default::default()
                    })
                }
                Action::MkFile {
                    path,
                    mode,
                    data,
                    owner,
                } => {
                    absolute("file path", &path)?;
                    pb::file_action::Action::Mkfile(pb::FileActionMkFile {
                        path,
                        mode: mode as i32,
                        data,
                        owner: chown(owner),
                        timestamp: -1,
                    })
                }
                Action::MkDir {
                    path,
                    mode,
                    make_parents,
                    owner,
                } => {
                    absolute("directory path", &path)?;
                    pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                        path,
                        mode: mode as i32,
                        make_parents,
                        owner: chown(owner),
                        timestamp: -1,
                    })
                }
                Action::Rm {
                    path,
                    allow_not_found,
                    allow_wildcard,
                } => {
                    absolute("removed path", &path)?;
                    if allow_wildcard {
                        needs.insert(caps::FILE_RM_WILDCARD);
                    }
                    pb::file_action::Action::Rm(pb::FileActionRm {
                        path,
                        allow_not_found,
                        allow_wildcard,
                    })
                }
            };
            actions.push(pb::FileAction {
                input,
                secondary_input: secondary[k],
                output: if k == last { 0 } else { -1 },
                action: Some(body),
            });
        }
        let op = pb::Op {
            inputs,
            op: Some(pb::op::Op::File(pb::FileOp { actions })),
            ..Default::default()
        };
        Ok(State::from_node(finish(op, deps, needs, meta, true), 0))
    }
}

fn absolute(what: &'static str, path: &str) -> Result<(), LlbError> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(LlbError::NotAbsolute {
            what,
            path: path.to_string(),
        })
    }
}

fn marshal_chown(owner: &Chown, lookup: i64) -> pb::ChownOpt {
    let user = |u: &UserRef| pb::UserOpt {
        user: Some(match u {
            UserRef::Id(id) => pb::user_opt::User::ById(*id),
            UserRef::Name(name) => pb::user_opt::User::ByName(pb::NamedUserOpt {
                name: name.clone(),
                input: lookup,
            }),
        }),
    };
    pb::ChownOpt {
        user: Some(user(&owner.user)),
        group: owner.group.as_ref().map(user),
    }
}
