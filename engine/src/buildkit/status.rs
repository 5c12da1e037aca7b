//! The build status model: BuildKit's incremental `StatusResponse` messages, typed, and merged
//! by vertex digest into a tidy state (name, cached, started, completed, error, log tail).
//!
//! Pure data: no IO. [`StatusState::apply`] also returns the [`StatusEvent`]s that an update
//! caused, which is what a line-oriented renderer prints.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard_buildkit_proto::google::protobuf::Timestamp;
use bollard_buildkit_proto::moby::buildkit::v1 as control;

/// How many complete log lines each vertex keeps.
pub const LOG_TAIL_LINES: usize = 50;
/// Longest log line kept; longer lines are cut (with a marker).
const MAX_LINE: usize = 4096;

/// One status message from the engine, converted from `StatusResponse`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusUpdate {
    pub vertices: Vec<VertexUpdate>,
    pub progress: Vec<ProgressUpdate>,
    pub logs: Vec<LogChunk>,
    pub warnings: Vec<WarningUpdate>,
}

/// The engine's current view of one vertex (an LLB op or a step the engine adds itself).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VertexUpdate {
    /// `sha256:…`; equals the op digest for ops of the submitted definition.
    pub digest: String,
    pub inputs: Vec<String>,
    pub name: String,
    pub cached: bool,
    pub started: Option<SystemTime>,
    pub completed: Option<SystemTime>,
    /// Empty when the vertex did not fail.
    pub error: Option<String>,
}

/// Progress of a sub-task of a vertex (a layer download, a file transfer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgressUpdate {
    pub id: String,
    pub vertex: String,
    pub name: String,
    pub current: i64,
    pub total: i64,
    pub started: Option<SystemTime>,
    pub completed: Option<SystemTime>,
}

/// Which output stream a log chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    Other,
}

/// Raw output of a vertex. Chunks are not line-aligned.
#[derive(Debug, Clone, PartialEq)]
pub struct LogChunk {
    pub vertex: String,
    pub stream: LogStream,
    pub timestamp: Option<SystemTime>,
    pub data: Vec<u8>,
}

/// A warning attached to a vertex (newer engines).
#[derive(Debug, Clone, PartialEq)]
pub struct WarningUpdate {
    pub vertex: String,
    pub short: String,
    pub detail: Vec<String>,
    pub url: String,
}

fn time(ts: &Option<Timestamp>) -> Option<SystemTime> {
    let ts = ts.as_ref()?;
    if ts.seconds < 0 {
        return None;
    }
    let nanos = u32::try_from(ts.nanos).unwrap_or(0);
    Some(UNIX_EPOCH + Duration::new(ts.seconds as u64, nanos))
}

impl From<control::StatusResponse> for StatusUpdate {
    fn from(resp: control::StatusResponse) -> Self {
        StatusUpdate {
            vertices: resp
                .vertexes
                .into_iter()
                .map(|v| VertexUpdate {
                    started: time(&v.started),
                    completed: time(&v.completed),
                    error: (!v.error.is_empty()).then_some(v.error),
                    digest: v.digest,
                    inputs: v.inputs,
                    name: v.name,
                    cached: v.cached,
                })
                .collect(),
            progress: resp
                .statuses
                .into_iter()
                .map(|s| ProgressUpdate {
                    started: time(&s.started),
                    completed: time(&s.completed),
                    id: s.id,
                    vertex: s.vertex,
                    name: s.name,
                    current: s.current,
                    total: s.total,
                })
                .collect(),
            logs: resp
                .logs
                .into_iter()
                .map(|l| LogChunk {
                    timestamp: time(&l.timestamp),
                    stream: match l.stream {
                        1 => LogStream::Stdout,
                        2 => LogStream::Stderr,
                        _ => LogStream::Other,
                    },
                    vertex: l.vertex,
                    data: l.msg,
                })
                .collect(),
            warnings: resp
                .warnings
                .into_iter()
                .map(|w| WarningUpdate {
                    short: String::from_utf8_lossy(&w.short).into_owned(),
                    detail: w.detail.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect(),
                    vertex: w.vertex,
                    url: w.url,
                })
                .collect(),
        }
    }
}

/// The merged state of one vertex.
#[derive(Debug, Clone, PartialEq)]
pub struct VertexState {
    /// 1-based position in order of first appearance (the `#N` of plain progress output).
    pub index: usize,
    pub digest: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub cached: bool,
    pub started: Option<SystemTime>,
    pub completed: Option<SystemTime>,
    pub error: Option<String>,
    /// Sub-task progress by id.
    pub progress: BTreeMap<String, ProgressUpdate>,
    /// The last [`LOG_TAIL_LINES`] complete lines of output (stdout and stderr interleaved).
    pub log_tail: VecDeque<String>,
    pub warnings: Vec<String>,
    announced: bool,
    finished: bool,
    partial: BTreeMap<LogStream, Vec<u8>>,
}

