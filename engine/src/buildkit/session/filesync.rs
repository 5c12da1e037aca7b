//! `moby.filesync.v1.FileSync/DiffCopy`: the engine pulls a named local source.
//!
//! We are the fsutil *sender*: one STAT per entry (IDs are STAT positions), an empty STAT to end
//! the list, DATA for every REQ the receiver sends (32 KiB chunks, then an empty DATA), and FIN
//! in answer to the receiver's FIN. Reading requests runs concurrently with sending stats, so
//! HTTP/2 flow control cannot deadlock the exchange.
//!
//! Speed on many small files: requested files are read by one blocking thread with plain
//! `std::fs` calls (open, read, close: no hand-off to another thread per call, which is what
//! `tokio::fs` does), and packets reach the gRPC encoder in batches — 512 STATs, or the DATA
//! of every request already waiting (up to 1 MiB) — so there is one channel hand-off per
//! batch, not per packet.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use bollard_buildkit_proto::fsutil::types::{packet::PacketType, Packet};
use bollard_buildkit_proto::moby::filesync::v1::file_sync_server::FileSync;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::buildkit::local::{self, Content, Entry, Filter, LocalSource};

/// Bytes per DATA packet (what Go's fsutil uses).
const CHUNK: usize = 32 * 1024;

/// Batches of packets queued for the gRPC encoder.
const BATCH_QUEUE: usize = 16;
/// Packets per batch of STATs.
const STATS_PER_BATCH: usize = 512;
/// A batch of DATA is sent once it holds this many bytes (or no request is waiting).
const BATCH_BYTES: usize = 1024 * 1024;

/// Packets travel to the encoder in batches: one channel hand-off per batch, not per packet.
type Batch = Vec<Result<Packet, Status>>;
type BatchSender = mpsc::Sender<Batch>;

/// Serves named local sources.
pub(crate) struct FileSyncService {
    pub sources: Arc<BTreeMap<String, LocalSource>>,
}

type PacketStream = Pin<Box<dyn Stream<Item = Result<Packet, Status>> + Send>>;

