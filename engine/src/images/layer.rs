//! Writing a directory tree as a reproducible image layer: entries sorted by name, numeric
//! owners without names, every mtime clamped to SOURCE_DATE_EPOCH, hard links kept.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use sha2::{Digest, Sha256};
use tar::{EntryType, Header};
use walkdir::WalkDir;

use super::ImagesError;

/// The layer written by [`write_layer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// `sha256:<hex>` of the uncompressed tar: the layer's diff ID.
    pub diff_id: String,
    /// Size of the tar in bytes.
    pub size: u64,
    /// Number of entries.
    pub entries: u64,
    /// Entries skipped because a layer cannot hold them (sockets).
    pub skipped: Vec<String>,
}

/// Writes the tree under `root` as an uncompressed tar at `dest`. `progress` is called every
/// few thousand entries with the count so far.
pub fn write_layer(
    root: &Path,
    dest: &Path,
    epoch: i64,
    progress: &mut dyn FnMut(u64),
) -> Result<LayerInfo, ImagesError> {
    let file = File::create(dest).map_err(|source| ImagesError::Io {
        path: dest.to_owned(),
        source,
    })?;
    let hashing = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
        written: 0,
    };
    let mut builder = tar::Builder::new(hashing);
    let clamp = u64::try_from(epoch).unwrap_or(0);

    let mut seen_inodes: HashMap<(u64, u64), std::path::PathBuf> = HashMap::new();
    let mut entries = 0u64;
    let mut skipped = Vec::new();
    let walk = WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|e| ImagesError::walk(root, e))?;
        let path = entry.path();
        let rel = path.strip_prefix(root).expect("walkdir stays under root");
        let io_err = |source| ImagesError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = entry.path().symlink_metadata().map_err(io_err)?;
        let ft = meta.file_type();

        let mut header = Header::new_gnu();
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0).min(clamp));
        header.set_size(0);

        if ft.is_dir() {
            header.set_entry_type(EntryType::Directory);
            builder
                .append_data(&mut header, rel, io::empty())
                .map_err(io_err)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(io_err)?;
            header.set_entry_type(EntryType::Symlink);
            builder
                .append_link(&mut header, rel, target)
                .map_err(io_err)?;
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = seen_inodes.get(&key) {
                    header.set_entry_type(EntryType::Link);
                    builder
                        .append_link(&mut header, rel, first)
                        .map_err(io_err)?;
                    entries += 1;
                    continue;
                }
                seen_inodes.insert(key, rel.to_owned());
            }
            header.set_entry_type(EntryType::Regular);
            header.set_size(meta.len());
            let f = File::open(path).map_err(io_err)?;
            builder.append_data(&mut header, rel, f).map_err(io_err)?;
        } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            header.set_entry_type(if ft.is_fifo() {
                EntryType::Fifo
            } else if ft.is_char_device() {
                EntryType::Char
            } else {
                EntryType::Block
            });
            let rdev = meta.rdev();
            header.set_device_major(libc::major(rdev)).map_err(io_err)?;
            header.set_device_minor(libc::minor(rdev)).map_err(io_err)?;
            builder
                .append_data(&mut header, rel, io::empty())
                .map_err(io_err)?;
        } else {
            skipped.push(rel.display().to_string());
            continue;
        }
        entries += 1;
        if entries % 5000 == 0 {
            progress(entries);
        }
    }
    let hashing = builder.into_inner().map_err(|source| ImagesError::Io {
        path: dest.to_owned(),
        source,
    })?;
    let HashingWriter {
        mut inner,
        hasher,
        written,
    } = hashing;
    inner.flush().map_err(|source| ImagesError::Io {
        path: dest.to_owned(),
        source,
    })?;
    progress(entries);
    Ok(LayerInfo {
        diff_id: format!("sha256:{}", hex::encode(hasher.finalize())),
        size: written,
        entries,
        skipped,
    })
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree(root: &Path) {
        std::fs::create_dir_all(root.join("b/deep")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("b/deep/file"), "content").unwrap();
        std::fs::write(root.join("a/x"), "x").unwrap();
        std::fs::hard_link(root.join("a/x"), root.join("b/x-link")).unwrap();
        symlink("../a/x", root.join("b/sym")).unwrap();
        let long = "n".repeat(150);
        std::fs::write(root.join("a").join(&long), "long").unwrap();
    }

    #[test]
    fn same_tree_gives_the_same_layer_whatever_the_creation_order_and_times() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        tree(d1.path());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        tree(d2.path());
        let out = tempfile::tempdir().unwrap();
        let l1 = write_layer(d1.path(), &out.path().join("1.tar"), 1_000, &mut |_| {}).unwrap();
        let l2 = write_layer(d2.path(), &out.path().join("2.tar"), 1_000, &mut |_| {}).unwrap();
        assert_eq!(l1.diff_id, l2.diff_id);
        assert_eq!(l1.entries, 8);

        let mut ar = tar::Archive::new(File::open(out.path().join("1.tar")).unwrap());
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let e = e.unwrap();
            assert_eq!(e.header().mtime().unwrap(), 1_000);
            assert_eq!(e.header().username().unwrap(), Some(""));
            seen.push((
                e.path().unwrap().display().to_string(),
                e.header().entry_type(),
            ));
        }
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "entries are sorted");
        assert!(seen.contains(&("b/x-link".into(), EntryType::Link)));
        assert!(seen.contains(&("b/sym".into(), EntryType::Symlink)));
    }
}
