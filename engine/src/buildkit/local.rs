//! Local sources the session serves to the engine (`local://NAME` in LLB): a directory on disk
//! or an in-memory file tree, walked into the ordered list of fsutil `Stat`s that FileSync sends.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard_buildkit_proto::fsutil::types::Stat;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::dockerignore::{IncludeMatch, IncludeMatcher, PatternError, PatternMatcher};

/// Go `os.FileMode` bits used by fsutil on the wire.
pub(crate) mod mode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const FIFO: u32 = 1 << 25;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const STICKY: u32 = 1 << 20;
    pub const PERM: u32 = 0o777;
}

/// The modification time in-memory trees use unless told otherwise (2000-01-01T00:00:00Z), so
/// identical trees produce identical file metadata across runs.
pub const DEFAULT_MEMORY_MTIME_NS: i64 = 946_684_800 * 1_000_000_000;

/// A named local source served over FileSync: a tree and the patterns that filter it.
///
/// The patterns travel with the source, not with the engine's request: the daemon would send
/// them back to us in gRPC headers, whose size is limited (16 KiB), so `lower` puts no
/// patterns in the LLB and registers each filtered view of a context as its own source.
#[derive(Clone)]
pub struct LocalSource {
    pub(crate) tree: SourceTree,
    pub(crate) filter: Arc<Filter>,
    /// The patterns as given, for the session's shared key and for debugging.
    patterns: (Vec<String>, Vec<String>),
}

/// What a [`LocalSource`] holds.
#[derive(Clone)]
pub(crate) enum SourceTree {
    /// A directory on disk, walked when the engine asks for it.
    Dir(PathBuf),
    /// Files held in memory.
    Memory(Arc<MemTree>),
}

impl LocalSource {
    /// A directory on disk, sent whole.
    pub fn dir(path: impl Into<PathBuf>) -> Self {
        LocalSource { tree: SourceTree::Dir(path.into()), filter: Arc::default(), patterns: Default::default() }
    }

    /// An in-memory tree, sent whole.
    pub fn memory(tree: MemTree) -> Self {
        LocalSource { tree: SourceTree::Memory(Arc::new(tree)), filter: Arc::default(), patterns: Default::default() }
    }

    /// Only what `include` names (everything when empty), without what `exclude` (with `!`
    /// exceptions, `.dockerignore` syntax) excludes.
    pub fn filtered<S: AsRef<str>>(mut self, include: &[S], exclude: &[S]) -> Result<Self, PatternError> {
        self.filter = Arc::new(Filter::new(include, exclude)?);
        let own = |v: &[S]| v.iter().map(|s| s.as_ref().to_owned()).collect::<Vec<_>>();
        self.patterns = (own(include), own(exclude));
        Ok(self)
    }

    /// The directory, for a source on disk.
    pub fn dir_path(&self) -> Option<&Path> {
        match &self.tree {
            SourceTree::Dir(p) => Some(p),
            SourceTree::Memory(_) => None,
        }
    }

    /// The include and exclude patterns of the source.
    pub fn patterns(&self) -> (&[String], &[String]) {
        (&self.patterns.0, &self.patterns.1)
    }
}

impl fmt::Debug for LocalSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("LocalSource");
        match &self.tree {
            SourceTree::Dir(p) => d.field("dir", p),
            SourceTree::Memory(t) => d.field("memory_files", &t.files.len()),
        };
        d.field("include", &self.patterns.0).field("exclude", &self.patterns.1).finish()
    }
}

/// An in-memory file tree: paths to contents and permission bits. Parent directories are
/// implied (mode 0755).
///
/// Times are deterministic: directories report the tree's base mtime, and each file the base
/// plus a sub-second offset derived from its content hash. The offset matters: the engine keeps
/// the previous transfer of a source and requests only files whose size, mode or mtime
/// changed, so a file rewritten with the same size and a constant mtime would silently keep
/// its old content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemTree {
    files: BTreeMap<String, MemFile>,
    mtime_ns: i64,
}

