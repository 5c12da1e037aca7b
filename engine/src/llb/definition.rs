//! Marshalling a state's graph into a `pb::Definition`.
//!
//! Each op is serialised once (its bytes are fixed when it is built); the graph is walked
//! depth-first from the target, inputs in order before the op that reads them, and every
//! digest is emitted once. The last entry is the terminal op: no body, one input naming the
//! result. Metadata maps are `BTreeMap`s, so the same graph always gives the same bytes.
//! Ops with equal bytes have equal digests and caps, so deduplicating by digest loses nothing
//! but a second description (the first visited wins).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bollard_buildkit_proto::pb;
use prost::Message;

use super::state::{digest_of, Node};
use super::{caps, LlbError, State};

/// Marshals the graph that produces `target`.
pub fn marshal(target: &State) -> Result<pb::Definition, LlbError> {
    let Some(root) = target.node() else {
        return Err(LlbError::ScratchResult);
    };
    let mut def = pb::Definition::default();
    let mut seen = BTreeSet::new();
    let mut any_platform = false;
    let mut any_description = false;
    // Iterative post-order DFS: (node, next dep to visit).
    let mut stack: Vec<(Arc<Node>, usize)> = vec![(root.clone(), 0)];
    seen.insert(root.digest.clone());
    while let Some((node, next)) = stack.last_mut() {
        if let Some(dep) = node.deps.get(*next).cloned() {
            *next += 1;
            if seen.insert(dep.digest.clone()) {
                stack.push((dep, 0));
            }
            continue;
        }
        let node = node.clone();
        stack.pop();
        def.def.push(node.bytes.clone());
        any_description |= !node.metadata.description.is_empty();
        any_platform |= node.has_platform;
        def.metadata
            .insert(node.digest.clone(), node.metadata.clone());
    }
    let terminal = pb::Op {
        inputs: vec![target.input().expect("non-scratch")],
        ..Default::default()
    };
    let bytes = terminal.encode_to_vec();
    let mut term_caps = BTreeMap::new();
    if any_platform {
        term_caps.insert(caps::PLATFORM.to_string(), true);
    }
    if any_description {
        term_caps.insert(caps::META_DESCRIPTION.to_string(), true);
    }
    def.metadata.insert(
        digest_of(&bytes),
        pb::OpMetadata {
            caps: term_caps,
            ..Default::default()
        },
    );
    def.def.push(bytes);
    Ok(def)
}
