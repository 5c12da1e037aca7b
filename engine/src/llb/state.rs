//! States (an op and one of its outputs), the shared op node, and the source and merge ops.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use bollard_buildkit_proto::pb;
use prost::Message;
use sha2::{Digest as _, Sha256};

use super::{caps, reference, LlbError};

/// The `llb.customname` description key: the vertex name shown in progress output.
pub const CUSTOM_NAME: &str = "llb.customname";

/// `"sha256:" + hex(sha256(bytes))`: the digest BuildKit recomputes for an op's bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// One serialised op: its bytes are final, so its digest is too.
pub(crate) struct Node {
    pub(crate) digest: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) metadata: pb::OpMetadata,
    /// Whether the op carries a platform (image sources, execs, file and merge ops).
    pub(crate) has_platform: bool,
    /// The ops this op reads, in the order of its `inputs`.
    pub(crate) deps: Vec<Arc<Node>>,
}

/// Metadata for a new op: its progress name and the platform it runs for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpMeta {
    /// Shown as the vertex name (`llb.customname`).
    pub name: Option<String>,
    /// Platform of image sources, execs, file and merge ops (never of other sources).
    pub platform: Option<pb::Platform>,
}

impl OpMeta {
    /// Metadata with a name and a platform.
    pub fn new(name: impl Into<String>, platform: Option<pb::Platform>) -> OpMeta {
        OpMeta {
            name: Some(name.into()),
            platform,
        }
    }
}

/// `linux/amd64`-style platform message.
pub fn platform(os: &str, architecture: &str) -> pb::Platform {
    pb::Platform {
        os: os.to_string(),
        architecture: architecture.to_string(),
        ..Default::default()
    }
}

/// A filesystem in the build graph: one output of one op, or scratch (empty).
///
/// States are cheap to clone and immutable; building on a state makes a new op.
#[derive(Clone, Default)]
pub struct State {
    out: Option<(Arc<Node>, i64)>,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.out {
            None => f.write_str("State(scratch)"),
            Some((node, index)) => write!(f, "State({}[{index}])", node.digest),
        }
    }
}

impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        self.input() == other.input()
    }
}
impl Eq for State {}

impl State {
    /// The empty filesystem.
    pub fn scratch() -> State {
        State { out: None }
    }

    /// Whether this is scratch.
    pub fn is_scratch(&self) -> bool {
        self.out.is_none()
    }

    /// Digest of the op producing this state (`None` for scratch).
    pub fn digest(&self) -> Option<&str> {
        self.out.as_ref().map(|(n, _)| n.digest.as_str())
    }

    /// Output index of the op producing this state.
    pub fn output_index(&self) -> Option<i64> {
        self.out.as_ref().map(|(_, i)| *i)
    }

    /// The `pb::Input` naming this state (`None` for scratch).
    pub fn input(&self) -> Option<pb::Input> {
        self.out.as_ref().map(|(n, i)| pb::Input {
            digest: n.digest.clone(),
            index: *i,
        })
    }

    pub(crate) fn node(&self) -> Option<&Arc<Node>> {
        self.out.as_ref().map(|(n, _)| n)
    }

    pub(crate) fn from_node(node: Arc<Node>, index: i64) -> State {
        State {
            out: Some((node, index)),
        }
    }

    /// `docker-image://<normalised ref>`, with the platform of `meta`.
    pub fn image(reference: &str, meta: &OpMeta) -> Result<State, LlbError> {
        let identifier = format!(
            "docker-image://{}",
            reference::normalize_image_ref(reference)?
        );
        let op = source_op(identifier, BTreeMap::new());
        let node = finish(
            op,
            Vec::new(),
            BTreeSet::from([caps::SOURCE_IMAGE]),
            meta,
            true,
        );
        Ok(State::from_node(node, 0))
    }