/// One file of a [`MemTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemFile {
    pub data: bytes::Bytes,
    /// Permission bits (e.g. `0o644`, `0o755`).
    pub mode: u32,
}

/// A path that cannot be part of a [`MemTree`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("in-memory file `{path}`: {reason}")]
pub struct MemTreeError {
    pub path: String,
    pub reason: &'static str,
}

impl Default for MemTree {
    fn default() -> Self {
        MemTree { files: BTreeMap::new(), mtime_ns: DEFAULT_MEMORY_MTIME_NS }
    }
}

impl MemTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the base modification time (Unix nanoseconds, whole seconds recommended); see the
    /// type's documentation for how file times derive from it.
    pub fn with_mtime_ns(mut self, mtime_ns: i64) -> Self {
        self.mtime_ns = mtime_ns;
        self
    }

    /// Adds a file. The path is relative (`a/b.txt`); `.` and empty segments are dropped,
    /// `..` and absolute paths are refused, and a path may not be both a file and a directory.
    pub fn insert(
        &mut self,
        path: &str,
        data: impl Into<bytes::Bytes>,
        mode: u32,
    ) -> Result<&mut Self, MemTreeError> {
        let err = |reason| MemTreeError { path: path.to_owned(), reason };
        if path.starts_with('/') {
            return Err(err("must be relative"));
        }
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
        if segs.is_empty() {
            return Err(err("is empty"));
        }
        if segs.contains(&"..") {
            return Err(err("must not contain `..`"));
        }
        let clean = segs.join("/");
        for i in 1..segs.len() {
            if self.files.contains_key(&segs[..i].join("/")) {
                return Err(err("a parent directory is already a file"));
            }
        }
        let below = format!("{clean}/");
        if self.files.range(below.clone()..).next().is_some_and(|(k, _)| k.starts_with(&below)) {
            return Err(err("is already a directory"));
        }
        self.files.insert(clean, MemFile { data: data.into(), mode: mode & 0o7777 });
        Ok(self)
    }

    /// Builder form of [`MemTree::insert`].
    pub fn with_file(
        mut self,
        path: &str,
        data: impl Into<bytes::Bytes>,
        mode: u32,
    ) -> Result<Self, MemTreeError> {
        self.insert(path, data, mode)?;
        Ok(self)
    }

    /// The files, by clean relative path.
    pub fn files(&self) -> &BTreeMap<String, MemFile> {
        &self.files
    }
}

/// Which parts of a source are sent: every layer must let a path through (the source's own
/// patterns, then any the engine's request carries).
#[derive(Debug, Default)]
pub(crate) struct Filter {
    layers: Vec<FilterLayer>,
}

#[derive(Debug)]
struct FilterLayer {
    includes: IncludeMatcher,
    excludes: PatternMatcher,
}

impl Filter {
    /// One layer of include and exclude patterns.
    pub fn new<S: AsRef<str>>(include: &[S], exclude: &[S]) -> Result<Filter, PatternError> {
        let layer = FilterLayer { includes: IncludeMatcher::new(include)?, excludes: PatternMatcher::new(exclude)? };
        let empty = layer.includes.is_empty() && layer.excludes.is_empty();
        Ok(Filter { layers: if empty { Vec::new() } else { vec![layer] } })
    }

    /// This filter and then `other`.
    pub fn and(&self, other: Filter) -> Filter {
        let mut layers: Vec<FilterLayer> = self
            .layers
            .iter()
            .map(|l| FilterLayer { includes: l.includes.clone(), excludes: l.excludes.clone() })
            .collect();
        layers.extend(other.layers);
        Filter { layers }
    }

    fn has_includes(&self) -> bool {
        self.layers.iter().any(|l| !l.includes.is_empty())
    }

    /// The narrowest answer of the layers' include patterns.
    fn classify(&self, path: &str) -> IncludeMatch {
        let mut out = IncludeMatch::Full;
        for l in self.layers.iter().filter(|l| !l.includes.is_empty()) {
            match l.includes.classify(path) {
                IncludeMatch::No => return IncludeMatch::No,
                IncludeMatch::Parent => out = IncludeMatch::Parent,
                IncludeMatch::Full => {}
            }
        }
        out
    }

