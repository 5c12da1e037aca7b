//! A YAML document as a tree of nodes that remember where they were written and how.
//!
//! Why not `serde_yaml` (a dependency of the crate)? Two facts of Cog's behaviour need more
//! than it gives. Cog reads cog.yaml with Go's YAML library into *string* fields, and that
//! library fills a string field with the scalar's source text, whatever type YAML would give
//! it: `python_version: 3.10` is the string `"3.10"`, not the float 3.1, and `cuda: 12.1`
//! is `"12.1"`. `serde_yaml` resolves plain scalars first and hands out `3.1`. And every
//! value needs its span so errors point at it and the resolver can cite `cog.yaml:5`.
//! `saphyr-parser` is a YAML 1.2 event parser that gives each scalar's text, its style
//! (plain or quoted) and its span; this module builds a small located tree from its events.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diagnostics::Span;

/// The most nodes alias expansion may create (guards against "billion laughs" documents).
const MAX_ALIAS_NODES: usize = 10_000;

/// The deepest nesting of collections (lists and mappings) accepted. Everything after the
/// parser walks the tree recursively (checking, the plain map for scripts, dropping it), and
/// a debug build overflowed its 8 MiB main-thread stack at about 5,000 levels (2 MiB worker
/// threads: about 1,200); real cog.yaml files nest four or five levels. 128 keeps every
/// consumer far from the stack's end, whatever thread it runs on. See `docs/limits.md`.
pub(crate) const MAX_DEPTH: usize = 128;

/// A node of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// What it is.
    pub kind: Kind,
    /// Where it was written (for a block collection: its first to its last child).
    pub span: Span,
}

/// The kinds of node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A scalar: its text after YAML unescaping/folding, as written otherwise.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order (duplicate keys are kept; the reader reports them).
    Map(Vec<(Node, Node)>),
}

/// A scalar's text and how it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    /// The text (quotes removed, escapes and block folding applied).
    pub text: String,
    /// Plain (unquoted) scalars are the ones YAML gives types to (`true`, `3`, `~`).
    pub plain: bool,
    /// An explicit tag such as `!!str`, if any.
    pub tag: Option<String>,
}

impl Scalar {
    /// Whether this is YAML's null: a plain `~`, `null` (any common case) or nothing at all.
    pub fn is_null(&self) -> bool {
        self.plain
            && self.tag.is_none()
            && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

impl Node {
    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is a null scalar (an empty value counts).
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// A word for the node's type in messages ("a string", "a list", ...).
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
            Kind::Scalar(s) if s.is_null() => "an empty value".into(),
            Kind::Scalar(s) if !s.plain || s.tag.is_some() => format!("the string {:?}", s.text),
            Kind::Scalar(s) => format!("{:?}", s.text),
        }
    }
}

/// A YAML syntax error and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    /// The parser's message.
    pub message: String,
    /// Where it stopped.
    pub span: Span,
}

/// Parse a single-document YAML text. `Ok(None)` for an empty document (only comments or
/// whitespace).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    Builder::new(text).run()
}