    /// `local://NAME`: a directory the client sends over the session.
    ///
    /// No session id and no `local.unique` are set, so the same inputs give the same digest;
    /// the daemon uses the solve's session.
    pub fn local(name: &str, opts: &LocalOptions, meta: &OpMeta) -> Result<State, LlbError> {
        if name.is_empty() || name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace()) {
            return Err(LlbError::LocalName(name.to_string()));
        }
        let mut attrs = BTreeMap::new();
        let mut needs = BTreeSet::from([caps::SOURCE_LOCAL]);
        if !opts.include.is_empty() {
            attrs.insert(
                "local.includepattern".to_string(),
                json_array(&opts.include),
            );
            needs.insert(caps::SOURCE_LOCAL_INCLUDE_PATTERNS);
        }
        if !opts.exclude.is_empty() {
            attrs.insert(
                "local.excludepatterns".to_string(),
                json_array(&opts.exclude),
            );
            needs.insert(caps::SOURCE_LOCAL_EXCLUDE_PATTERNS);
        }
        if !opts.follow_paths.is_empty() {
            attrs.insert(
                "local.followpaths".to_string(),
                json_array(&opts.follow_paths),
            );
            needs.insert(caps::SOURCE_LOCAL_FOLLOW_PATHS);
        }
        if let Some(hint) = &opts.shared_key_hint {
            attrs.insert("local.sharedkeyhint".to_string(), hint.clone());
            needs.insert(caps::SOURCE_LOCAL_SHARED_KEY_HINT);
        }
        let op = source_op(format!("local://{name}"), attrs);
        Ok(State::from_node(
            finish(op, Vec::new(), needs, meta, false),
            0,
        ))
    }

    /// An `http://` or `https://` download: a filesystem holding one file.
    pub fn http(url: &str, opts: &HttpOptions, meta: &OpMeta) -> Result<State, LlbError> {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(char::is_whitespace)
        {
            return Err(LlbError::Url(url.to_string()));
        }
        let mut attrs = BTreeMap::new();
        let mut needs = BTreeSet::from([caps::SOURCE_HTTP]);
        if let Some(sum) = &opts.checksum {
            let ok = sum.split_once(':').is_some_and(|(a, h)| {
                !a.is_empty() && !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())
            });
            if !ok {
                return Err(LlbError::Checksum(sum.clone()));
            }
            attrs.insert("http.checksum".to_string(), sum.clone());
            needs.insert(caps::SOURCE_HTTP_CHECKSUM);
        }
        if let Some(name) = &opts.filename {
            if name.is_empty() || name.contains('/') {
                return Err(LlbError::Filename(name.clone()));
            }
            attrs.insert("http.filename".to_string(), name.clone());
        }
        if let Some(perm) = opts.perm {
            attrs.insert("http.perm".to_string(), format!("0{perm:o}"));
            needs.insert(caps::SOURCE_HTTP_PERM);
        }
        let op = source_op(url.to_string(), attrs);
        Ok(State::from_node(
            finish(op, Vec::new(), needs, meta, false),
            0,
        ))
    }

    /// Layers `states` on top of each other, first at the bottom (MergeOp, BuildKit v0.10+).
    ///
    /// Scratch inputs add nothing and are skipped; with fewer than two other inputs no op is
    /// made (the single input, or scratch, is the result).
    pub fn merge(states: &[State], meta: &OpMeta) -> State {
        let real: Vec<&State> = states.iter().filter(|s| !s.is_scratch()).collect();
        if real.len() < 2 {
            return real.first().map(|s| (*s).clone()).unwrap_or_default();
        }
        let mut inputs = Vec::new();
        let mut deps = Vec::new();
        let mut merge_inputs = Vec::new();
        for state in real {
            let (node, _) = state.out.as_ref().expect("non-scratch");
            inputs.push(state.input().expect("non-scratch"));
            deps.push(node.clone());
            merge_inputs.push(pb::MergeInput {
                input: inputs.len() as i64 - 1,
            });
        }
        let op = pb::Op {
            inputs,
            op: Some(pb::op::Op::Merge(pb::MergeOp {
                inputs: merge_inputs,
            })),
            ..Default::default()
        };
        State::from_node(
            finish(op, deps, BTreeSet::from([caps::MERGE_OP]), meta, true),
            0,
        )
    }

    /// DiffOp: the files `upper` adds, changes or removes on top of `lower` (scratch `lower`
    /// gives `upper` itself). When `upper` was built on `lower`, the engine exports the diff as
    /// the very layers `upper` added, so merging it elsewhere reuses them.
    pub fn diff(lower: &State, upper: &State, meta: &OpMeta) -> State {
        if upper.is_scratch() {
            return State::scratch();
        }
        if lower.is_scratch() {
            return upper.clone();
        }
        let (lnode, _) = lower.out.as_ref().expect("non-scratch");
        let (unode, _) = upper.out.as_ref().expect("non-scratch");
        let op = pb::Op {
            inputs: vec![lower.input().expect("non-scratch"), upper.input().expect("non-scratch")],
            op: Some(pb::op::Op::Diff(pb::DiffOp {
                lower: Some(pb::LowerDiffInput { input: 0 }),
                upper: Some(pb::UpperDiffInput { input: 1 }),
            })),
            ..Default::default()
        };
        State::from_node(
            finish(
                op,
                vec![lnode.clone(), unode.clone()],
                BTreeSet::from([caps::DIFF_OP]),
                meta,
                true,
            ),
            0,
        )
    }
}