    fn excluded(&self, path: &str) -> bool {
        self.layers.iter().any(|l| l.excludes.matches(path))
    }

    /// Whether an excluded directory must still be walked (an exception may re-include
    /// something below it in every layer that excludes it).
    fn may_include_below(&self, dir: &str) -> bool {
        self.layers.iter().filter(|l| l.excludes.matches(dir)).all(|l| l.excludes.may_include_below(dir))
    }
}

/// Where an entry's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    None,
    Disk(PathBuf),
    Memory(bytes::Bytes),
}

/// One entry to send: its stat (path relative to the source root) and its content.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub stat: Stat,
    pub content: Content,
}

impl Entry {
    /// Whether the receiver may request data for this entry.
    pub fn has_data(&self) -> bool {
        !matches!(self.content, Content::None)
    }
}

/// A node seen while walking, before filtering.
struct Node {
    name: String,
    is_dir: bool,
    stat: Stat,
    content: Content,
    /// (device, inode) for regular files with more than one link.
    link_key: Option<(u64, u64)>,
}

/// How often (in entries) a walk checks whether it was cancelled.
const CANCEL_CHECK_EVERY: usize = 256;

/// Walks a source into sorted, filtered entries (depth-first, names in byte order, parents
/// before children, parents of included entries always present). Directories a filter
/// excludes are not entered unless an exception may re-include something below them. The
/// walk stops with an error soon after `cancelled` becomes true.
pub(crate) fn collect(source: &LocalSource, extra: Filter, cancelled: &AtomicBool) -> Result<Vec<Entry>, String> {
    let filter = source.filter.and(extra);
    let mut out = Vec::new();
    let mut walk = Walk { filter: &filter, cancelled, seen: 0, pending: Vec::new(), out: &mut out };
    match &source.tree {
        SourceTree::Dir(root) => {
            let md = std::fs::metadata(root).map_err(|e| format!("cannot open {}: {e}", root.display()))?;
            if !md.is_dir() {
                return Err(format!("{} is not a directory", root.display()));
            }
            let tree = DiskTree { root: root.clone() };
            walk.dir(&tree, "")?;
        }
        SourceTree::Memory(mem) => {
            let tree = MemIndex::new(mem);
            walk.dir(&tree, "")?;
        }
    }
    Ok(resolve_hardlinks(&mut out))
}

trait Tree {
    /// Children of the directory at relative path `rel` ("" for the root), sorted by name bytes.
    fn children(&self, rel: &str) -> Result<Vec<Node>, String>;
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() { name.to_owned() } else { format!("{rel}/{name}") }
}

struct Walk<'a> {
    filter: &'a Filter,
    cancelled: &'a AtomicBool,
    seen: usize,
    /// Excluded (or include-parent) directories, sent only if something below them is.
    pending: Vec<Entry>,
    out: &'a mut Vec<(Entry, Option<(u64, u64)>)>,
}

impl Walk<'_> {
    fn dir(&mut self, tree: &dyn Tree, rel: &str) -> Result<(), String> {
        let filter = self.filter;
        for node in tree.children(rel)? {
            self.seen += 1;
            if self.seen % CANCEL_CHECK_EVERY == 0 && self.cancelled.load(Ordering::Relaxed) {
                return Err("cancelled".to_owned());
            }
            let path = join(rel, &node.name);
            let class = if filter.has_includes() { filter.classify(&path) } else { IncludeMatch::Full };
            match class {
                IncludeMatch::No => continue,
                // Only directories can lead to what an include names.
                IncludeMatch::Parent if !node.is_dir => continue,
                _ => {}
            }
            let excluded = filter.excluded(&path);
            if excluded && !(node.is_dir && filter.may_include_below(&path)) {
                continue;
            }
            let mut stat = node.stat;
            stat.path = path.clone();
            let entry = Entry { stat, content: node.content };
            if node.is_dir {
                let depth = self.pending.len();
                if excluded || class == IncludeMatch::Parent {
                    self.pending.push(entry);
                } else {
                    self.out.extend(self.pending.drain(..).map(|e| (e, None)));
                    self.out.push((entry, None));
                }
                self.dir(tree, &path)?;
                self.pending.truncate(depth);
            } else {
                self.out.extend(self.pending.drain(..).map(|e| (e, None)));
                self.out.push((entry, node.link_key));
            }
        }
        Ok(())
    }
}