impl VertexState {
    fn new(index: usize, digest: &str) -> Self {
        VertexState {
            index,
            digest: digest.to_owned(),
            name: String::new(),
            inputs: Vec::new(),
            cached: false,
            started: None,
            completed: None,
            error: None,
            progress: BTreeMap::new(),
            log_tail: VecDeque::new(),
            warnings: Vec::new(),
            announced: false,
            finished: false,
            partial: BTreeMap::new(),
        }
    }

    /// How long the vertex ran, when it has both timestamps.
    pub fn duration(&self) -> Option<Duration> {
        self.completed?.duration_since(self.started?).ok()
    }

    /// Whether the vertex finished (successfully, cached, or with an error).
    pub fn is_done(&self) -> bool {
        self.completed.is_some()
    }

    /// The name to show: the engine's name, or the digest when it sent none yet.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() { &self.digest } else { &self.name }
    }

    fn push_line(&mut self, line: String) {
        if self.log_tail.len() == LOG_TAIL_LINES {
            self.log_tail.pop_front();
        }
        self.log_tail.push_back(line);
    }
}

/// Something that happened to a vertex, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusEvent {
    /// The vertex started running (or is about to be reported cached).
    Started { index: usize, digest: String, name: String },
    /// The result came from the cache.
    Cached { index: usize, digest: String },
    /// One complete line of output; `at` is when the engine captured it.
    Log { index: usize, digest: String, stream: LogStream, line: String, at: Option<SystemTime> },
    /// A sub-task finished (download, transfer).
    ProgressDone { index: usize, digest: String, id: String, total: i64 },
    /// The vertex finished successfully.
    Completed { index: usize, digest: String, duration: Option<Duration> },
    /// The vertex failed.
    Failed { index: usize, digest: String, error: String },
    /// A warning from the engine.
    Warning { index: usize, digest: String, message: String },
}

/// Everything known about a build's vertices, merged from incremental updates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusState {
    vertices: BTreeMap<String, VertexState>,
    order: Vec<String>,
}

/// Counts over all vertices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatusSummary {
    pub total: usize,
    pub cached: usize,
    pub completed: usize,
    pub failed: usize,
}

