//! The mirror's durable state directory.
//!
//! The offset maps are the only record of where copied messages landed on the target; losing or
//! misreading them would translate group offsets wrongly without any visible error. So:
//! - one mirror at a time owns a directory (an exclusive lock on `LOCK`, held for the life of
//!   [`StateDir`]), because two mirrors writing the same target queues would make both maps
//!   wrong;
//! - `state.json` carries a header with a version, the payload's CRC32 and length, and is
//!   replaced atomically (temp file, fsync, rename, fsync directory), so a crash leaves either the
//!   old or the new state, never a torn one;
//! - a state file that fails any check stops the mirror ([`StateError::Corrupt`]) instead of
//!   being ignored: starting over silently would re-copy or lose messages.
//!
//! Side files (`status.json`, `failover.json`) are plain JSON written atomically with
//! [`StateDir::write_json`] and read without the lock with [`StateDir::read_json`], so
//! `ferromq mirror status` works while the mirror runs.

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::map::QueueMap;

/// Name of the state file inside the directory.
pub const STATE_FILE: &str = "state.json";
/// Name of the lock file inside the directory.
pub const LOCK_FILE: &str = "LOCK";
/// First word of the state file's header line.
const MAGIC: &str = "ferromq-mirror-state";
/// The only state file version this build reads and writes.
const VERSION: u32 = 1;
/// A header line is short; a longer first line means the file is not a state file.
const MAX_HEADER_LEN: usize = 128;

/// A queue on the SOURCE cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueKey {
    pub topic: String,
    pub broker: String,
    pub queue_id: i32,
}

/// A consumer group's view of one source queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupQueueKey {
    pub group: String,
    pub queue: QueueKey,
}

/// What the mirror knows about one source queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// The target broker the queue is mirrored to (same queue id).
    pub target_broker: String,
    /// Where copied messages landed.
    pub map: QueueMap,
    /// Why mirroring of this queue is stopped, if it is.
    pub error: Option<String>,
    /// Source messages that are copies of target messages (their origin is the target, as
    /// after a failover when mirroring back): where the originals are on the target. They are
    /// not copied again, but offsets pointing at them translate exactly.
    #[serde(default)]
    pub aliases: QueueMap,
}

impl QueueState {
    /// A queue not copied yet.
    pub fn new(target_broker: &str) -> Self {
        Self {
            target_broker: target_broker.to_string(),
            map: QueueMap::default(),
            error: None,
            aliases: QueueMap::default(),
        }
    }

    /// The target offset for a group whose next message on the source is at `src`: through
    /// the aliases up to their end, through the copy map after.
    pub fn translate(&self, src: i64) -> Option<crate::map::Translation> {
        match self.aliases.src_next() {
            Some(end) if src <= end => self
                .aliases
                .translate(src)
                .or_else(|| self.map.translate(src)),
            _ => self.map.translate(src),
        }
    }
}

/// The last offset sync of a group queue: the source offset seen and the target offset written.
/// Kept so that a restarted mirror does not rewrite offsets that did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub src: i64,
    pub tgt: i64,
}

/// Everything the mirror persists in `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MirrorState {
    pub source_namesrv: String,
    pub target_namesrv: String,
    #[serde(with = "entries")]
    pub queues: BTreeMap<QueueKey, QueueState>,
    #[serde(with = "entries")]
    pub applied: BTreeMap<GroupQueueKey, Applied>,
    /// Milliseconds since the epoch, set by failover.
    pub failed_over_at: Option<i64>,
}