/// The first occurrence of a multiply-linked file is sent whole; later ones as hardlinks to it.
fn resolve_hardlinks(entries: &mut Vec<(Entry, Option<(u64, u64)>)>) -> Vec<Entry> {
    let mut first: HashMap<(u64, u64), String> = HashMap::new();
    for (entry, key) in entries.iter_mut() {
        let Some(key) = key else { continue };
        match first.get(key) {
            Some(target) => {
                entry.stat.linkname = target.clone();
                entry.stat.size = 0;
                entry.content = Content::None;
            }
            None => {
                first.insert(*key, entry.stat.path.clone());
            }
        }
    }
    std::mem::take(entries).into_iter().map(|(e, _)| e).collect()
}

struct DiskTree {
    root: PathBuf,
}

impl Tree for DiskTree {
    fn children(&self, rel: &str) -> Result<Vec<Node>, String> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};

        let dir = if rel.is_empty() { self.root.clone() } else { self.root.join(rel) };
        let rd = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut nodes = Vec::new();
        for item in rd {
            let item = item.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let abs = item.path();
            let name = item
                .file_name()
                .into_string()
                .map_err(|n| format!("file name is not UTF-8: {}", Path::new(&n).display()))?;
            let md = std::fs::symlink_metadata(&abs).map_err(|e| format!("cannot stat {}: {e}", abs.display()))?;
            let ft = md.file_type();
            if ft.is_socket() {
                continue;
            }
            let raw = md.mode();
            let mut m = raw & mode::PERM;
            if raw & 0o4000 != 0 {
                m |= mode::SETUID;
            }
            if raw & 0o2000 != 0 {
                m |= mode::SETGID;
            }
            if raw & 0o1000 != 0 {
                m |= mode::STICKY;
            }
            let mut stat = Stat {
                mode: 0,
                mod_time: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
                ..Default::default()
            };
            let mut content = Content::None;
            let mut link_key = None;
            if ft.is_dir() {
                m |= mode::DIR;
            } else if ft.is_symlink() {
                m |= mode::SYMLINK;
                let target = std::fs::read_link(&abs).map_err(|e| format!("cannot read link {}: {e}", abs.display()))?;
                stat.linkname = target
                    .into_os_string()
                    .into_string()
                    .map_err(|_| format!("symlink target of {} is not UTF-8", abs.display()))?;
            } else if ft.is_block_device() || ft.is_char_device() {
                m |= mode::DEVICE;
                if ft.is_char_device() {
                    m |= mode::CHAR_DEVICE;
                }
                let rdev = md.rdev();
                stat.devmajor = ((rdev >> 8) & 0xfff | (rdev >> 32) & !0xfff) as i64;
                stat.devminor = (rdev & 0xff | (rdev >> 12) & !0xff) as i64;
            } else if ft.is_fifo() {
                m |= mode::FIFO;
            } else {
                stat.size = md.len() as i64;
                content = Content::Disk(abs.clone());
                if md.nlink() > 1 {
                    link_key = Some((md.dev(), md.ino()));
                }
            }
            stat.mode = m;
            nodes.push(Node { name, is_dir: ft.is_dir(), stat, content, link_key });
        }
        nodes.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(nodes)
    }
}

/// A sub-second offset (0..1e9 ns) that changes when the content changes.
fn content_offset_ns(data: &[u8]) -> i64 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(data);
    let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    (n % 1_000_000_000) as i64
}

struct MemIndex {
    /// Directory path -> children (name, file or None for a directory).
    dirs: BTreeMap<String, BTreeMap<String, Option<MemFile>>>,
    mtime_ns: i64,
}

