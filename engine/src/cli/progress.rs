//! Renders build progress: the [`StatusUpdate`]s a solve sends, merged into a
//! [`StatusState`], drawn as live steps on a terminal (`tty`), as one line per event (`plain`,
//! like `buildx --progress=plain`), or not at all (`quiet`). Rendering only: no engine logic.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::buildkit::status::{StatusEvent, StatusState, StatusUpdate, VertexState};

/// How progress is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// `tty` on a terminal, `plain` otherwise.
    #[default]
    Auto,
    /// Live steps that update in place.
    Tty,
    /// One line per event, for logs and CI.
    Plain,
    /// Nothing (errors are still reported by the command).
    Quiet,
}

impl ProgressMode {
    /// Resolves `Auto` against whether stderr is a terminal.
    pub fn resolve(self) -> ProgressMode {
        match self {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Tty,
            ProgressMode::Auto => ProgressMode::Plain,
            other => other,
        }
    }
}

/// Draws updates until the sender side closes (the solve finished), then returns the final
/// state. Output goes to stderr.
pub async fn render(mode: ProgressMode, mut updates: mpsc::Receiver<StatusUpdate>) -> StatusState {
    match mode.resolve() {
        ProgressMode::Tty => {
            let mut r = TtyRenderer::new(ProgressDrawTarget::stderr());
            while let Some(u) = updates.recv().await {
                r.handle(&u);
            }
            r.finish()
        }
        ProgressMode::Plain | ProgressMode::Auto => {
            let mut r = PlainRenderer::new(std::io::stderr());
            while let Some(u) = updates.recv().await {
                r.handle(&u);
            }
            r.into_state()
        }
        ProgressMode::Quiet => {
            let mut state = StatusState::new();
            while let Some(u) = updates.recv().await {
                state.apply(&u);
            }
            state
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Seconds since the vertex started, the prefix buildx puts on log lines.
fn since_start(v: Option<&VertexState>, at: Option<SystemTime>) -> Option<f64> {
    let start = v?.started?;
    Some(at?.duration_since(start).ok()?.as_secs_f64())
}

/// `plain` mode: `#N name`, `#N CACHED`, `#N 0.512 output`, `#N DONE 1.2s`, `#N ERROR: …`.
pub struct PlainRenderer<W: Write> {
    out: W,
    state: StatusState,
}

impl<W: Write> PlainRenderer<W> {
    pub fn new(out: W) -> Self {
        PlainRenderer { out, state: StatusState::new() }
    }

    /// Merges one update and prints what it changed.
    pub fn handle(&mut self, update: &StatusUpdate) {
        for ev in self.state.apply(update) {
            let line = match &ev {
                StatusEvent::Started { index, name, digest } => {
                    format!("#{index} {}", if name.is_empty() { digest } else { name })
                }
                StatusEvent::Cached { index, .. } => format!("#{index} CACHED\n"),
                StatusEvent::Log { index, digest, line, at, .. } => match since_start(self.state.vertex(digest), *at) {
                    Some(t) => format!("#{index} {t:.3} {line}"),
                    None => format!("#{index} {line}"),
                },
                StatusEvent::ProgressDone { index, digest, id, .. } => {
                    let current = self
                        .state
                        .vertex(digest)
                        .and_then(|v| v.progress.get(id))
                        .map(|p| p.current)
                        .unwrap_or(0);
                    if current > 0 {
                        format!("#{index} {id} {} done", human_bytes(current))
                    } else {
                        format!("#{index} {id} done")
                    }
                }
                StatusEvent::Completed { index, duration, .. } => {
                    format!("#{index} DONE {}\n", secs(duration.unwrap_or_default()))
                }
                StatusEvent::Failed { index, error, .. } => format!("#{index} ERROR: {error}\n"),
                StatusEvent::Warning { index, message, .. } => format!("#{index} WARN: {message}"),
            };
            // A closed stderr is not worth failing a build over.
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// The merged state so far.
    pub fn state(&self) -> &StatusState {
        &self.state
    }

    pub fn into_state(self) -> StatusState {
        self.state
    }
}

fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 { format!("{n}B") } else { format!("{v:.2}{}", UNITS[u]) }
}

/// `tty` mode: one spinner line per running step showing its latest output, replaced by a
/// check mark (or a cross, with the step's last output printed above) when it ends.
pub struct TtyRenderer {
    multi: MultiProgress,
    bars: BTreeMap<usize, ProgressBar>,
    state: StatusState,
    running: ProgressStyle,
    done: ProgressStyle,
}

impl TtyRenderer {
    pub fn new(target: ProgressDrawTarget) -> Self {
        let running = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg:.dim}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let done = ProgressStyle::with_template("{prefix:.bold} {wide_msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
        TtyRenderer { multi: MultiProgress::with_draw_target(target), bars: BTreeMap::new(), state: StatusState::new(), running, done }
    }

    fn bar(&mut self, index: usize) -> ProgressBar {
        if let Some(b) = self.bars.get(&index) {
            return b.clone();
        }
        let name = self.state.vertices().find(|v| v.index == index).map(|v| v.display_name().to_owned()).unwrap_or_default();
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(self.running.clone());
        bar.set_prefix(format!("[{index}] {name}"));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars.insert(index, bar.clone());
        bar
    }

    /// Merges one update and redraws what changed.
    pub fn handle(&mut self, update: &StatusUpdate) {
        for ev in self.state.apply(update) {
            match ev {
                StatusEvent::Started { index, .. } => {
                    self.bar(index);
                }
                StatusEvent::Log { index, line, .. } => {
                    self.bar(index).set_message(line);
                }
                StatusEvent::Cached { index, .. } => {
                    let bar = self.bar(index);
                    bar.set_style(self.done.clone());
                    bar.finish_with_message("✔ cached");
                }
                StatusEvent::Completed { index, duration, .. } => {
                    let bar = self.bar(index);
                    bar.set_style(self.done.clone());
                    bar.finish_with_message(format!("✔ {}", secs(duration.unwrap_or_default())));
                }
                StatusEvent::Failed { index, digest, error } => {
                    let bar = self.bar(index);
                    if let Some(v) = self.state.vertex(&digest) {
                        for line in &v.log_tail {
                            let _ = self.multi.println(format!("  | {line}"));
                        }
                    }
                    bar.set_style(self.done.clone());
                    bar.finish_with_message(format!("✘ {error}"));
                }
                StatusEvent::Warning { message, index, .. } => {
                    let _ = self.multi.println(format!("warning: [{index}] {message}"));
                }
                StatusEvent::ProgressDone { .. } => {}
            }
        }
        // Names can arrive after a step started; keep prefixes current.
        for v in self.state.vertices() {
            if let Some(bar) = self.bars.get(&v.index) {
                bar.set_prefix(format!("[{}] {}", v.index, v.display_name()));
            }
        }
    }

    /// Stops every spinner (steps still running when the stream ended are abandoned) and
    /// returns the final state.
    pub fn finish(self) -> StatusState {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildkit::status::{LogChunk, LogStream, VertexUpdate};
    use std::time::UNIX_EPOCH;

    fn at(ms: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_millis(ms))
    }

    fn updates() -> Vec<StatusUpdate> {
        let v = |digest: &str, name: &str| VertexUpdate { digest: digest.into(), name: name.into(), ..Default::default() };
        vec![
            StatusUpdate { vertices: vec![v("a", "base image"), v("b", "install deps")], ..Default::default() },
            StatusUpdate {
                vertices: vec![VertexUpdate { cached: true, started: at(1000), completed: at(1000), ..v("a", "base image") }],
                ..Default::default()
            },
            StatusUpdate { vertices: vec![VertexUpdate { started: at(2000), ..v("b", "install deps") }], ..Default::default() },
            StatusUpdate {
                logs: vec![LogChunk { vertex: "b".into(), stream: LogStream::Stdout, timestamp: at(2512), data: b"Collecting torch\npartial".to_vec() }],
                ..Default::default()
            },
            StatusUpdate {
                vertices: vec![VertexUpdate { started: at(2000), completed: at(3250), ..v("b", "install deps") }],
                ..Default::default()
            },
        ]
    }

    #[test]
    fn plain_mode_prints_one_line_per_event() {
        let mut out = Vec::new();
        let mut r = PlainRenderer::new(&mut out);
        for u in updates() {
            r.handle(&u);
        }
        let state = r.into_state();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "#1 base image\n#1 CACHED\n\n#2 install deps\n#2 0.512 Collecting torch\n#2 1.250 partial\n#2 DONE 1.2s\n\n"
        );
        assert_eq!(state.summary().cached, 1);
    }

    #[test]
    fn plain_mode_reports_errors() {
        let mut out = Vec::new();
        let mut r = PlainRenderer::new(&mut out);
        r.handle(&StatusUpdate {
            vertices: vec![VertexUpdate {
                digest: "x".into(),
                name: "run tests".into(),
                started: at(0),
                completed: at(10),
                error: Some("exit code: 1".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "#1 run tests\n#1 ERROR: exit code: 1\n\n");
    }

    #[test]
    fn tty_mode_tracks_state_without_a_terminal() {
        let mut r = TtyRenderer::new(ProgressDrawTarget::hidden());
        for u in updates() {
            r.handle(&u);
        }
        assert_eq!(r.bars.len(), 2);
        assert!(r.bars.values().all(ProgressBar::is_finished));
        let state = r.finish();
        assert_eq!(state.vertex("b").unwrap().log_tail.len(), 2);
    }

    #[test]
    fn auto_resolves_to_a_concrete_mode() {
        assert_ne!(ProgressMode::Auto.resolve(), ProgressMode::Auto);
        assert_eq!(ProgressMode::Quiet.resolve(), ProgressMode::Quiet);
    }
}