/// Reads a (possibly repeated, possibly query-escaped) metadata value list.
fn meta_values(md: &tonic::metadata::MetadataMap, key: &str) -> Vec<String> {
    let encoded = md.get(format!("{key}-encoded").as_str()).is_some();
    md.get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| if encoded { query_unescape(v) } else { v.to_owned() })
        .collect()
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
fn query_unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn packet(kind: PacketType) -> Packet {
    Packet { r#type: kind as i32, ..Default::default() }
}

#[tonic::async_trait]
impl FileSync for FileSyncService {
    type DiffCopyStream = PacketStream;
    type TarStreamStream = PacketStream;

    async fn diff_copy(&self, request: Request<Streaming<Packet>>) -> Result<Response<PacketStream>, Status> {
        let md = request.metadata();
        let name = meta_values(md, "dir-name").into_iter().next().unwrap_or_default();
        let source = self.sources.get(&name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.sources.keys().map(String::as_str).collect();
            Status::not_found(format!(
                "no local source named `{name}` in this session (it serves: {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })?;
        // Our sources carry their own patterns (`LocalSource::filtered`); patterns in the
        // request (from a definition that has them) narrow what is sent further.
        let mut includes = meta_values(md, "include-patterns");
        let excludes = meta_values(md, "exclude-patterns");
        let follow = meta_values(md, "followpaths");
        if !includes.is_empty() {
            includes.extend(follow_targets(&source, &follow));
        }
        let requested = Filter::new(&includes, &excludes)
            .map_err(|e| Status::invalid_argument(format!("local source `{name}`: {e}")))?;
        let walk_source = source.clone();
        // Dropping this request (the build was cancelled) stops the walk.
        let cancel = CancelOnDrop::default();
        let cancelled = cancel.0.clone();
        let entries = tokio::task::spawn_blocking(move || local::collect(&walk_source, requested, &cancelled))
            .await
            .map_err(|e| Status::internal(format!("walking local source `{name}`: {e}")))?
            .map_err(|e| Status::failed_precondition(format!("local source `{name}`: {e}")))?;
        drop(cancel);

        let (tx, rx) = mpsc::channel::<Batch>(BATCH_QUEUE);
        let inbound = request.into_inner();
        tokio::spawn(run_sender(Arc::new(entries), inbound, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx).flat_map(futures::stream::iter))))
    }

    async fn tar_stream(&self, _request: Request<Streaming<Packet>>) -> Result<Response<PacketStream>, Status> {
        Err(Status::unimplemented("TarStream is not supported; use DiffCopy"))
    }
}

/// Sets its flag when dropped.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Symlinks named in `followpaths` are sent together with their targets.
fn follow_targets(source: &LocalSource, follow: &[String]) -> Vec<String> {
    let mut out = follow.to_vec();
    if let Some(root) = source.dir_path() {
        for f in follow {
            let rel = crate::dockerignore::clean_path(f);
            if let Ok(target) = std::fs::read_link(root.join(&rel)) {
                let base = std::path::Path::new(&rel).parent().unwrap_or(std::path::Path::new(""));
                let joined = base.join(target);
                if let Some(t) = joined.to_str() {
                    let t = crate::dockerignore::clean_path(t.trim_start_matches('/'));
                    if !t.starts_with("..") {
                        out.push(t);
                    }
                }
            }
        }
    }
    out
}

/// Runs one DiffCopy exchange until the receiver's FIN (or an error).
async fn run_sender<S>(entries: Arc<Vec<Entry>>, mut inbound: S, tx: BatchSender)
where
    S: Stream<Item = Result<Packet, Status>> + Unpin,
{
    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<u32>();

    let stats = {
        let tx = tx.clone();
        let entries = entries.clone();
        async move {
            for chunk in entries.chunks(STATS_PER_BATCH) {
                let batch: Batch = chunk
                    .iter()
                    .map(|e| Ok(Packet { r#type: PacketType::PacketStat as i32, stat: Some(e.stat.clone()), ..Default::default() }))
                    .collect();
                if tx.send(batch).await.is_err() {
                    return Err("receiver went away while stats were sent".to_owned());
                }
            }
            tx.send(vec![Ok(packet(PacketType::PacketStat))])
                .await
                .map_err(|_| "receiver went away before the end of stats".to_owned())
        }
    };

    // Requested files are read on one blocking thread, in the order they are asked for; the
    // requests already waiting are answered in one batch.
    let data = {
        let tx = tx.clone();
        let entries = entries.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let gone = || "receiver went away during a file transfer".to_owned();
            let mut batch = Batch::new();
            let mut bytes = 0usize;
            while let Some(id) = req_rx.blocking_recv() {
                let mut next = Some(id);
                while let Some(id) = next {
                    send_file(&entries[id as usize], id, &mut |p: Packet| {
                        bytes += p.data.len();
                        batch.push(Ok(p));
                        if bytes >= BATCH_BYTES {
                            bytes = 0;
                            tx.blocking_send(std::mem::take(&mut batch)).map_err(|_| gone())?;
                        }
                        Ok(())
                    })?;
                    next = req_rx.try_recv().ok();
                }
                if !batch.is_empty() {
                    bytes = 0;
                    tx.blocking_send(std::mem::take(&mut batch)).map_err(|_| gone())?;
                }
            }
            Ok::<(), String>(())
        });
        async move { reader.await.map_err(|e| format!("reading requested files: {e}"))? }
    };

    let recv = {
        let entries = entries.clone();
        async move {
            loop {
                let msg = inbound.next().await.transpose().map_err(|s| format!("receiving from the engine: {}", s.message()))?;
                let Some(p) = msg else {
                    return Err("the engine closed the stream before FIN".to_owned());
                };
                match PacketType::try_from(p.r#type) {
                    Ok(PacketType::PacketReq) => {
                        let ok = entries.get(p.id as usize).is_some_and(Entry::has_data);
                        if !ok {
                            return Err(format!("the engine requested unknown file id {}", p.id));
                        }
                        let _ = req_tx.send(p.id);
                    }
                    Ok(PacketType::PacketFin) => {
                        drop(req_tx);
                        return Ok(());
                    }
                    Ok(PacketType::PacketErr) => {
                        return Err(format!("error from receiver: {}", String::from_utf8_lossy(&p.data)));
                    }
                    other => return Err(format!("unexpected packet from receiver: {other:?}")),
                }
            }
        }
    };

    let (s, d, r) = tokio::join!(stats, data, recv);
    match s.and(r).and(d) {
        Ok(()) => {
            let _ = tx.send(vec![Ok(packet(PacketType::PacketFin))]).await;
        }
        Err(msg) => {
            let err = Packet { r#type: PacketType::PacketErr as i32, data: msg.clone().into_bytes(), ..Default::default() };
            let _ = tx.send(vec![Ok(err), Err(Status::aborted(msg))]).await;
        }
    }
}

/// One file's DATA packets, read with plain blocking calls, handed to `emit` in order.
fn send_file(entry: &Entry, id: u32, emit: &mut dyn FnMut(Packet) -> Result<(), String>) -> Result<(), String> {
    use std::io::Read;
    let data_packet = |data: Vec<u8>| Packet { r#type: PacketType::PacketData as i32, id, data, ..Default::default() };
    match &entry.content {
        Content::None => return Err(format!("file id {id} has no content")),
        Content::Memory(bytes) => {
            for chunk in bytes.chunks(CHUNK) {
                emit(data_packet(chunk.to_vec()))?;
            }
        }
        Content::Disk(path) => {
            let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            // Small files (most of a source tree) take one read into a buffer of their size
            // (known from the stat); one more read sees the end.
            let size = usize::try_from(entry.stat.size).unwrap_or(CHUNK).clamp(1, CHUNK);
            loop {
                let mut buf = vec![0u8; size];
                let n = f.read(&mut buf).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                emit(data_packet(buf))?;
            }
        }
    }
    emit(data_packet(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildkit::local::MemTree;

    fn req(id: u32) -> Result<Packet, Status> {
        Ok(Packet { r#type: PacketType::PacketReq as i32, id, ..Default::default() })
    }

    async fn exchange(tree: MemTree, inbound: Vec<Result<Packet, Status>>) -> Vec<Result<Packet, Status>> {
        let entries = local::collect(&LocalSource::memory(tree), Filter::default(), &AtomicBool::new(false)).unwrap();
        let (tx, mut rx) = mpsc::channel(2);
        let task = tokio::spawn(run_sender(Arc::new(entries), futures::stream::iter(inbound), tx));
        let mut out = Vec::new();
        while let Some(batch) = rx.recv().await {
            out.extend(batch);
        }
        task.await.unwrap();
        out
    }

    #[tokio::test]
    async fn sends_stats_then_requested_data_then_fin() {
        let big = vec![7u8; CHUNK + 10];
        let tree = MemTree::new().with_file("d/big.bin", big.clone(), 0o644).unwrap().with_file("e.txt", "", 0o600).unwrap();
        // IDs: 0 = d, 1 = d/big.bin, 2 = e.txt
        let fin = Ok(packet(PacketType::PacketFin));
        let out = exchange(tree, vec![req(1), req(2), fin]).await;
        let out: Vec<Packet> = out.into_iter().map(Result::unwrap).collect();
        let kinds: Vec<i32> = out.iter().map(|p| p.r#type).collect();
        let stats: Vec<&Packet> = out.iter().filter(|p| p.r#type == PacketType::PacketStat as i32).collect();
        assert_eq!(stats.len(), 4, "three entries and the end-of-stats marker");
        assert_eq!(stats[0].stat.as_ref().unwrap().path, "d");
        assert_eq!(stats[1].stat.as_ref().unwrap().path, "d/big.bin");
        assert!(stats[3].stat.is_none());
        let data_1: Vec<&Packet> = out.iter().filter(|p| p.r#type == PacketType::PacketData as i32 && p.id == 1).collect();
        assert_eq!(data_1.iter().map(|p| p.data.len()).collect::<Vec<_>>(), vec![CHUNK, 10, 0], "chunks, then an empty EOF");
        let data_2: Vec<&Packet> = out.iter().filter(|p| p.r#type == PacketType::PacketData as i32 && p.id == 2).collect();
        assert_eq!(data_2.len(), 1, "an empty file is only its EOF");
        assert_eq!(*kinds.last().unwrap(), PacketType::PacketFin as i32);
    }

    #[tokio::test]
    async fn bad_requests_abort_with_an_error_packet() {
        let tree = MemTree::new().with_file("d/f", "x", 0o644).unwrap();
        // ID 0 is the directory `d`, which has no data.
        let out = exchange(tree, vec![req(0)]).await;
        let err = out.iter().find_map(|p| p.as_ref().ok().filter(|p| p.r#type == PacketType::PacketErr as i32).cloned());
        assert!(String::from_utf8_lossy(&err.unwrap().data).contains("unknown file id 0"));
        assert!(out.last().unwrap().is_err());
    }

    /// The sender alone on many small files on disk: every file requested, as the engine
    /// does on a cold build. `COGPACK_SENDER_BENCH_DIR=<dir with many files> cargo test --lib
    /// sender_throughput -- --ignored --nocapture`
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement, run by hand"]
    async fn sender_throughput_on_many_small_files() {
        let dir = std::env::var("COGPACK_SENDER_BENCH_DIR").expect("COGPACK_SENDER_BENCH_DIR");
        let started = std::time::Instant::now();
        let entries = local::collect(&LocalSource::dir(&dir), Filter::default(), &AtomicBool::new(false)).unwrap();
        let walked = started.elapsed();
        let mut inbound: Vec<Result<Packet, Status>> =
            (0..entries.len() as u32).filter(|i| entries[*i as usize].has_data()).map(req).collect();
        let files = inbound.len();
        inbound.push(Ok(packet(PacketType::PacketFin)));
        let (tx, mut rx) = mpsc::channel(BATCH_QUEUE);
        let task = tokio::spawn(run_sender(Arc::new(entries), futures::stream::iter(inbound), tx));
        let mut packets = 0usize;
        while let Some(batch) = rx.recv().await {
            packets += batch.len();
        }
        task.await.unwrap();
        eprintln!("{files} files: walk {walked:?}, all packets ({packets}) {:?}", started.elapsed());
    }

    #[test]
    fn unescapes_query_encoded_metadata() {
        assert_eq!(query_unescape("caf%C3%A9+bar"), "café bar");
        assert_eq!(query_unescape("100%"), "100%");
        assert_eq!(query_unescape("%zz"), "%zz");
    }
}