impl MemIndex {
    fn new(tree: &MemTree) -> Self {
        let mut dirs: BTreeMap<String, BTreeMap<String, Option<MemFile>>> = BTreeMap::new();
        dirs.entry(String::new()).or_default();
        for (path, file) in &tree.files {
            let segs: Vec<&str> = path.split('/').collect();
            for i in 0..segs.len() {
                let parent = segs[..i].join("/");
                let child = if i + 1 == segs.len() { Some(file.clone()) } else { None };
                dirs.entry(parent).or_default().entry(segs[i].to_owned()).or_insert(child);
            }
        }
        MemIndex { dirs, mtime_ns: tree.mtime_ns }
    }
}

impl Tree for MemIndex {
    fn children(&self, rel: &str) -> Result<Vec<Node>, String> {
        let Some(kids) = self.dirs.get(rel) else { return Ok(Vec::new()) };
        let mut nodes: Vec<Node> = kids
            .iter()
            .map(|(name, file)| match file {
                None => Node {
                    name: name.clone(),
                    is_dir: true,
                    stat: Stat { mode: mode::DIR | 0o755, mod_time: self.mtime_ns, ..Default::default() },
                    content: Content::None,
                    link_key: None,
                },
                Some(f) => {
                    let mut m = f.mode & mode::PERM;
                    if f.mode & 0o4000 != 0 {
                        m |= mode::SETUID;
                    }
                    if f.mode & 0o2000 != 0 {
                        m |= mode::SETGID;
                    }
                    if f.mode & 0o1000 != 0 {
                        m |= mode::STICKY;
                    }
                    Node {
                        name: name.clone(),
                        is_dir: false,
                        stat: Stat {
                            mode: m,
                            size: f.data.len() as i64,
                            mod_time: self.mtime_ns + content_offset_ns(&f.data),
                            ..Default::default()
                        },
                        content: Content::Memory(f.data.clone()),
                        link_key: None,
                    }
                }
            })
            .collect();
        nodes.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.stat.path.as_str()).collect()
    }

    fn filter(includes: &[&str], excludes: &[&str]) -> Filter {
        Filter::new(includes, excludes).unwrap()
    }

    fn collect(source: &LocalSource, extra: Filter) -> Result<Vec<Entry>, String> {
        super::collect(source, extra, &AtomicBool::new(false))
    }

    fn sample() -> MemTree {
        MemTree::new()
            .with_file("b.txt", "b", 0o644).unwrap()
            .with_file("a/z.txt", "z", 0o644).unwrap()
            .with_file("a-c", "x", 0o755).unwrap()
            .with_file("a/sub/deep.py", "print()", 0o600).unwrap()
            .with_file("secret.txt", "no", 0o600).unwrap()
    }

    #[test]
    fn memory_trees_walk_in_fsutil_order_with_implied_dirs() {
        let entries = collect(&LocalSource::memory(sample()), Filter::default()).unwrap();
        // `/` sorts below every other byte: "a/…" comes before "a-c".
        assert_eq!(paths(&entries), vec!["a", "a/sub", "a/sub/deep.py", "a/z.txt", "a-c", "b.txt", "secret.txt"]);
        let a = &entries[0];
        assert_eq!(a.stat.mode, mode::DIR | 0o755);
        assert_eq!(a.stat.mod_time, DEFAULT_MEMORY_MTIME_NS);
        let ac = &entries[4];
        assert_eq!(ac.stat.mode, 0o755);
        assert_eq!(ac.stat.size, 1);
        // Same size, different content: the mtime differs, deterministically.
        let again = collect(&LocalSource::memory(sample()), Filter::default()).unwrap();
        assert_eq!(again[4].stat.mod_time, ac.stat.mod_time);
        let changed = sample().with_file("a-c", "y", 0o755).unwrap();
        let changed = collect(&LocalSource::memory(changed), Filter::default()).unwrap();
        assert_ne!(changed[4].stat.mod_time, ac.stat.mod_time);
        assert!((ac.stat.mod_time - DEFAULT_MEMORY_MTIME_NS) < 1_000_000_000);
        assert!(ac.has_data() && !a.has_data());
    }

    #[test]
    fn excludes_and_exceptions_keep_needed_parents_only() {
        let entries = collect(&LocalSource::memory(sample()), filter(&[], &["secret.txt", "a", "!a/sub/deep.py"])).unwrap();
        assert_eq!(paths(&entries), vec!["a", "a/sub", "a/sub/deep.py", "a-c", "b.txt"]);
        let entries = collect(&LocalSource::memory(sample()), filter(&[], &["a", "!a/nothing"])).unwrap();
        assert_eq!(paths(&entries), vec!["a-c", "b.txt", "secret.txt"], "an excluded dir with no included child is not sent");
    }

    #[test]
    fn includes_send_parents_and_whole_subtrees() {
        let entries = collect(&LocalSource::memory(sample()), filter(&["a/sub"], &[])).unwrap();
        assert_eq!(paths(&entries), vec!["a", "a/sub", "a/sub/deep.py"]);
        let entries = collect(&LocalSource::memory(sample()), filter(&["*.txt"], &["secret.txt"])).unwrap();
        assert_eq!(paths(&entries), vec!["b.txt"]);
    }

    #[test]
    fn a_source_carries_its_own_patterns_and_request_patterns_narrow_them() {
        let src = LocalSource::memory(sample()).filtered(&[] as &[&str], &["secret.txt", "a"]).unwrap();
        assert_eq!(paths(&collect(&src, Filter::default()).unwrap()), vec!["a-c", "b.txt"]);
        assert_eq!(paths(&collect(&src, filter(&["b.txt"], &[])).unwrap()), vec!["b.txt"]);
        assert!(LocalSource::dir("/x").filtered(&[] as &[&str], &["[z-a]"]).is_err());
    }

    #[test]
    fn a_cancelled_walk_stops() {
        let mut tree = MemTree::new();
        for i in 0..2000 {
            tree.insert(&format!("d/f{i}"), "", 0o644).unwrap();
        }
        let err = super::collect(&LocalSource::memory(tree), Filter::default(), &AtomicBool::new(true)).unwrap_err();
        assert_eq!(err, "cancelled");
    }

    #[test]
    fn memtree_rejects_bad_paths() {
        let mut t = MemTree::new();
        assert!(t.insert("/abs", "", 0o644).is_err());
        assert!(t.insert("../x", "", 0o644).is_err());
        assert!(t.insert("", "", 0o644).is_err());
        t.insert("./d//f", "", 0o644).unwrap();
        assert!(t.files().contains_key("d/f"));
        assert!(t.insert("d", "", 0o644).is_err(), "d is a directory");
        assert!(t.insert("d/f/g", "", 0o644).is_err(), "d/f is a file");
    }

    #[test]
    fn directories_on_disk_are_walked_with_go_modes_and_hardlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/pkg")).unwrap();
        std::fs::write(root.join("src/pkg/mod.py"), "x = 1\n").unwrap();
        std::fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::hard_link(root.join("run.sh"), root.join("z-link.sh")).unwrap();
        std::os::unix::fs::symlink("run.sh", root.join("link")).unwrap();
        let entries = collect(&LocalSource::dir(root), Filter::default()).unwrap();
        assert_eq!(paths(&entries), vec!["link", "run.sh", "src", "src/pkg", "src/pkg/mod.py", "z-link.sh"]);
        let by = |p: &str| entries.iter().find(|e| e.stat.path == p).unwrap();
        assert_eq!(by("link").stat.mode, mode::SYMLINK | 0o777);
        assert_eq!(by("link").stat.linkname, "run.sh");
        assert_eq!(by("run.sh").stat.mode, 0o755);
        assert_eq!(by("run.sh").stat.size, 10);
        assert_eq!(by("src").stat.mode & mode::DIR, mode::DIR);
        assert_eq!(by("z-link.sh").stat.linkname, "run.sh", "second link of the same inode is a hardlink");
        assert!(!by("z-link.sh").has_data());
        assert!(by("run.sh").stat.mod_time > 1_500_000_000 * 1_000_000_000);
        assert!(collect(&LocalSource::dir(root.join("missing")), Filter::default()).is_err());
    }
}
