//! The offset store's decoders of on-disk bytes, callable on plain byte slices (for the fuzz
//! targets in `fuzz/` and for tools). Recovery runs the same code on the files. Not a stable
//! API.

use crate::codec::{self, FrameError, SEG_HEADER_LEN};
use crate::recovery::apply;
use crate::table::Table;

/// What replaying one log segment image produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReplay {
    /// Sequence number in the segment header.
    pub seq: u64,
    /// Records applied.
    pub records: u64,
    /// End of the last whole record (where recovery would truncate a torn tail).
    pub end: usize,
    /// Why replay stopped before the end of the image, if it did.
    pub torn: Option<String>,
    /// Offsets in the table afterwards.
    pub entries: usize,
}

/// Replays a log segment image (header, then records) into an empty table, as recovery does.
///
/// # Errors
/// A bad header, or an intact record this version cannot apply (recovery fails on those).
pub fn log_segment(data: &[u8]) -> Result<LogReplay, String> {
    let hl = SEG_HEADER_LEN as usize;
    let header = data.get(..hl).ok_or("segment header is torn")?;
    let seq = codec::parse_segment_header(header)?;
    let mut table = Table::default();
    let mut pos = hl;
    let mut records = 0;
    let mut torn = None;
    while pos < data.len() {
        match codec::read_frame(&data[pos..]) {
            Ok((rec, n)) => {
                apply(&mut table, rec);
                records += 1;
                pos += n;
            }
            Err(FrameError::Unsupported(why)) => return Err(why),
            Err(FrameError::Torn(why)) => {
                torn = Some(why);
                break;
            }
        }
    }
    // Read the table back the way the store's queries do.
    let _ = table.all();
    let _ = crate::rocketmq::to_json(&table);
    Ok(LogReplay {
        seq,
        records,
        end: pos,
        torn,
        entries: table.entry_count(),
    })
}

/// Decodes one framed log record at the front of `data`; returns the frame's length.
///
/// # Errors
/// A torn, corrupt or unsupported record.
pub fn log_record(data: &[u8]) -> Result<usize, String> {
    match codec::read_frame(data) {
        Ok((rec, n)) => {
            apply(&mut Table::default(), rec);
            Ok(n)
        }
        Err(FrameError::Torn(why) | FrameError::Unsupported(why)) => Err(why),
    }
}

/// Decodes and validates a snapshot image; returns `(base segment, offsets, intents)`.
///
/// # Errors
/// `(byte offset, reason)` for an invalid snapshot.
pub fn snapshot(data: &[u8]) -> Result<(u64, usize, usize), (usize, String)> {
    let s = crate::files::decode_snapshot(data)?;
    let _ = crate::rocketmq::to_json(&s.table);
    Ok((s.base, s.table.entry_count(), s.table.changes.intents.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::SnapshotWriter;

    /// The `offset_log` fuzz input (record mode, CRC fixed) that overflowed the next change id.
    fn change_record_with_max_id() -> Vec<u8> {
        let json = br#"{"id":18446744073709551615,"timeMs":0,"actor":"","operation":"","scope":"","entries":[],"intentsSet":[],"intentsCleared":[],"undoOf":null}"#;
        let mut body = vec![0x05];
        body.extend_from_slice(&1u64.to_le_bytes());
        body.extend_from_slice(json);
        let mut rec = (body.len() as u32).to_le_bytes().to_vec();
        let mut h = crc32fast::Hasher::new();
        h.update(&rec);
        h.update(&body);
        rec.extend_from_slice(&h.finalize().to_le_bytes());
        rec.extend_from_slice(&body);
        rec
    }

    #[test]
    fn change_id_max_is_an_error_not_an_overflow() {
        let rec = change_record_with_max_id();
        let why = log_record(&rec).unwrap_err();
        assert!(why.contains("out-of-range id"), "{why}");
        let mut seg = codec::segment_header(1).to_vec();
        seg.extend_from_slice(&rec);
        assert!(log_segment(&seg).unwrap_err().contains("out-of-range id"));
    }

    #[test]
    fn snapshot_next_change_id_max_is_refused() {
        for (next, ok) in [(u64::MAX, false), (0, false), (u64::MAX - 1, true)] {
            let image = SnapshotWriter::new(1, 0, 0, 0)
                .finish(next, &[], &[])
                .unwrap();
            match snapshot(&image) {
                Ok(_) => assert!(ok, "next id {next} accepted"),
                Err((_, why)) => assert!(!ok && why.contains("out of range"), "{next}: {why}"),
            }
        }
    }
}