impl StatusState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Vertices in order of first appearance.
    pub fn vertices(&self) -> impl Iterator<Item = &VertexState> {
        self.order.iter().filter_map(|d| self.vertices.get(d))
    }

    /// A vertex by digest.
    pub fn vertex(&self, digest: &str) -> Option<&VertexState> {
        self.vertices.get(digest)
    }

    /// Counts of total, cached, completed and failed vertices.
    pub fn summary(&self) -> StatusSummary {
        let mut s = StatusSummary::default();
        for v in self.vertices.values() {
            s.total += 1;
            s.cached += usize::from(v.cached);
            s.completed += usize::from(v.completed.is_some());
            s.failed += usize::from(v.error.is_some());
        }
        s
    }

    /// The vertex that caused a failure: among failed vertices, prefer ones whose error is not
    /// a cancellation (those are knock-on effects), then the earliest to complete.
    pub fn failed_vertex(&self) -> Option<&VertexState> {
        let failed: Vec<&VertexState> = self.vertices().filter(|v| v.error.is_some()).collect();
        let is_cancel = |v: &&VertexState| {
            v.error.as_deref().is_some_and(|e| e.contains("context canceled") || e.contains("canceled"))
        };
        let primary: Vec<&VertexState> = failed.iter().copied().filter(|v| !is_cancel(v)).collect();
        let pool = if primary.is_empty() { failed } else { primary };
        pool.into_iter().min_by_key(|v| (v.completed.unwrap_or(UNIX_EPOCH + Duration::from_secs(u32::MAX as u64)), v.index))
    }

    fn entry(&mut self, digest: &str) -> &mut VertexState {
        if !self.vertices.contains_key(digest) {
            let index = self.order.len() + 1;
            self.order.push(digest.to_owned());
            self.vertices.insert(digest.to_owned(), VertexState::new(index, digest));
        }
        self.vertices.get_mut(digest).expect("inserted above")
    }

    /// Merges one update and returns what changed, in a stable order.
    pub fn apply(&mut self, update: &StatusUpdate) -> Vec<StatusEvent> {
        let mut events = Vec::new();
        for u in &update.vertices {
            let v = self.entry(&u.digest);
            if !u.name.is_empty() {
                v.name = u.name.clone();
            }
            if !u.inputs.is_empty() {
                v.inputs = u.inputs.clone();
            }
            if u.started.is_some() {
                v.started = u.started;
            }
            let (index, digest) = (v.index, v.digest.clone());
            if (u.started.is_some() || u.cached || u.completed.is_some()) && !v.announced {
                v.announced = true;
                events.push(StatusEvent::Started { index, digest: digest.clone(), name: v.name.clone() });
            }
            if u.cached && !v.cached {
                v.cached = true;
                events.push(StatusEvent::Cached { index, digest: digest.clone() });
            }
            if let Some(err) = &u.error {
                v.error = Some(err.clone());
            }
            if u.completed.is_some() {
                v.completed = u.completed;
                if !v.finished {
                    v.finished = true;
                    for (stream, rest) in std::mem::take(&mut v.partial) {
                        if !rest.is_empty() {
                            let line = to_line(&rest);
                            v.push_line(line.clone());
                            events.push(StatusEvent::Log { index, digest: digest.clone(), stream, line, at: v.completed });
                        }
                    }
                    match &v.error {
                        Some(error) => events.push(StatusEvent::Failed { index, digest, error: error.clone() }),
                        None if v.cached => {}
                        None => events.push(StatusEvent::Completed { index, digest, duration: v.duration() }),
                    }
                }
            }
        }
        for p in &update.progress {
            let v = self.entry(&p.vertex);
            let was_done = v.progress.get(&p.id).is_some_and(|old| old.completed.is_some());
            v.progress.insert(p.id.clone(), p.clone());
            if p.completed.is_some() && !was_done {
                events.push(StatusEvent::ProgressDone {
                    index: v.index,
                    digest: v.digest.clone(),
                    id: p.id.clone(),
                    total: p.total,
                });
            }
        }
        for chunk in &update.logs {
            let v = self.entry(&chunk.vertex);
            let (index, digest) = (v.index, v.digest.clone());
            if !v.announced {
                v.announced = true;
                events.push(StatusEvent::Started { index, digest: digest.clone(), name: v.name.clone() });
            }
            let buf = v.partial.entry(chunk.stream).or_default();
            buf.extend_from_slice(&chunk.data);
            let mut lines = Vec::new();
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                // A bare carriage return redraws the line: keep what was drawn last.
                if let Some(cr) = line.iter().rposition(|b| *b == b'\r') {
                    line.drain(..=cr);
                }
                lines.push(to_line(&line));
            }
            if buf.len() > MAX_LINE {
                let line: Vec<u8> = std::mem::take(buf);
                lines.push(to_line(&line));
            }
            for line in lines {
                v.push_line(line.clone());
                events.push(StatusEvent::Log { index, digest: digest.clone(), stream: chunk.stream, line, at: chunk.timestamp });
            }
        }
        for w in &update.warnings {
            let v = self.entry(&w.vertex);
            v.warnings.push(w.short.clone());
            events.push(StatusEvent::Warning { index: v.index, digest: v.digest.clone(), message: w.short.clone() });
        }
        events
    }
}