/// JSON objects only have string keys, so maps keyed by structs are written as arrays of
/// `{"key": …, "value": …}` entries. A duplicate key on reading is an error rather than
/// last-one-wins: it can only come from a corrupt or hand-edited file.
mod entries {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    struct EntryRef<'a, K, V> {
        key: &'a K,
        value: &'a V,
    }

    #[derive(Deserialize)]
    struct Entry<K, V> {
        key: K,
        value: V,
    }

    pub fn serialize<K, V, S>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        s.collect_seq(map.iter().map(|(key, value)| EntryRef { key, value }))
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord + std::fmt::Debug,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let list = Vec::<Entry<K, V>>::deserialize(d)?;
        let mut map = BTreeMap::new();
        for Entry { key, value } in list {
            if map.contains_key(&key) {
                return Err(D::Error::custom(format!("duplicate entry for {key:?}")));
            }
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// What can go wrong with the state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the directory's lock.
    #[error(
        "another mirror uses this state dir {path} (it holds {path}/{LOCK_FILE}{holder}); stop \
         it, or give this mirror its own state dir",
        path = path.display(),
        holder = holder.as_ref().map(|h| format!(", {h}")).unwrap_or_default()
    )]
    Locked {
        path: PathBuf,
        /// What the holder wrote into the lock file (its pid), when readable.
        holder: Option<String>,
    },
    /// The state file failed validation.
    #[error(
        "mirror state file {path} is corrupt: {reason}. The mirror refuses to start rather than \
         guess where copied messages landed; restore the file from a backup, or move the state \
         directory away to start over (the mirror then rebuilds its state from the target cluster)",
        path = path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    /// A side file (`status.json`, `failover.json`) is not the JSON its reader expects.
    #[error("invalid JSON in {path}: {reason}", path = path.display())]
    BadJson { path: PathBuf, reason: String },
    /// A value could not be encoded as JSON.
    #[error("cannot encode {what} as JSON: {reason}")]
    Encode { what: String, reason: String },
    /// A side-file name that would escape the directory or clobber the state or lock file.
    #[error("invalid state dir file name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
}

impl StateError {
    fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StateError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The mirror's state directory, locked for as long as this value lives.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    /// Holds the exclusive lock; closing it (on drop) releases the lock.
    _lock: File,
}

impl StateDir {
    /// Opens (creating if missing) and locks the state directory, and reads `state.json` if it
    /// exists (`None` for a fresh directory).
    ///
    /// Fails with [`StateError::Locked`] when another mirror holds the directory and with
    /// [`StateError::Corrupt`] when the state file fails any check. A leftover `state.json.tmp`
    /// from a save interrupted by a crash is removed: the rename never happened, so
    /// `state.json` is the last complete state.
    pub fn open(path: &Path) -> Result<(StateDir, Option<MirrorState>), StateError> {
        fs::create_dir_all(path).map_err(|e| StateError::io("create state dir", path, e))?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| StateError::io("open lock file", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                return Err(StateError::Locked {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(StateError::io("lock", &lock_path, e)),
        }
        // The pid only helps an operator find the holder; failing to write it is harmless.
        let _ = lock
            .set_len(0)
            .and_then(|_| writeln!(lock, "pid {}", std::process::id()));

        let tmp = path.join(tmp_name(STATE_FILE));
        match fs::remove_file(&tmp) {
            Ok(()) => {
                tracing::warn!(path = %tmp.display(), "removed a state file left over by an interrupted save")
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("remove", &tmp, e)),
        }

        let state = Self::read_state(path)?;
        Ok((
            StateDir {
                path: path.to_path_buf(),
                _lock: lock,
            },
            state,
        ))
    }

    /// Reads and validates `state.json` in `dir` without taking the lock (for status displays;
    /// the mirror itself reads it through [`StateDir::open`]). `None` when there is no state file.
    pub fn read_state(dir: &Path) -> Result<Option<MirrorState>, StateError> {
        let path = dir.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("read", &path, e)),
        };
        decode(&bytes)
            .map(Some)
            .map_err(|reason| StateError::Corrupt { path, reason })
    }

    /// Replaces `state.json` atomically and durably: once this returns, a crash leaves `s`.
    pub fn save(&self, s: &MirrorState) -> Result<(), StateError> {
        let bytes = encode(s)?;
        self.write_atomic(STATE_FILE, &bytes)
    }