/// An open collection while its events arrive.
enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'t> {
    text: &'t str,
    /// Byte offset of each character, when the text is not pure ASCII (saphyr counts
    /// characters; spans are bytes).
    char_offsets: Option<Vec<usize>>,
    stack: Vec<Frame>,
    /// Each anchored node, with its nesting depth (a scalar is 0).
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    root: Option<Node>,
    documents: usize,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
        let char_offsets =
            (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        Builder {
            text,
            char_offsets,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            root: None,
            documents: 0,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_offsets {
            None => char_index.min(self.text.len()),
            Some(offsets) => offsets.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn span(&self, span: saphyr_parser::Span) -> Span {
        Span::new(self.byte(span.start.index()), self.byte(span.end.index()))
    }

    fn run(mut self) -> Result<Option<Node>, YamlError> {
        let mut parser = Parser::new_from_str(self.text);
        while let Some(next) = parser.next_event() {
            let (event, raw_span) = next.map_err(|e| {
                let at = self.byte(e.marker().index());
                // saphyr's scanner stops at 255 open flow collections (`[[[...`), which it
                // may reach while looking ahead, before the events reach MAX_DEPTH.
                if e.info() == "recursion limit exceeded" {
                    return too_deep(Span::new(at, at));
                }
                YamlError {
                    message: e.info().to_string(),
                    span: Span::new(at, at),
                }
            })?;
            let span = self.span(raw_span);
            self.event(event, span)?;
        }
        Ok(self.root)
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError {
                        message: "cog.yaml must hold a single YAML document, found another one"
                            .into(),
                        span,
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let span = match style {
                    // Block scalars' spans run to the next token: trim the trailing blank lines.
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        let end = span.start + self.text[span.range()].trim_end().len();
                        Span::new(span.start, end)
                    }
                    _ => span,
                };
                let scalar = Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| t.to_string()),
                };
                self.complete(
                    Node {
                        kind: Kind::Scalar(scalar),
                        span,
                    },
                    anchor,
                )?;
            }
            Event::Alias(id) => {
                let Some((target, depth)) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        message: "unknown alias".into(),
                        span,
                    });
                };
                // The alias puts a copy of its target here, nested as deep as the target is.
                if self.stack.len() + depth > MAX_DEPTH {
                    return Err(too_deep(span));
                }
                let mut node = target.clone();
                self.alias_nodes += count_nodes(&node);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(YamlError {
                        message: format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        span,
                    });
                }
                // Point at the alias itself: that is what the user wrote here.
                node.span = span;
                self.complete(node, 0)?;
            }
            Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_deep(span));
                }
                self.stack.push(Frame::Seq {
                    start: span.start,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_deep(span));
                }
                self.stack.push(Frame::Map {
                    start: span.start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                // Flow collections end at their `]`/`}`; block ones at their last child.
                let end_at = |last: Option<usize>, start: usize| {
                    if span.is_empty() {
                        last.unwrap_or(start)
                    } else {
                        span.end
                    }
                };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                    } => {
                        let end = end_at(items.last().map(|n| n.span.end), start);
                        (
                            Node {
                                kind: Kind::Seq(items),
                                span: Span::new(start, end),
                            },
                            anchor,
                        )
                    }
                    Frame::Map {
                        start,
                        anchor,
                        entries,
                        ..
                    } => {
                        let end = end_at(entries.last().map(|(_, v)| v.span.end), start);
                        (
                            Node {
                                kind: Kind::Map(entries),
                                span: Span::new(start, end),
                            },
                            anchor,
                        )
                    }
                };
                self.complete(node, anchor)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// A node is finished: remember its anchor and give it to its parent.
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            let depth = depth(&node);
            self.anchors.insert(anchor, (node.clone(), depth));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

fn too_deep(span: Span) -> YamlError {
    YamlError {
        message: format!(
            "lists and mappings are nested more than {MAX_DEPTH} levels deep here; cogpack reads at most {MAX_DEPTH} levels"
        ),
        span,
    }
}

