//! Block ordering (petgraph).
//!
//! Blocks are nodes; `after`, `before` and `requires`/`provides` are edges. The order is a
//! topological sort that, among blocks no edge orders, takes the earliest phase first, then
//! the stack's default position, then the id, so the same blocks always give the same order.
//! A cycle is an error naming every block in it with its manifest location.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::Range;
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::diagnostics::{Diagnostic, SourceFile, Span};
use crate::manifest::{Block, ManifestError};

/// An ordering problem.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DagError {
    /// The edges between these blocks form a cycle.
    #[error("blocks form an ordering cycle: {}", path.join(" -> "))]
    Cycle {
        /// One cycle through the blocks, first block repeated at the end.
        path: Vec<String>,
        /// Every block of the strongly connected part, with the edge that puts it there.
        members: Vec<CycleMember>,
    },
}

/// A block of a cycle and the edge of it that the cycle uses.
#[derive(Debug, Clone)]
pub struct CycleMember {
    pub id: String,
    /// The manifest that wrote the edge.
    pub file: Arc<SourceFile>,
    /// Where the edge is written.
    pub span: Range<usize>,
    /// The edge in words: "runs after `b`".
    pub edge: String,
}

impl From<DagError> for ManifestError {
    fn from(e: DagError) -> ManifestError {
        let DagError::Cycle { path, members } = &e;
        // The message lists every block of the cycle with its manifest location.
        let mut message = e.to_string();
        for m in members {
            let at = m.file.location(Span::from(m.span.clone()));
            message.push_str(&format!("\n  block `{}` {} ({at})", m.id, m.edge));
        }
        let first = &members[0];
        let mut diagnostic = Diagnostic::error("manifest::cycle", message).with_primary(
            &first.file,
            Span::from(first.span.clone()),
            format!("`{}` {}", first.id, first.edge),
        );
        // Every other edge of the cycle gets its own snippet (they may be in other files).
        for m in members.iter().skip(1).filter(|m| !m.span.is_empty()) {
            diagnostic = diagnostic.with_secondary(&m.file, Span::from(m.span.clone()), format!("`{}` {}", m.id, m.edge));
        }
        ManifestError::Cycle(
            diagnostic.with_help(format!("remove one of the {} edges so that the blocks have an order", path.len() - 1)),
        )
    }
}

struct Edge {
    /// Index of the block whose manifest wrote the edge.
    writer: usize,
    span: Range<usize>,
    words: String,
}

/// Orders blocks. `tie` gives a block's default position (its place in the stack's list).
pub fn order(blocks: &[&Block], tie: &dyn Fn(&str) -> usize) -> Result<Vec<String>, DagError> {
    let mut graph: DiGraph<usize, Edge> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..blocks.len()).map(|i| graph.add_node(i)).collect();
    let index: BTreeMap<&str, usize> = blocks.iter().enumerate().map(|(i, b)| (b.id.as_str(), i)).collect();

    for (i, b) in blocks.iter().enumerate() {
        for r in &b.after {
            if let Some(&j) = index.get(r.id.as_str()) {
                graph.add_edge(nodes[j], nodes[i], Edge { writer: i, span: r.span.clone(), words: format!("runs after `{}`", r.id) });
            }
        }
        for r in &b.before {
            if let Some(&j) = index.get(r.id.as_str()) {
                graph.add_edge(nodes[i], nodes[j], Edge { writer: i, span: r.span.clone(), words: format!("runs before `{}`", r.id) });
            }
        }
        for r in &b.requires {
            for (j, p) in blocks.iter().enumerate() {
                if j != i && p.provides.contains(&r.id) {
                    graph.add_edge(
                        nodes[j],
                        nodes[i],
                        Edge { writer: i, span: r.span.clone(), words: format!("requires `{}`, which `{}` provides", r.id, p.id) },
                    );
                }
            }
        }
    }

    // Kahn's algorithm with a deterministic priority.
    let key = |i: usize| (blocks[i].phase, tie(&blocks[i].id), blocks[i].id.clone());
    let mut indegree: Vec<usize> = nodes.iter().map(|n| graph.neighbors_directed(*n, Direction::Incoming).count()).collect();
    let mut ready: BinaryHeap<Reverse<(crate::plan::Phase, usize, String, usize)>> = BinaryHeap::new();
    for (i, d) in indegree.iter().enumerate() {
        if *d == 0 {
            let (p, t, id) = key(i);
            ready.push(Reverse((p, t, id, i)));
        }
    }
    let mut out = Vec::with_capacity(blocks.len());
    while let Some(Reverse((_, _, id, i))) = ready.pop() {
        out.push(id);
        for next in graph.neighbors_directed(nodes[i], Direction::Outgoing) {
            let j = graph[next];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                let (p, t, id) = key(j);
                ready.push(Reverse((p, t, id, j)));
            }
        }
    }
    if out.len() == blocks.len() {
        return Ok(out);
    }
    Err(cycle_error(&graph, blocks))
}

/// Describes the first (by smallest id) cycle of the graph.
fn cycle_error(graph: &DiGraph<usize, Edge>, blocks: &[&Block]) -> DagError {
    let mut sccs: Vec<Vec<NodeIndex>> = petgraph::algo::tarjan_scc(graph)
        .into_iter()
        .filter(|c| c.len() > 1 || graph.find_edge(c[0], c[0]).is_some())
        .collect();
    for c in &mut sccs {
        c.sort_by(|a, b| blocks[graph[*a]].id.cmp(&blocks[graph[*b]].id));
    }
    sccs.sort_by(|a, b| blocks[graph[a[0]]].id.cmp(&blocks[graph[b[0]]].id));
    let scc = &sccs[0];
    let in_scc = |n: NodeIndex| scc.contains(&n);

    // Walk from the smallest block along edges inside the component until a block repeats.
    let start = scc[0];
    let mut path = vec![start];
    let mut edges = Vec::new();
    loop {
        let current = *path.last().unwrap_or(&start);
        let mut outgoing: Vec<_> = graph
            .edges_directed(current, Direction::Outgoing)
            .filter(|e| in_scc(petgraph::visit::EdgeRef::target(e)))
            .collect();
        outgoing.sort_by(|a, b| {
            let ta = &blocks[graph[petgraph::visit::EdgeRef::target(a)]].id;
            let tb = &blocks[graph[petgraph::visit::EdgeRef::target(b)]].id;
            ta.cmp(tb)
        });
        let Some(edge) = outgoing.first() else { break };
        let target = petgraph::visit::EdgeRef::target(edge);
        edges.push(petgraph::visit::EdgeRef::id(edge));
        if let Some(pos) = path.iter().position(|n| *n == target) {
            path.drain(..pos);
            edges.drain(..pos);
            path.push(target);
            break;
        }
        path.push(target);
    }
    let names: Vec<String> = path.iter().map(|n| blocks[graph[*n]].id.clone()).collect();
    let mut members: Vec<CycleMember> = edges
        .iter()
        .map(|e| {
            let edge = &graph[*e];
            let writer = blocks[edge.writer];
            CycleMember { id: writer.id.clone(), file: writer.source.file.clone(), span: edge.span.clone(), edge: edge.words.clone() }
        })
        .collect();
    // Blocks of the component not on the walked cycle are still part of the knot.
    for n in scc {
        let b = blocks[graph[*n]];
        if !members.iter().any(|m| m.id == b.id) {
            members.push(CycleMember { id: b.id.clone(), file: b.source.file.clone(), span: 0..0, edge: "is part of the cycle too".into() });
        }
    }
    DagError::Cycle { path: names, members }
}
