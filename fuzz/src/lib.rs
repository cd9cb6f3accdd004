//! Helpers shared by the fuzz targets in `fuzz_targets/` and the seed generator
//! (`examples/make_seeds.rs`): the typed header accessors the broker calls on a decoded command,
//! and the byte layouts of the targets that need a directory on disk (the store and the offset
//! store only open whole directories), with the fix-ups that let the fuzzer get past CRCs.
//!
//! Nothing here asserts: a target only decodes, so a crash is always the decoder's.

use std::path::{Path, PathBuf};

use ferromq_protocol::RemotingCommand;

/// `extFields` keys the broker, name server and clients read, with the accessor they use.
pub const STR_KEYS: &[&str] = &[
    "topic",
    "consumerGroup",
    "producerGroup",
    "group",
    "brokerName",
    "brokerAddr",
    "clusterName",
    "clientID",
    "properties",
    "subscription",
    "expressionType",
    "defaultTopic",
    "msgId",
    "originMsgId",
    "key",
    "srcGroup",
    "destGroup",
    "namespace",
    "value",
    "transactionId",
];

/// Integer keys (read with `req_i32`/`opt_i32`).
pub const I32_KEYS: &[&str] = &[
    "queueId",
    "maxMsgNums",
    "sysFlag",
    "flag",
    "reconsumeTimes",
    "maxReconsumeTimes",
    "defaultTopicQueueNums",
    "readQueueNums",
    "writeQueueNums",
    "perm",
    "topicSysFlag",
    "delayLevel",
    "commitLogOffset",
    "bodyCrc32",
    "brokerId",
];

/// Long keys (read with `req_i64`/`opt_i64`).
pub const I64_KEYS: &[&str] = &[
    "queueOffset",
    "commitOffset",
    "offset",
    "bornTimestamp",
    "suspendTimeoutMillis",
    "subVersion",
    "timestamp",
    "beginTimestamp",
    "endTimestamp",
    "tranStateTableOffset",
    "commitLogOffset",
    "bodyCrc32",
    "timeoutMillis",
    "maxOffset",
];

/// Boolean keys (read with `opt_bool`).
pub const BOOL_KEYS: &[&str] = &[
    "unitMode",
    "batch",
    "isForce",
    "compressed",
    "fromTransactionCheck",
    "isUnitMode",
    "commitOrRollback",
    "enableActingMaster",
    "oneway",
];

/// Everything the handlers do with a decoded command before they touch a body: the typed
/// accessors (which must turn any value into a value or a `HeaderError`, never a panic), the
/// error response they build from a `HeaderError`, and re-encoding (responses echo requests).
pub fn exercise_command(cmd: &RemotingCommand) {
    let _ = (cmd.is_response(), cmd.is_oneway(), cmd.language.name());
    for k in STR_KEYS {
        if let Err(e) = cmd.req_str(k) {
            let _ = ferromq_protocol::Refusal::from(e).to_response();
        }
    }
    for k in I32_KEYS {
        let _ = cmd.opt_i32(k);
        if let Err(e) = cmd.req_i32(k) {
            let _ = ferromq_protocol::Refusal::from(e).to_response();
        }
    }
    for k in I64_KEYS {
        let _ = cmd.opt_i64(k);
        if let Err(e) = cmd.req_i64(k) {
            let _ = ferromq_protocol::Refusal::from(e).to_response();
        }
    }
    for k in BOOL_KEYS {
        if let Err(e) = cmd.opt_bool(k) {
            let _ = ferromq_protocol::Refusal::from(e).to_response();
        }
    }
    // Keys the fuzzer chose: the raw accessor and the parsers behind the typed ones.
    for (k, v) in &cmd.ext_fields {
        let _ = cmd.ext(k);
        let _ = ferromq_protocol::command::parse_long(v);
        let _ = ferromq_protocol::command::parse_bool(v);
    }
    if let Some(p) = cmd.ext("properties") {
        let _ = ferromq_protocol::message::parse_properties(p);
    }
    for name in ["topic", "consumerGroup", "group"] {
        if let Some(n) = cmd.ext(name) {
            let _ = ferromq_protocol::names::validate_topic(n);
            let _ = ferromq_protocol::names::validate_group(n);
        }
    }
    let answer = RemotingCommand::success().answer(cmd);
    let _ = ferromq_protocol::frame::encode_frame(&answer);
    let _ = ferromq_protocol::frame::encode_frame(cmd);
}