    /// Writes a side file (`status.json`, `failover.json`, …) as pretty JSON, atomically: readers
    /// see the old or the new content, never a partial one.
    pub fn write_json(&self, name: &str, v: &impl Serialize) -> Result<(), StateError> {
        check_side_name(name)?;
        let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| StateError::Encode {
            what: name.to_string(),
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        self.write_atomic(name, &bytes)
    }

    /// Reads a side file written by [`StateDir::write_json`] from the state directory at `dir`,
    /// without taking the lock, so it works while a mirror runs. `None` if the file does not
    /// exist.
    pub fn read_json<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>, StateError> {
        check_side_name(name)?;
        let path = dir.join(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("read", &path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::BadJson {
                path,
                reason: e.to_string(),
            })
    }

    /// The state directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Temp file, fsync, rename over `name`, fsync the directory (so the rename itself survives
    /// a power loss).
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        let path = self.path.join(name);
        let tmp = self.path.join(tmp_name(name));
        let mut f = File::create(&tmp).map_err(|e| StateError::io("create", &tmp, e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| StateError::io("write", &tmp, e))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(|e| StateError::io("rename", &path, e))?;
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(|e| StateError::io("fsync dir", &self.path, e))
    }
}

fn tmp_name(name: &str) -> String {
    format!("{name}.tmp")
}

/// Side files are plain names in the directory, and never the state or lock file.
fn check_side_name(name: &str) -> Result<(), StateError> {
    let reason = if name.is_empty() || name == "." || name == ".." {
        Some("empty or a directory")
    } else if name.contains(['/', '\\', '\0']) {
        Some("must be a plain file name")
    } else if name == STATE_FILE || name == LOCK_FILE {
        Some("reserved for the mirror's state")
    } else if name.ends_with(".tmp") {
        Some("reserved for temporary files")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StateError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Header line plus JSON payload.
fn encode(s: &MirrorState) -> Result<Vec<u8>, StateError> {
    let payload = serde_json::to_vec(s).map_err(|e| StateError::Encode {
        what: STATE_FILE.to_string(),
        reason: e.to_string(),
    })?;
    let crc = crc32fast::hash(&payload);
    let mut out = format!("{MAGIC} {VERSION} {crc:08x} {}\n", payload.len()).into_bytes();
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Validates header, length, CRC and JSON; the error is the reason shown to the operator.
/// Public for the fuzz targets in `fuzz/`; [`StateDir::read_state`] reads a file with it.
pub fn decode(bytes: &[u8]) -> Result<MirrorState, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let newline = bytes
        .iter()
        .take(MAX_HEADER_LEN)
        .position(|&b| b == b'\n')
        .ok_or_else(|| {
            format!("no header line (no line break in the first {MAX_HEADER_LEN} bytes)")
        })?;
    let header = std::str::from_utf8(&bytes[..newline])
        .map_err(|_| "the header line is not UTF-8".to_string())?;
    let payload = &bytes[newline + 1..];
    let fields: Vec<&str> = header.split(' ').collect();
    let [magic, version, crc, len] = fields[..] else {
        return Err(format!(
            "bad header {header:?}: expected \"{MAGIC} <version> <crc32> <length>\""
        ));
    };
    if magic != MAGIC {
        return Err(format!(
            "bad header {header:?}: not a ferromq mirror state file"
        ));
    }
    if version != VERSION.to_string() {
        return Err(format!(
            "unknown version {version:?} (this build reads version {VERSION})"
        ));
    }
    let crc = (crc.len() == 8 && crc.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(crc, 16).ok())
        .flatten()
        .ok_or_else(|| format!("bad header {header:?}: CRC {crc:?} is not 8 hex digits"))?;
    let len = (!len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()))
        .then(|| len.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| format!("bad header {header:?}: length {len:?} is not a number"))?;
    if payload.len() as u64 != len {
        return Err(format!(
            "the header says the payload is {len} bytes but the file holds {} (truncated or \
             appended to)",
            payload.len()
        ));
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(format!(
            "CRC mismatch: the header says {crc:08x}, the payload hashes to {actual:08x}"
        ));
    }
    serde_json::from_slice(payload).map_err(|e| format!("invalid state JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(topic: &str, queue_id: i32) -> QueueKey {
        QueueKey {
            topic: topic.into(),
            broker: "broker-a".into(),
            queue_id,
        }
    }

    fn sample() -> MirrorState {
        let mut map = QueueMap::starting_at(100, 500);
        map.record_run(100, 500, 10).unwrap();
        map.record_run(115, 520, 5).unwrap();
        let mut s = MirrorState {
            source_namesrv: "src:9876".into(),
            target_namesrv: "tgt:9876".into(),
            failed_over_at: Some(1_700_000_000_000),
            ..Default::default()
        };
        s.queues.insert(
            key("orders", 0),
            QueueState {
                target_broker: "broker-b".into(),
                map,
                error: None,
                aliases: QueueMap::starting_at(0, 0),
            },
        );
        s.queues.insert(
            key("orders \"quoted\"\n", 1),
            QueueState {
                target_broker: "broker-b".into(),
                map: QueueMap::default(),
                error: Some("topic missing on target".into()),
                aliases: QueueMap::default(),
            },
        );
        s.applied.insert(
            GroupQueueKey {
                group: "g1".into(),
                queue: key("orders", 0),
            },
            Applied { src: 112, tgt: 520 },
        );
        s
    }

    fn corrupt_reason(dir: &Path) -> String {
        match StateDir::open(dir) {
            Err(StateError::Corrupt { path, reason }) => {
                assert_eq!(path, dir.join(STATE_FILE));
                reason
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn fresh_dir_has_no_state_and_is_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let (sd, state) = StateDir::open(&dir).unwrap();
        assert!(state.is_none());
        assert_eq!(sd.path(), dir);
        assert!(dir.join(LOCK_FILE).exists());
    }

    #[test]
    fn round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let s = sample();
        {
            let (sd, _) = StateDir::open(tmp.path()).unwrap();
            sd.save(&MirrorState::default()).unwrap();
            sd.save(&s).unwrap();
            assert!(!tmp.path().join("state.json.tmp").exists());
        }
        let (_sd, back) = StateDir::open(tmp.path()).unwrap();
        assert_eq!(back, Some(s.clone()));
        assert_eq!(StateDir::read_state(tmp.path()).unwrap(), Some(s));

        let text = fs::read_to_string(tmp.path().join(STATE_FILE)).unwrap();
        let header = text.lines().next().unwrap();
        assert!(header.starts_with("ferromq-mirror-state 1 "), "{header}");
    }

    #[test]
    fn leftover_tmp_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (sd, _) = StateDir::open(tmp.path()).unwrap();
            sd.save(&sample()).unwrap();
        }
        fs::write(tmp.path().join("state.json.tmp"), b"half a write").unwrap();
        let (_sd, state) = StateDir::open(tmp.path()).unwrap();
        assert_eq!(state, Some(sample()));
        assert!(!tmp.path().join("state.json.tmp").exists());
    }

    /// Writes a valid state file, lets `f` damage it, and returns the reason `open` gives.
    fn damaged(f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> String {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(STATE_FILE);
        fs::write(&path, f(encode(&sample()).unwrap())).unwrap();
        corrupt_reason(tmp.path())
    }

    #[test]
    fn corrupt_crc() {
        let reason = damaged(|mut b| {
            // Flip a payload byte, keeping the length.
            let last = b.len() - 2;
            b[last] ^= 0x01;
            b
        });
        assert!(reason.contains("CRC mismatch"), "{reason}");
    }

    #[test]
    fn truncated() {
        let reason = damaged(|mut b| {
            b.truncate(b.len() - 10);
            b
        });
        assert!(reason.contains("truncated"), "{reason}");
        let reason = damaged(|b| b[..20].to_vec());
        assert!(reason.contains("no header line"), "{reason}");
        let reason = damaged(|_| Vec::new());
        assert!(reason.contains("empty"), "{reason}");
    }

    #[test]
    fn garbage() {
        let reason = damaged(|_| (0..=255u8).cycle().take(4000).collect());
        assert!(reason.contains("header"), "{reason}");
        let reason = damaged(|_| b"{\"source_namesrv\": \"x\"}\n".to_vec());
        assert!(reason.contains("bad header"), "{reason}");
        let reason = damaged(|_| b"ferromq-mirror-state 1 zzzzzzzz 2\n{}".to_vec());
        assert!(reason.contains("CRC"), "{reason}");
        let reason = damaged(|_| b"ferromq-mirror-state 1 00000000 -2\n{}".to_vec());
        assert!(reason.contains("length"), "{reason}");
        // A valid frame around a payload that is not a state.
        let payload = b"[1,2,3]";
        let frame = format!(
            "ferromq-mirror-state 1 {:08x} {}\n",
            crc32fast::hash(payload),
            payload.len()
        );
        let reason = damaged(|_| [frame.as_bytes(), payload].concat());
        assert!(reason.contains("invalid state JSON"), "{reason}");
        // A valid frame around a state whose offset map breaks its invariants.
        let payload = br#"{"source_namesrv":"","target_namesrv":"","queues":[{"key":{"topic":"t","broker":"b","queue_id":0},"value":{"target_broker":"b","map":{"segments":[{"src":0,"tgt":0,"len":5}],"src_next":3,"tgt_next":5},"error":null}}],"applied":[],"failed_over_at":null}"#;
        let frame = format!(
            "ferromq-mirror-state 1 {:08x} {}\n",
            crc32fast::hash(payload),
            payload.len()
        );
        let reason = damaged(|_| [frame.as_bytes(), payload].concat());
        assert!(reason.contains("invalid offset map"), "{reason}");
    }

    #[test]
    fn duplicate_entries_are_corrupt() {
        let k = r#"{"key":{"topic":"t","broker":"b","queue_id":0},"value":{"target_broker":"b","map":{"segments":[],"src_next":null,"tgt_next":null},"error":null}}"#;
        let payload = format!(
            r#"{{"source_namesrv":"","target_namesrv":"","queues":[{k},{k}],"applied":[],"failed_over_at":null}}"#
        );
        let frame = format!(
            "ferromq-mirror-state 1 {:08x} {}\n",
            crc32fast::hash(payload.as_bytes()),
            payload.len()
        );
        let reason = damaged(|_| [frame.as_bytes(), payload.as_bytes()].concat());
        assert!(reason.contains("duplicate entry"), "{reason}");
    }

    proptest::proptest! {
        /// Bad bytes are an error, never a panic: random files, and valid files with one byte
        /// changed or cut short.
        #[test]
        fn decode_never_panics(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            pos in 0usize..10_000,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let _ = decode(&junk);
            let mut framed = b"ferromq-mirror-state 1 00000000 5\n".to_vec();
            framed.extend_from_slice(&junk);
            let _ = decode(&framed);
            let good = encode(&sample()).unwrap();
            let mut flipped = good.clone();
            let i = pos % flipped.len();
            flipped[i] = byte;
            // A changed byte is caught, or (e.g. a CRC digit in upper case) means the same.
            if let Ok(state) = decode(&flipped) {
                proptest::prop_assert_eq!(state, sample());
            }
            proptest::prop_assert!(decode(&good[..i]).is_err());
        }
    }

    #[test]
    fn wrong_version() {
        let reason = damaged(|b| {
            let s = String::from_utf8(b).unwrap();
            s.replacen("ferromq-mirror-state 1 ", "ferromq-mirror-state 2 ", 1)
                .into_bytes()
        });
        assert!(reason.contains("unknown version \"2\""), "{reason}");
    }

    #[test]
    fn corrupt_message_tells_the_operator_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(STATE_FILE), b"nonsense\n").unwrap();
        let msg = StateDir::open(tmp.path()).unwrap_err().to_string();
        assert!(msg.contains("is corrupt"), "{msg}");
        assert!(msg.contains("refuses to start"), "{msg}");
        assert!(msg.contains("restore"), "{msg}");
        assert!(msg.contains("move the state directory away"), "{msg}");
    }

    #[test]
    fn second_open_is_locked_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let (first, _) = StateDir::open(tmp.path()).unwrap();
        match StateDir::open(tmp.path()) {
            Err(e @ StateError::Locked { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("another mirror uses this state dir"), "{msg}");
                assert!(
                    msg.contains(&format!("pid {}", std::process::id())),
                    "{msg}"
                );
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        let (_second, _) = StateDir::open(tmp.path()).unwrap();
    }

    #[test]
    fn side_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (sd, _) = StateDir::open(tmp.path()).unwrap();
        assert_eq!(
            StateDir::read_json::<serde_json::Value>(tmp.path(), "status.json").unwrap(),
            None
        );
        let v = serde_json::json!({"queues": 3, "note": "ok"});
        sd.write_json("status.json", &v).unwrap();
        // Readable without the lock while the directory is held.
        let back: Option<serde_json::Value> =
            StateDir::read_json(tmp.path(), "status.json").unwrap();
        assert_eq!(back, Some(v));
        assert!(!tmp.path().join("status.json.tmp").exists());

        fs::write(tmp.path().join("failover.json"), b"{not json").unwrap();
        assert!(matches!(
            StateDir::read_json::<serde_json::Value>(tmp.path(), "failover.json"),
            Err(StateError::BadJson { .. })
        ));

        for bad in ["", "..", "a/b", "state.json", "LOCK", "x.tmp"] {
            assert!(
                matches!(sd.write_json(bad, &1), Err(StateError::InvalidName { .. })),
                "{bad}"
            );
        }
    }
}
