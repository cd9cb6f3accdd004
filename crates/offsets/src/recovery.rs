//! Opening a store directory: pick the newest valid snapshot, replay the log after it, truncate
//! a torn tail.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use tracing::{info, warn};

use crate::codec::{self, FrameError, Record, SEG_HEADER_LEN};
use crate::error::OffsetError;
use crate::files::{self, segment_path, snapshot_path};
use crate::table::Table;

/// The state recovered from disk and the segment to append to.
pub(crate) struct Recovered {
    pub table: Table,
    pub file: File,
    pub seq: u64,
    pub pos: u64,
    /// Size of the snapshot the table was loaded from (0 if none).
    pub snapshot_bytes: u64,
    pub records_replayed: u64,
    pub truncated_bytes: u64,
}

/// Applies a decoded record to the table. Returns whether it changed state (counts for the
/// data version).
pub(crate) fn apply(table: &mut Table, rec: Record<'_>) -> bool {
    let ts = match rec {
        Record::Commit { ts_ms, sections } => {
            for s in sections {
                table.set_section(s.group, s.topic, s.pairs());
            }
            ts_ms
        }
        Record::DeleteGroup { ts_ms, group } => {
            table.delete_group(group);
            ts_ms
        }
        Record::DeleteTopic { ts_ms, topic } => {
            table.delete_topic(topic);
            ts_ms
        }
        Record::DeleteGroupTopic {
            ts_ms,
            group,
            topic,
        } => {
            table.delete_group_topic(group, topic);
            ts_ms
        }
        Record::Change { ts_ms, change } => {
            table.apply_change(std::sync::Arc::from(change));
            ts_ms
        }
        Record::Skipped => return false,
    };
    table.counter += 1;
    table.timestamp_ms = ts;
    true
}

pub(crate) fn recover(dir: &Path, history_limit: usize) -> Result<Recovered, OffsetError> {
    fs::create_dir_all(dir).map_err(|e| OffsetError::io("create dir", dir, e))?;
    let listing = files::list(dir)?;
    for t in &listing.temps {
        warn!(path = %t.display(), "removing leftover temporary file");
        fs::remove_file(t).map_err(|e| OffsetError::io("remove temp file", t, e))?;
    }

    // 1. Newest valid snapshot; a corrupt one is set aside and the previous one tried.
    let mut loaded = None;
    let mut corrupt_snapshots = 0;
    for &base in listing.snapshots.iter().rev() {
        let path = snapshot_path(dir, base);
        match files::load_snapshot(&path) {
            Ok(s) => {
                let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                loaded = Some((s, size));
                break;
            }
            Err(e) => {
                corrupt_snapshots += 1;
                let aside = path.with_extension("snap.corrupt");
                warn!(error = %e, moved_to = %aside.display(), "corrupt offset snapshot, trying the previous one");
                fs::rename(&path, &aside)
                    .map_err(|e| OffsetError::io("set aside corrupt snapshot", &path, e))?;
            }
        }
    }
    if loaded.is_none() && corrupt_snapshots > 0 && listing.segments.first() != Some(&1) {
        return Err(OffsetError::corrupt(
            dir,
            0,
            format!("{corrupt_snapshots} corrupt snapshot(s) (set aside as *.snap.corrupt) and the log no longer starts at segment 1"),
        ));
    }
    let (mut table, base, snapshot_bytes) = match loaded {
        Some((s, size)) => (s.table, s.base, size),
        None => (Table::default(), 1, 0),
    };
    table.changes.set_limit(history_limit);

    // 2. The segments to replay must run without gaps from `base`.
    let segs: Vec<u64> = listing
        .segments
        .iter()
        .copied()
        .filter(|&s| s >= base)
        .collect();
    if let Some(&first) = segs.first() {
        if first != base {
            let why = if corrupt_snapshots > 0 {
                format!("{corrupt_snapshots} corrupt snapshot(s) and no usable fallback: log segment {base} is gone (first is {first})")
            } else {
                format!("log segment {base} is missing (first is {first})")
            };
            return Err(OffsetError::corrupt(segment_path(dir, base), 0, why));
        }
        for w in segs.windows(2) {
            if w[1] != w[0] + 1 {
                return Err(OffsetError::corrupt(
                    segment_path(dir, w[0] + 1),
                    0,
                    "log segment missing",
                ));
            }
        }
    }

    // 3. Replay.
    let mut replayed = 0u64;
    let mut truncated = 0u64;
    let mut end = None;
    for (i, &seq) in segs.iter().enumerate() {
        // A segment may hold a torn tail only if every later segment is still empty (a crash
        // during rotation); elsewhere corruption means acknowledged data would be lost.
        let tail_ok = segs[i + 1..].iter().all(|&s| {
            fs::metadata(segment_path(dir, s))
                .map(|m| m.len() <= SEG_HEADER_LEN)
                .unwrap_or(false)
        });
        let r = replay_segment(dir, seq, tail_ok, &mut table)?;
        replayed += r.records;
        truncated += r.truncated;
        end = Some((seq, r.end));
    }

    let (seq, file, pos) = match end {
        Some((seq, pos)) => {
            let path = segment_path(dir, seq);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| OffsetError::io("open segment", &path, e))?;
            (seq, f, pos)
        }
        None => (base, files::create_segment(dir, base)?, SEG_HEADER_LEN),
    };
    info!(
        dir = %dir.display(),
        entries = table.entry_count(),
        snapshot_base = base,
        records_replayed = replayed,
        truncated_bytes = truncated,
        "offset store recovered"
    );
    Ok(Recovered {
        table,
        file,
        seq,
        pos,
        snapshot_bytes,
        records_replayed: replayed,
        truncated_bytes: truncated,
    })
}