/// A message as the broker's send path builds it, with fixed hosts and birth time: the record
/// the seeds, the store target and the gRPC target encode.
pub fn new_message(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    props: &str,
) -> ferromq_protocol::message::NewMessage {
    ferromq_protocol::message::NewMessage {
        topic: topic.into(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:5555".parse().expect("literal address"),
        store_host: "10.0.0.1:10911".parse().expect("literal address"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: bytes::Bytes::copy_from_slice(body),
        properties: props.into(),
    }
}

/// Where targets that need files make their temporary directories: `$FERROMQ_FUZZ_TMP`, else
/// `/dev/shm` (memory, so fsync is free), else the system temp dir.
pub fn scratch_root() -> PathBuf {
    if let Some(p) = std::env::var_os("FERROMQ_FUZZ_TMP") {
        return PathBuf::from(p);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A fresh temporary directory under [`scratch_root`], removed on drop.
pub fn scratch_dir() -> Option<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("ferromq-fuzz-")
        .tempdir_in(scratch_root())
        .ok()
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Splits off a `u16` big-endian length and that many bytes (fewer if the input ends).
pub fn take_u16_prefixed(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (&[], data);
    }
    let n = (u16::from_be_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    data[2..].split_at(n)
}

// ------------------------------------------------------------------ message store

/// Commit-log segment size used by the `consume_queue` target (the store's minimum).
pub const STORE_SEGMENT: usize = 4096;
/// Consume-queue entries per file used by the `consume_queue` target.
pub const STORE_CQ_EPF: u64 = 8;
/// The topic and queue whose consume-queue files the `consume_queue` target writes.
pub const STORE_TOPIC: &str = "T";

/// Input layout of the `consume_queue` target in directory mode (`flags & 3 != 0`).
///
/// `flags:u8 | cqLen:u16be | cq bytes | [checkpoint: 28 bytes if CHECKPOINT] | commit log`.
/// The commit log is cut into segments of [`STORE_SEGMENT`] bytes (at most [`MAX_SEGMENTS`]).
pub mod store_flags {
    /// Fix every record's body CRC and physical offset before writing (gets past the CRC).
    pub const FIX_RECORDS: u8 = 0x04;
    /// A checkpoint file follows the consume-queue bytes (its CRC is fixed with FIX_RECORDS).
    pub const CHECKPOINT: u8 = 0x08;
    /// Leave the `abort` marker, as a crash does.
    pub const UNCLEAN: u8 = 0x10;
    /// Pad every segment with zeros to the full segment size.
    pub const PAD: u8 = 0x20;
}

/// Most commit-log segments the `consume_queue` target writes.
pub const MAX_SEGMENTS: usize = 3;

/// Recomputes the body CRC and physical offset of each record from the start of `seg` (a
/// segment starting at commit-log offset `start`), walking record by record while the headers
/// look like records. Lets the fuzzer reach the consume-queue repair logic behind the CRC check.
pub fn fix_records(seg: &mut [u8], start: i64) {
    use ferromq_protocol::codes::sys_flag;
    use ferromq_protocol::message::{pos, MAGIC_V1, MAGIC_V2};
    let mut at = 0usize;
    while let (Some(total), Some(magic)) = (be_i32(seg, at), be_i32(seg, at + 4)) {
        if total < 60 || (magic != MAGIC_V1 && magic != MAGIC_V2) {
            return;
        }
        let total = total as usize;
        let Some(rec) = seg.get_mut(at..at + total) else {
            return;
        };
        let Some(flags) = be_i32(rec, pos::SYS_FLAG) else {
            return;
        };
        let born = if flags & sys_flag::BORNHOST_V6 != 0 {
            20
        } else {
            8
        };
        let store = if flags & sys_flag::STOREHOST_V6 != 0 {
            20
        } else {
            8
        };
        let body_len_at = pos::BORN_HOST + born + 8 + store + 4 + 8;
        if let Some(len) = be_i32(rec, body_len_at).and_then(|l| usize::try_from(l).ok()) {
            if let Some(body) = rec.get(body_len_at + 4..body_len_at + 4 + len) {
                let crc = (crc32fast::hash(body) & 0x7FFF_FFFF) as i32;
                rec[pos::BODY_CRC..pos::BODY_CRC + 4].copy_from_slice(&crc.to_be_bytes());
            }
        }
        let phys = start + at as i64;
        rec[pos::PHYSICAL_OFFSET..pos::PHYSICAL_OFFSET + 8].copy_from_slice(&phys.to_be_bytes());
        at += total;
    }
}

/// Builds a valid 28-byte checkpoint image.
pub fn checkpoint_bytes(log_flushed: i64, dispatched: i64) -> [u8; 28] {
    let mut b = [0u8; 28];
    b[..8].copy_from_slice(b"FMQCKPT1");
    b[8..16].copy_from_slice(&log_flushed.to_be_bytes());
    b[16..24].copy_from_slice(&dispatched.to_be_bytes());
    let crc = crc32fast::hash(&b[..24]);
    b[24..].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Lays out a store directory under `root` from a `consume_queue` input (see [`store_flags`]).
pub fn write_store_dir(root: &Path, data: &[u8]) -> std::io::Result<()> {
    let Some((&flags, rest)) = data.split_first() else {
        return Ok(());
    };
    let (cq, rest) = take_u16_prefixed(rest);
    let (ckpt, log) = if flags & store_flags::CHECKPOINT != 0 {
        rest.split_at(rest.len().min(28))
    } else {
        (&[][..], rest)
    };
    let log_dir = root.join("commitlog");
    std::fs::create_dir_all(&log_dir)?;
    for (i, chunk) in log.chunks(STORE_SEGMENT).take(MAX_SEGMENTS).enumerate() {
        let start = i * STORE_SEGMENT;
        let mut seg = chunk.to_vec();
        if flags & store_flags::PAD != 0 {
            seg.resize(STORE_SEGMENT, 0);
        }
        if flags & store_flags::FIX_RECORDS != 0 {
            fix_records(&mut seg, start as i64);
        }
        std::fs::write(log_dir.join(format!("{start:020}")), seg)?;
    }
    let cq_dir = root.join("consumequeue").join(STORE_TOPIC).join("0");
    std::fs::create_dir_all(&cq_dir)?;
    let file_bytes = (STORE_CQ_EPF * 20) as usize;
    for (i, chunk) in cq.chunks(file_bytes).enumerate() {
        std::fs::write(cq_dir.join(format!("{:020}", i * file_bytes)), chunk)?;
    }
    if !ckpt.is_empty() {
        let mut c = ckpt.to_vec();
        if flags & store_flags::FIX_RECORDS != 0 && c.len() == 28 {
            let crc = crc32fast::hash(&c[..24]);
            c[24..].copy_from_slice(&crc.to_be_bytes());
        }
        std::fs::write(root.join("checkpoint"), c)?;
    }
    if flags & store_flags::UNCLEAN != 0 {
        std::fs::write(root.join("abort"), b"")?;
    }
    Ok(())
}

// ------------------------------------------------------------------ offset store

/// Input flags of the `offset_log` target (`flags & 3` is the mode).
pub mod offsets_flags {
    /// Mode: replay a whole log segment image in memory.
    pub const MODE_LOG: u8 = 0;
    /// Mode: one framed record.
    pub const MODE_RECORD: u8 = 1;
    /// Mode: a snapshot image in memory.
    pub const MODE_SNAPSHOT: u8 = 2;
    /// Mode: `snapLen:u16be | snapshot | log segment` written to a directory and opened with
    /// `OffsetStore::open`.
    pub const MODE_DIR: u8 = 3;
    /// Recompute frame and snapshot CRCs (gets past the CRC checks).
    pub const FIX_CRC: u8 = 0x04;
    /// Overwrite the first 16 bytes of a log segment with a valid header for segment 1.
    pub const FIX_HEADER: u8 = 0x08;
}

/// Recomputes the CRC of each frame of a log image from `at`, walking frame by frame.
pub fn fix_frames(buf: &mut [u8], mut at: usize) {
    while let Some(len) = buf.get(at..at + 4) {
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
        let Some(end) = at.checked_add(8).and_then(|b| b.checked_add(len)) else {
            return;
        };
        if len == 0 || end > buf.len() {
            return;
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&buf[at..at + 4]);
        h.update(&buf[at + 8..end]);
        let crc = h.finalize();
        buf[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        at = end;
    }
}

/// Recomputes the trailing CRC of a snapshot image.
pub fn fix_snapshot(buf: &mut [u8]) {
    if buf.len() >= 4 {
        let n = buf.len() - 4;
        let crc = crc32fast::hash(&buf[..n]);
        buf[n..].copy_from_slice(&crc.to_le_bytes());
    }
}

/// The header of log segment `seq`.
pub fn segment_header(seq: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..6].copy_from_slice(b"FMQOFL");
    h[6..8].copy_from_slice(&1u16.to_le_bytes());
    h[8..].copy_from_slice(&seq.to_le_bytes());
    h
}

/// Applies the `offset_log` fix-ups to a log segment image.
pub fn fix_log_segment(seg: &mut [u8], flags: u8) {
    if flags & offsets_flags::FIX_HEADER != 0 && seg.len() >= 16 {
        seg[..16].copy_from_slice(&segment_header(1));
    }
    if flags & offsets_flags::FIX_CRC != 0 {
        fix_frames(seg, 16);
    }
}

/// Lays out an offset-store directory under `dir` from an `offset_log` input in directory mode.
pub fn write_offsets_dir(dir: &Path, flags: u8, data: &[u8]) -> std::io::Result<()> {
    let (snap, log) = take_u16_prefixed(data);
    if !snap.is_empty() {
        let mut s = snap.to_vec();
        if flags & offsets_flags::FIX_CRC != 0 {
            fix_snapshot(&mut s);
        }
        std::fs::write(dir.join(format!("snapshot-{:020}.snap", 1)), s)?;
    }
    let mut l = log.to_vec();
    fix_log_segment(&mut l, flags);
    std::fs::write(dir.join(format!("log-{:020}.wal", 1)), l)
}

// ------------------------------------------------------------------ mirror state

/// Frames a mirror state payload with a valid header (`ferromq-mirror-state 1 <crc> <len>`).
pub fn frame_mirror_state(payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "ferromq-mirror-state 1 {:08x} {}\n",
        crc32fast::hash(payload),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}
