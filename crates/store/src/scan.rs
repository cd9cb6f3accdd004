//! Recovery, part one: find the segments and the valid end of the commit log.
//!
//! Records are checked from a safe point (a segment start) onward: magic, every length inside
//! totalSize, the body CRC, and that the stored physical offset is where the record sits. The
//! first record that fails ends the log; the rest of its segment is zeroed and later segments
//! are set aside (`*.orphan`) if they hold data, deleted if empty.
//!
//! Everything here runs while the store is being opened, on segments owned by recovery that no
//! writer or reader can reach yet; that is what makes the whole-file reads
//! ([`MappedFile::bytes`](crate::mapped::MappedFile::bytes)) sound.

use std::path::{Path, PathBuf};

use crate::error::{io_err, StoreError};
use crate::mapped::MappedFile;
use crate::record::{self, be_i32, RecordMeta};
use crate::segment::{parse_name, Segment};

/// Opens every segment in `dir`, in order, setting aside any after a gap in the offsets.
///
/// # Errors
/// [`StoreError::Io`] when the directory cannot be listed or a segment cannot be opened,
/// resized or set aside; [`StoreError::Corrupt`] for a file name beyond `i64::MAX`.
pub(crate) fn load_segments(dir: &Path, segment_size: u64) -> Result<Vec<Segment>, StoreError> {
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for ent in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let ent = ent.map_err(io_err(dir))?;
        if let Some(off) = ent.file_name().to_str().and_then(parse_name) {
            found.push((off, ent.path()));
        }
    }
    found.sort();
    let mut segs: Vec<Segment> = Vec::with_capacity(found.len());
    for (i, (off, path)) in found.iter().enumerate() {
        let start = i64::try_from(*off).map_err(|_| corrupt(path, "offset out of range"))?;
        if segs.last().is_some_and(|p| p.end() != start) {
            tracing::error!(path = %path.display(), "gap in commit-log segments; setting aside this and later segments");
            for (_, p) in &found[i..] {
                set_aside(p)?;
            }
            break;
        }
        let len = std::fs::metadata(path).map_err(io_err(path))?.len();
        let (file, _) = MappedFile::open(path, (len == 0).then_some(segment_size))?;
        segs.push(Segment::new(start, file));
    }
    Ok(segs)
}

fn corrupt(path: &Path, reason: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.into(),
        reason: reason.into(),
    }
}

fn set_aside(path: &Path) -> Result<(), StoreError> {
    let mut to = path.as_os_str().to_owned();
    to.push(".orphan");
    std::fs::rename(path, &to).map_err(io_err(path))
}

/// How the scan of one record went.
enum Step<'a> {
    Record(RecordMeta<'a>),
    /// BLANK padding or a too-short tail: the segment is done.
    SegmentEnd,
    /// Zero bytes: the clean end of the log.
    End,
    Invalid(&'static str),
}

/// Checks the record at `rel` in `seg`. Only for recovery (see the module documentation).
#[allow(unsafe_code)]
fn step(seg: &Segment, rel: usize) -> Step<'_> {
    // SAFETY: recovery owns `seg` (a `Segment` from `load_segments`, not yet in a `CommitLog`):
    // no writer exists yet, so nothing writes to the file while the slice lives.
    let whole = unsafe { seg.file.bytes() };
    let rest = whole.get(rel..).unwrap_or_default();
    if rest.len() < record::BLANK_LEN {
        return Step::SegmentEnd;
    }
    if be_i32(rest, 0) == Some(0) && be_i32(rest, 4) == Some(0) {
        return Step::End;
    }
    if record::is_blank(rest) {
        return if be_i32(rest, 0).is_some_and(|t| t as usize == rest.len()) {
            Step::SegmentEnd
        } else {
            Step::Invalid("BLANK marker with a wrong size")
        };
    }
    match record::parse(rest) {
        Err(r) => Step::Invalid(r),
        Ok(m) if m.physical_offset != seg.start + rel as i64 => {
            Step::Invalid("physical offset does not match position")
        }
        Ok(m) if !record::crc_ok(&m) => Step::Invalid("body CRC mismatch"),
        Ok(m) => Step::Record(m),
    }
}

/// Validates from the start of the segment holding `from`; returns the segments (the last one
/// is where the log ends) and the end offset of valid data.
///
/// # Errors
/// [`StoreError::Io`] when a segment past the end cannot be removed or set aside, or the last
/// one cannot be cut back to the end of valid data.
#[allow(unsafe_code)]
pub(crate) fn validate(
    mut segs: Vec<Segment>,
    from: i64,
) -> Result<(Vec<Segment>, i64), StoreError> {
    let first = segs
        .partition_point(|s| s.end() <= from)
        .min(segs.len().saturating_sub(1));
    let mut stop: Option<(usize, usize, Option<&'static str>)> = None;
    let mut end = segs.get(first).map_or(0, |s| s.start);
    'segments: for (i, seg) in segs.iter().enumerate().skip(first) {
        let mut rel = 0usize;
        loop {
            match step(seg, rel) {
                Step::Record(m) => {
                    seg.note_store_time(m.store_timestamp);
                    rel += m.total;
                    end = seg.start + rel as i64;
                }
                Step::SegmentEnd => {
                    end = seg.end();
                    continue 'segments;
                }
                Step::End => {
                    stop = Some((i, rel, None));
                    break 'segments;
                }
                Step::Invalid(reason) => {
                    stop = Some((i, rel, Some(reason)));
                    break 'segments;
                }
            }
        }
    }
    let Some((i, rel, reason)) = stop else {
        return Ok((segs, end));
    };
    if let Some(reason) = reason {
        tracing::error!(offset = end, reason, "commit log invalid from this offset; keeping everything before it and truncating the rest");
    }
    for later in segs.drain(i + 1..) {
        // SAFETY: recovery owns `later` (taken out of `segs`); no writer exists yet.
        let empty = unsafe { later.file.bytes() }
            .iter()
            .take(8)
            .all(|&b| b == 0);
        let path = later.file.path().to_path_buf();
        drop(later);
        if empty {
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        } else {
            tracing::error!(path = %path.display(), "commit-log segment after the end of the valid log; set aside");
            set_aside(&path)?;
        }
    }
    if let Some(seg) = segs.pop() {
        let start = seg.start;
        let ts = seg.last_store_ts.load(std::sync::atomic::Ordering::Relaxed);
        let cut = Segment::new(start, seg.file.cut(rel as u64)?);
        cut.note_store_time(ts);
        segs.push(cut);
    }
    Ok((segs, end))
}

/// The record at commit-log `offset`, structurally checked. Only for recovery, on the
/// segments it owns (see the module documentation); a live store reads records through
/// `CommitLog::with_record`.
#[allow(unsafe_code)]
pub(crate) fn record_at(segs: &[Segment], offset: i64) -> Option<RecordMeta<'_>> {
    let seg = segs.get(segs.partition_point(|s| s.end() <= offset))?;
    let rel = usize::try_from(offset.checked_sub(seg.start)?).ok()?;
    // SAFETY: `segs` are recovery's own segments (not yet in a `CommitLog`), so no writer
    // exists: nothing writes to the file while the returned record borrows it.
    let whole = unsafe { seg.file.bytes() };
    record::parse(whole.get(rel..)?).ok()
}