struct SegmentReplay {
    records: u64,
    end: u64,
    truncated: u64,
}

fn replay_segment(
    dir: &Path,
    seq: u64,
    tail_ok: bool,
    table: &mut Table,
) -> Result<SegmentReplay, OffsetError> {
    let path = segment_path(dir, seq);
    let data = fs::read(&path).map_err(|e| OffsetError::io("read segment", &path, e))?;
    let hl = SEG_HEADER_LEN as usize;
    if data.len() < hl {
        if !tail_ok {
            return Err(OffsetError::corrupt(&path, 0, "segment header is torn"));
        }
        // Created but its header never reached the disk: rewrite it.
        warn!(path = %path.display(), "rewriting torn segment header");
        files::create_segment(dir, seq)?;
        return Ok(SegmentReplay {
            records: 0,
            end: SEG_HEADER_LEN,
            truncated: data.len() as u64,
        });
    }
    match codec::parse_segment_header(&data[..hl]) {
        Ok(s) if s == seq => {}
        Ok(s) => {
            return Err(OffsetError::corrupt(
                &path,
                0,
                format!("header names segment {s}"),
            ))
        }
        Err(e) => return Err(OffsetError::corrupt(&path, 0, e)),
    }
    let mut pos = hl;
    let mut records = 0;
    while pos < data.len() {
        match codec::read_frame(&data[pos..]) {
            Ok((rec, n)) => {
                apply(table, rec);
                records += 1;
                pos += n;
            }
            Err(FrameError::Unsupported(why)) => {
                return Err(OffsetError::corrupt(&path, pos as u64, why));
            }
            Err(FrameError::Torn(why)) => {
                if !tail_ok {
                    return Err(OffsetError::corrupt(
                        &path,
                        pos as u64,
                        format!("{why} inside a sealed segment"),
                    ));
                }
                truncate_tail(&path, &data, pos, &why)?;
                return Ok(SegmentReplay {
                    records,
                    end: pos as u64,
                    truncated: (data.len() - pos) as u64,
                });
            }
        }
    }
    Ok(SegmentReplay {
        records,
        end: pos as u64,
        truncated: 0,
    })
}

/// Cuts a torn or corrupt tail off the active segment. Non-zero dropped bytes are kept beside it
/// (`<segment>.torn-<offset>`) for inspection: nothing is discarded silently.
fn truncate_tail(path: &Path, data: &[u8], pos: usize, why: &str) -> Result<(), OffsetError> {
    let tail = &data[pos..];
    let mut kept = None;
    if tail.iter().any(|&b| b != 0) {
        let side = path.with_extension(format!("wal.torn-{pos}"));
        fs::write(&side, tail).map_err(|e| OffsetError::io("save torn tail", &side, e))?;
        kept = Some(side);
    }
    warn!(
        path = %path.display(),
        offset = pos,
        dropped_bytes = tail.len(),
        reason = why,
        saved_to = ?kept,
        "truncating torn/corrupt tail of the offset log"
    );
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| OffsetError::io("open segment", path, e))?;
    f.set_len(pos as u64)
        .and_then(|_| f.sync_all())
        .map_err(|e| OffsetError::io("truncate segment", path, e))
}