/// How many collections deep a node goes (a scalar is 0). Recursion is bounded: the tree
/// was built no deeper than [`MAX_DEPTH`].
fn depth(node: &Node) -> usize {
    match &node.kind {
        Kind::Scalar(_) => 0,
        Kind::Seq(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Kind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| depth(k).max(depth(v)))
                .max()
                .unwrap_or(0)
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        Kind::Scalar(_) => 0,
        Kind::Seq(items) => items.iter().map(count_nodes).sum(),
        Kind::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(node: &Node) -> &[(Node, Node)] {
        match &node.kind {
            Kind::Map(entries) => entries,
            other => panic!("not a map: {other:?}"),
        }
    }

    fn get<'n>(node: &'n Node, key: &str) -> &'n Node {
        map(node)
            .iter()
            .find(|(k, _)| k.as_scalar().is_some_and(|s| s.text == key))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no key {key}"))
    }

    #[test]
    fn plain_numbers_keep_their_source_text() {
        let text = "build:\n  python_version: 3.10\n  cuda: 12.1\n  cudnn: 8\n";
        let root = parse(text).unwrap().unwrap();
        let build = get(&root, "build");
        let version = get(build, "python_version");
        let scalar = version.as_scalar().unwrap();
        assert_eq!(scalar.text, "3.10");
        assert!(scalar.plain);
        assert_eq!(&text[version.span.range()], "3.10");
        assert_eq!(get(build, "cuda").as_scalar().unwrap().text, "12.1");
        assert_eq!(get(build, "cudnn").as_scalar().unwrap().text, "8");
    }

    #[test]
    fn spans_are_bytes_even_after_non_ascii_text() {
        let text = "# café ☕\nbuild:\n  python_version: \"3.11\"\n";
        let root = parse(text).unwrap().unwrap();
        let version = get(get(&root, "build"), "python_version");
        assert_eq!(&text[version.span.range()], "\"3.11\"");
        assert!(!version.as_scalar().unwrap().plain);
    }

    #[test]
    fn collections_span_their_children() {
        let text = "build:\n  run:\n    - echo a\n    - command: >-\n        echo b\n        c\n\npredict: p.py:P\n";
        let root = parse(text).unwrap().unwrap();
        let run = get(get(&root, "build"), "run");
        let slice = &text[run.span.range()];
        assert!(slice.starts_with("- echo a"), "{slice:?}");
        assert!(slice.ends_with("        c"), "{slice:?}");
        let Kind::Seq(items) = &run.kind else {
            panic!()
        };
        let command = get(&items[1], "command");
        assert_eq!(command.as_scalar().unwrap().text, "echo b c");
        assert_eq!(&text[command.span.range()], "echo b\n        c");
    }

    #[test]
    fn nulls_and_aliases() {
        let text = "a:\nb: ~\nc: &x [1, 2]\nd: *x\ne: 'null'\n";
        let root = parse(text).unwrap().unwrap();
        assert!(get(&root, "a").is_null());
        assert!(get(&root, "b").is_null());
        assert!(!get(&root, "e").is_null());
        let d = get(&root, "d");
        assert!(matches!(&d.kind, Kind::Seq(items) if items.len() == 2));
        assert_eq!(&text[d.span.range()], "*x");
    }

    #[test]
    fn errors_have_positions() {
        let text = "build:\n  python_version: \"3.11\"\n   gpu: true\n";
        let err = parse(text).unwrap_err();
        assert!(err.message.contains("block mapping"), "{}", err.message);
        assert_eq!(err.span.start, text.find("gpu").unwrap());
        let two = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(two.message.contains("single YAML document"));
    }

    #[test]
    fn empty_documents_are_none() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# just a comment\n\n").unwrap(), None);
    }

    #[test]
    fn deep_nesting_is_a_located_error_not_a_stack_overflow() {
        // 20,000 block-style list levels under an unknown key (issue 8, item 4).
        let text = format!("build:\n  python_version: \"3.11\"\nunknown:\n{}x\n", "- ".repeat(20_000));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("more than 128 levels"), "{}", err.message);
        // The error points at the list that is one level too many (the top-level mapping is
        // the first level).
        let unknown = text.find("unknown:").unwrap();
        assert_eq!(err.span.start, unknown + "unknown:\n".len() + 2 * (MAX_DEPTH - 1));
        // Flow style and mappings, too.
        let flow = format!("a: {}{}", "[".repeat(20_000), "]".repeat(20_000));
        let e = parse(&flow).unwrap_err();
        assert!(e.message.contains("nested more than"), "{}", e.message);
        let maps = format!("a: {}1{}", "{b: ".repeat(20_000), "}".repeat(20_000));
        assert!(parse(&maps).unwrap_err().message.contains("nested more than"));
        // Exactly the limit is fine.
        let ok = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert_eq!(depth(&parse(&ok).unwrap().unwrap()), MAX_DEPTH);
        // An alias cannot smuggle in more depth than the limit.
        let half = "- ".repeat(100);
        let aliased = format!("a: &d\n  {half}x\nb:\n  {half}*d\n");
        assert!(parse(&aliased).unwrap_err().message.contains("nested more than"));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{}", err.message);
    }
}