fn to_line(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    if s.len() > MAX_LINE {
        let mut cut = MAX_LINE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(" [line truncated]");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

    fn vertex(digest: &str, name: &str) -> VertexUpdate {
        VertexUpdate { digest: digest.into(), name: name.into(), ..Default::default() }
    }

    fn log(digest: &str, data: &str) -> LogChunk {
        LogChunk { vertex: digest.into(), stream: LogStream::Stdout, timestamp: None, data: data.as_bytes().to_vec() }
    }

    #[test]
    fn merges_incremental_updates_by_digest() {
        let mut st = StatusState::new();
        let ev = st.apply(&StatusUpdate { vertices: vec![vertex("sha256:a", "base"), vertex("sha256:b", "run")], ..Default::default() });
        assert!(ev.is_empty(), "nothing started yet: {ev:?}");
        let ev = st.apply(&StatusUpdate {
            vertices: vec![VertexUpdate { started: at(10), ..vertex("sha256:b", "run") }],
            ..Default::default()
        });
        assert_eq!(ev, vec![StatusEvent::Started { index: 2, digest: "sha256:b".into(), name: "run".into() }]);
        let ev = st.apply(&StatusUpdate {
            vertices: vec![VertexUpdate { started: at(10), completed: at(12), ..vertex("sha256:b", "") }],
            ..Default::default()
        });
        assert_eq!(
            ev,
            vec![StatusEvent::Completed { index: 2, digest: "sha256:b".into(), duration: Some(Duration::from_secs(2)) }]
        );
        let b = st.vertex("sha256:b").unwrap();
        assert_eq!(b.name, "run", "an empty name in a later update keeps the old one");
        assert!(b.is_done());
        assert_eq!(st.summary(), StatusSummary { total: 2, cached: 0, completed: 1, failed: 0 });
        let order: Vec<usize> = st.vertices().map(|v| v.index).collect();
        assert_eq!(order, vec![1, 2]);
    }

    #[test]
    fn cached_vertices_report_cached_not_done() {
        let mut st = StatusState::new();
        let ev = st.apply(&StatusUpdate {
            vertices: vec![VertexUpdate { cached: true, started: at(1), completed: at(1), ..vertex("sha256:a", "base") }],
            ..Default::default()
        });
        assert_eq!(
            ev,
            vec![
                StatusEvent::Started { index: 1, digest: "sha256:a".into(), name: "base".into() },
                StatusEvent::Cached { index: 1, digest: "sha256:a".into() },
            ]
        );
        assert_eq!(st.summary().cached, 1);
    }

    #[test]
    fn logs_are_split_into_lines_and_tailed() {
        let mut st = StatusState::new();
        st.apply(&StatusUpdate { vertices: vec![VertexUpdate { started: at(1), ..vertex("d", "x") }], ..Default::default() });
        let ev = st.apply(&StatusUpdate { logs: vec![log("d", "hel"), log("d", "lo\nwor")], ..Default::default() });
        assert_eq!(ev.len(), 1);
        assert!(matches!(&ev[0], StatusEvent::Log { line, .. } if line == "hello"));
        let ev = st.apply(&StatusUpdate { logs: vec![log("d", "ld\nprogress 10%\rprogress 100%\r\n")], ..Default::default() });
        assert!(matches!(&ev[0], StatusEvent::Log { line, .. } if line == "world"), "{ev:?}");
        assert!(matches!(&ev[1], StatusEvent::Log { line, .. } if line == "progress 100%"), "{ev:?}");
        // The unterminated rest is flushed when the vertex completes.
        st.apply(&StatusUpdate { logs: vec![log("d", "tail")], ..Default::default() });
        let ev = st.apply(&StatusUpdate {
            vertices: vec![VertexUpdate { started: at(1), completed: at(2), ..vertex("d", "x") }],
            ..Default::default()
        });
        assert!(matches!(&ev[0], StatusEvent::Log { line, .. } if line == "tail"));
        let tail: Vec<&str> = st.vertex("d").unwrap().log_tail.iter().map(String::as_str).collect();
        assert_eq!(tail, vec!["hello", "world", "progress 100%", "tail"]);

        let mut st = StatusState::new();
        let many: String = (0..LOG_TAIL_LINES + 10).map(|i| format!("line {i}\n")).collect();
        st.apply(&StatusUpdate { logs: vec![log("d", &many)], ..Default::default() });
        let v = st.vertex("d").unwrap();
        assert_eq!(v.log_tail.len(), LOG_TAIL_LINES);
        assert_eq!(v.log_tail.back().unwrap(), &format!("line {}", LOG_TAIL_LINES + 9));
    }

    #[test]
    fn failed_vertex_prefers_the_root_cause() {
        let mut st = StatusState::new();
        st.apply(&StatusUpdate {
            vertices: vec![
                VertexUpdate { started: at(1), completed: at(5), error: Some("context canceled".into()), ..vertex("a", "other") },
                VertexUpdate { started: at(1), completed: at(3), error: Some("exit code: 1".into()), ..vertex("b", "tests") },
                VertexUpdate { started: at(1), completed: at(2), ..vertex("c", "ok") },
            ],
            ..Default::default()
        });
        let f = st.failed_vertex().unwrap();
        assert_eq!(f.name, "tests");
        // A vertex that fails without ever starting is still announced before its failure.
        let ev = st.apply(&StatusUpdate {
            vertices: vec![VertexUpdate { completed: at(9), error: Some("bad ref".into()), ..vertex("d", "pull") }],
            ..Default::default()
        });
        assert!(matches!(ev.as_slice(), [StatusEvent::Started { .. }, StatusEvent::Failed { .. }]), "{ev:?}");
        assert_eq!(st.summary().failed, 3);
    }

    #[test]
    fn converts_protobuf_status() {
        let resp = control::StatusResponse {
            vertexes: vec![control::Vertex {
                digest: "sha256:x".into(),
                name: "n".into(),
                started: Some(Timestamp { seconds: 5, nanos: 0 }),
                error: String::new(),
                ..Default::default()
            }],
            logs: vec![control::VertexLog { vertex: "sha256:x".into(), stream: 2, msg: b"oops\n".to_vec(), timestamp: None }],
            ..Default::default()
        };
        let u = StatusUpdate::from(resp);
        assert_eq!(u.vertices[0].started, at(5));
        assert_eq!(u.vertices[0].error, None);
        assert_eq!(u.logs[0].stream, LogStream::Stderr);
    }
}
