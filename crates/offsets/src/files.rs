//! File naming, directory listing, segment creation and snapshot files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::change::{Change, Intent};
use crate::codec::{self, Cursor, SNAP_HEADER_LEN, SNAP_MAGIC, SNAP_VERSION, SNAP_VERSION_V1};
use crate::error::OffsetError;
use crate::table::Table;

pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("log-{seq:020}.wal"))
}

pub(crate) fn snapshot_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("snapshot-{base:020}.snap"))
}

/// What the store directory holds.
#[derive(Default, Debug)]
pub(crate) struct Listing {
    /// Segment sequence numbers, ascending.
    pub segments: Vec<u64>,
    /// Snapshot base segments, ascending.
    pub snapshots: Vec<u64>,
    /// Leftover temporary files from an interrupted snapshot write.
    pub temps: Vec<PathBuf>,
}

fn parse_num(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let mid = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if mid.len() != 20 || !mid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    mid.parse().ok()
}

pub(crate) fn list(dir: &Path) -> Result<Listing, OffsetError> {
    let mut l = Listing::default();
    let rd = fs::read_dir(dir).map_err(|e| OffsetError::io("read dir", dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| OffsetError::io("read dir", dir, e))?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = parse_num(name, "log-", ".wal") {
            l.segments.push(n);
        } else if let Some(n) = parse_num(name, "snapshot-", ".snap") {
            l.snapshots.push(n);
        } else if name.ends_with(".tmp") {
            l.temps.push(ent.path());
        }
    }
    l.segments.sort_unstable();
    l.snapshots.sort_unstable();
    Ok(l)
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<(), OffsetError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| OffsetError::io("fsync dir", dir, e))
}

/// Creates a new segment holding only its header, durably (file and directory fsynced).
pub(crate) fn create_segment(dir: &Path, seq: u64) -> Result<File, OffsetError> {
    let path = segment_path(dir, seq);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| OffsetError::io("create segment", &path, e))?;
    if let Err(e) = f
        .write_all(&codec::segment_header(seq))
        .and_then(|_| f.sync_all())
    {
        // A full disk: leave no segment with a torn header behind (the store keeps appending to
        // the previous segment, and retries later).
        drop(f);
        let _ = fs::remove_file(&path);
        return Err(OffsetError::io("write segment header", &path, e));
    }
    fsync_dir(dir)?;
    Ok(f)
}

/// Incrementally builds a snapshot file image.
pub(crate) struct SnapshotWriter {
    buf: Vec<u8>,
    entries: u64,
    sections: u64,
}

