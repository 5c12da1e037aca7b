//! Which ops of a definition become the layers of its result, bottom first.
//!
//! BuildKit exports one layer per exec or file op on the chain from the result down to its
//! base (an exec's root mount, a file op's first action's input), an empty one included; a
//! merge stacks its inputs' chains. The image builder uses this to write a history entry per
//! layer that names the block and stage that made it.

use std::collections::BTreeMap;

use prost::Message;

use super::{digest_of, pb};

/// The layers of a definition's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChain {
    /// The image the chain starts from (`docker-image://...`); `None` for scratch.
    pub base: Option<String>,
    /// Digests of the ops that add a layer each, bottom first.
    pub ops: Vec<String>,
}

/// The layer chain of `def`'s result; `None` when the graph has a shape whose layers are not
/// known here (a build op, a chain starting from a local source, a merge whose upper inputs
/// start from an image, a diff whose upper was not built on its lower).
pub fn layer_chain(def: &pb::Definition) -> Option<LayerChain> {
    let mut ops = BTreeMap::new();
    let mut last = None;
    for bytes in &def.def {
        let op = pb::Op::decode(bytes.as_slice()).ok()?;
        let digest = digest_of(bytes);
        last = Some(op.clone());
        ops.insert(digest, op);
    }
    // The terminal op (no payload) points at the result.
    let terminal = last?;
    if terminal.op.is_some() {
        return None;
    }
    let result = terminal.inputs.first()?;
    walk(&ops, &result.digest, 0)
}

/// The chain of the result of op `digest` (its output 0).
fn walk(ops: &BTreeMap<String, pb::Op>, digest: &str, depth: usize) -> Option<LayerChain> {
    if depth > 10_000 {
        return None;
    }
    let op = ops.get(digest)?;
    let below = |input: i64| -> Option<LayerChain> {
        match usize::try_from(input) {
            Ok(i) => walk(ops, &op.inputs.get(i)?.digest, depth + 1),
            // -1: scratch.
            Err(_) => Some(LayerChain { base: None, ops: Vec::new() }),
        }
    };
    match op.op.as_ref()? {
        pb::op::Op::Source(s) => s
            .identifier
            .starts_with("docker-image://")
            .then(|| LayerChain { base: Some(s.identifier.clone()), ops: Vec::new() }),
        pb::op::Op::Exec(e) => {
            let root = e.mounts.iter().find(|m| m.dest == "/" && m.output == 0)?;
            let mut chain = below(root.input)?;
            chain.ops.push(digest.to_owned());
            Some(chain)
        }
        pb::op::Op::File(f) => {
            // The action whose result is the op's output 0, then its base, action by action.
            let n = op.inputs.len() as i64;
            let mut action = f.actions.iter().find(|a| a.output == 0)?;
            let mut steps = 0;
            let base = loop {
                if action.input < n || steps > f.actions.len() {
                    break action.input;
                }
                action = f.actions.get(usize::try_from(action.input - n).ok()?)?;
                steps += 1;
            };
            let mut chain = below(base)?;
            chain.ops.push(digest.to_owned());
            Some(chain)
        }
        pb::op::Op::Merge(m) => {
            let mut inputs = m.inputs.iter();
            let mut chain = below(inputs.next()?.input)?;
            for upper in inputs {
                let next = below(upper.input)?;
                if next.base.is_some() {
                    return None;
                }
                chain.ops.extend(next.ops);
            }
            Some(chain)
        }
        pb::op::Op::Diff(d) => {
            // The layers `upper` adds on top of `lower`: known when lower's chain is where
            // upper's starts.
            let lower = below(d.lower.as_ref()?.input)?;
            let upper = below(d.upper.as_ref()?.input)?;
            if upper.base != lower.base || !upper.ops.starts_with(&lower.ops) {
                return None;
            }
            Some(LayerChain { base: None, ops: upper.ops[lower.ops.len()..].to_vec() })
        }
        pb::op::Op::Build(_) => None,
    }
}