/// Options of a `local://` source. Patterns follow `.dockerignore` syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalOptions {
    /// Only send paths matching these (`local.includepattern`).
    pub include: Vec<String>,
    /// Never send paths matching these (`local.excludepatterns`).
    pub exclude: Vec<String>,
    /// Symlinks whose targets must be sent too (`local.followpaths`).
    pub follow_paths: Vec<String>,
    /// Key under which the daemon keeps the previous copy (`local.sharedkeyhint`).
    pub shared_key_hint: Option<String>,
}

/// Options of an `http(s)://` source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpOptions {
    /// `sha256:<hex>` the download must match.
    pub checksum: Option<String>,
    /// Name of the file in the result (default: from the URL).
    pub filename: Option<String>,
    /// Permission bits of the file.
    pub perm: Option<u32>,
}

fn source_op(identifier: String, attrs: BTreeMap<String, String>) -> pb::Op {
    pb::Op {
        op: Some(pb::op::Op::Source(pb::SourceOp { identifier, attrs })),
        ..Default::default()
    }
}

fn json_array(items: &[String]) -> String {
    serde_json::to_string(items).expect("strings always serialise")
}

/// Serialises `op` once, computes its digest and attaches its metadata.
pub(crate) fn finish(
    mut op: pb::Op,
    deps: Vec<Arc<Node>>,
    needs: BTreeSet<&'static str>,
    meta: &OpMeta,
    with_platform: bool,
) -> Arc<Node> {
    if with_platform {
        op.platform = meta.platform.clone();
    }
    let bytes = op.encode_to_vec();
    let mut metadata = pb::OpMetadata {
        caps: needs.into_iter().map(|c| (c.to_string(), true)).collect(),
        ..Default::default()
    };
    if let Some(name) = &meta.name {
        metadata
            .description
            .insert(CUSTOM_NAME.to_string(), name.clone());
    }
    let has_platform = op.platform.is_some();
    Arc::new(Node {
        digest: digest_of(&bytes),
        bytes,
        metadata,
        has_platform,
        deps,
    })
}

/// Adds `state` to an op's input list (once) and returns its index, or −1 for scratch.
pub(crate) fn add_input(
    inputs: &mut Vec<pb::Input>,
    deps: &mut Vec<Arc<Node>>,
    state: &State,
) -> i64 {
    let Some(input) = state.input() else {
        return -1;
    };
    if let Some(i) = inputs.iter().position(|x| *x == input) {
        return i as i64;
    }
    inputs.push(input);
    deps.push(state.node().expect("non-scratch").clone());
    inputs.len() as i64 - 1
}