impl SnapshotWriter {
    pub(crate) fn new(base: u64, counter: u64, timestamp_ms: u64, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(SNAP_HEADER_LEN + 4));
        buf.extend_from_slice(&SNAP_MAGIC);
        buf.extend_from_slice(&SNAP_VERSION.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&base.to_le_bytes());
        buf.extend_from_slice(&counter.to_le_bytes());
        buf.extend_from_slice(&timestamp_ms.to_le_bytes());
        buf.extend_from_slice(&0u64.to_le_bytes()); // entries, patched in finish
        buf.extend_from_slice(&0u64.to_le_bytes()); // sections, patched in finish
        SnapshotWriter {
            buf,
            entries: 0,
            sections: 0,
        }
    }

    pub(crate) fn section(&mut self, group: &str, topic: &str, pairs: &[(i32, i64)]) {
        if pairs.is_empty() {
            return;
        }
        let b = &mut self.buf;
        b.extend_from_slice(&(group.len() as u16).to_le_bytes());
        b.extend_from_slice(group.as_bytes());
        b.extend_from_slice(&(topic.len() as u16).to_le_bytes());
        b.extend_from_slice(topic.as_bytes());
        b.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
        for (q, o) in pairs {
            b.extend_from_slice(&q.to_le_bytes());
            b.extend_from_slice(&o.to_le_bytes());
        }
        self.entries += pairs.len() as u64;
        self.sections += 1;
    }

    /// Appends the change section (version 2) and seals the image:
    /// `next_change_id u64 | intents_len u64 | intents JSON array | history_count u32 |
    /// history_count × (len u32 | change JSON)`.
    pub(crate) fn finish(
        mut self,
        next_change_id: u64,
        intents: &[Intent],
        history: &[Arc<Change>],
    ) -> Result<Vec<u8>, String> {
        let b = &mut self.buf;
        b.extend_from_slice(&next_change_id.to_le_bytes());
        let at = b.len();
        b.extend_from_slice(&0u64.to_le_bytes());
        serde_json::to_writer(&mut *b, intents).map_err(|e| format!("encode intents: {e}"))?;
        let n = (b.len() - at - 8) as u64;
        b[at..at + 8].copy_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&(history.len() as u32).to_le_bytes());
        for c in history {
            let at = b.len();
            b.extend_from_slice(&0u32.to_le_bytes());
            serde_json::to_writer(&mut *b, &**c).map_err(|e| format!("encode change: {e}"))?;
            let n = (b.len() - at - 4) as u32;
            b[at..at + 4].copy_from_slice(&n.to_le_bytes());
        }
        Ok(self.seal())
    }

    fn seal(mut self) -> Vec<u8> {
        self.buf[40..48].copy_from_slice(&self.entries.to_le_bytes());
        self.buf[48..56].copy_from_slice(&self.sections.to_le_bytes());
        let crc = crc32fast::hash(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}

/// Writes a snapshot atomically: temp file, fsync, rename, fsync directory.
pub(crate) fn write_snapshot(dir: &Path, base: u64, image: &[u8]) -> Result<(), OffsetError> {
    let path = snapshot_path(dir, base);
    let tmp = path.with_extension("snap.tmp");
    let mut f = File::create(&tmp).map_err(|e| OffsetError::io("create snapshot", &tmp, e))?;
    if let Err(e) = f.write_all(image).and_then(|_| f.sync_all()) {
        // A full disk: give the space back now rather than at the next start.
        drop(f);
        let _ = fs::remove_file(&tmp);
        return Err(OffsetError::io("write snapshot", &tmp, e));
    }
    drop(f);
    fs::rename(&tmp, &path).map_err(|e| OffsetError::io("rename snapshot", &path, e))?;
    fsync_dir(dir)
}

/// Reads the version-2 change section into `table.changes`.
fn read_changes(c: &mut Cursor<'_>, table: &mut Table) -> Result<(), String> {
    let next_id = c.u64()?;
    let n = c.u64()?;
    let n = usize::try_from(n).map_err(|_| "intents length overflows".to_string())?;
    let intents: Vec<Intent> =
        serde_json::from_slice(c.bytes(n)?).map_err(|e| format!("intents: {e}"))?;
    let count = c.u32()? as usize;
    if count > c.remaining() / 4 {
        return Err(format!("history count {count} exceeds snapshot size"));
    }
    let ch = &mut table.changes;
    for i in intents {
        ch.intents.insert(i.key(), i);
    }
    let mut prev = 0u64;
    for _ in 0..count {
        let len = c.u32()? as usize;
        let change: Change =
            serde_json::from_slice(c.bytes(len)?).map_err(|e| format!("change: {e}"))?;
        if change.id <= prev || change.id >= next_id {
            return Err(format!(
                "history id {} out of order (previous {prev}, next {next_id})",
                change.id
            ));
        }
        prev = change.id;
        ch.history.push_back(Arc::new(change));
    }
    if next_id == 0 || next_id == u64::MAX {
        // u64::MAX would leave no id for the change after the next one.
        return Err(format!("next change id {next_id} is out of range"));
    }
    ch.next_id = next_id;
    Ok(())
}

/// A loaded snapshot.
pub(crate) struct LoadedSnapshot {
    pub table: Table,
    pub base: u64,
}

/// Reads and fully validates a snapshot file.
pub(crate) fn load_snapshot(path: &Path) -> Result<LoadedSnapshot, OffsetError> {
    let data = fs::read(path).map_err(|e| OffsetError::io("read snapshot", path, e))?;
    decode_snapshot(&data).map_err(|(off, why)| OffsetError::corrupt(path, off as u64, why))
}

/// Decodes and fully validates a snapshot image; the error is `(byte offset, reason)`.
pub(crate) fn decode_snapshot(data: &[u8]) -> Result<LoadedSnapshot, (usize, String)> {
    let bad = |off: usize, why: String| (off, why);
    if data.len() < SNAP_HEADER_LEN + 4 {
        return Err(bad(0, format!("snapshot is only {} bytes", data.len())));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    let mut crc_b = [0u8; 4];
    crc_b.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(crc_b) {
        return Err(bad(body.len(), "snapshot CRC mismatch".into()));
    }
    let mut c = Cursor::new(body);
    let hdr = (|| -> Result<_, String> {
        if c.bytes(8)? != SNAP_MAGIC {
            return Err("bad snapshot magic".into());
        }
        let v = c.u32()?;
        if v != SNAP_VERSION && v != SNAP_VERSION_V1 {
            return Err(format!("unsupported snapshot version {v}"));
        }
        let _reserved = c.u32()?;
        Ok((v, c.u64()?, c.u64()?, c.u64()?, c.u64()?, c.u64()?))
    })()
    .map_err(|e| bad(0, e))?;
    let (version, base, counter, ts, entries, sections) = hdr;
    let mut table = Table::default();
    for _ in 0..sections {
        let at = body.len() - c.remaining();
        let s = codec::read_section(&mut c).map_err(|e| bad(at, e))?;
        table.set_section(s.group, s.topic, s.pairs());
    }
    if version >= SNAP_VERSION {
        let at = body.len() - c.remaining();
        read_changes(&mut c, &mut table).map_err(|e| bad(at, e))?;
    }
    if c.remaining() != 0 {
        return Err(bad(body.len() - c.remaining(), "trailing bytes".into()));
    }
    if table.entry_count() as u64 != entries {
        return Err(bad(
            0,
            format!(
                "header says {entries} entries, body holds {}",
                table.entry_count()
            ),
        ));
    }
    table.counter = counter;
    table.timestamp_ms = ts;
    Ok(LoadedSnapshot { table, base })
}
