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

    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<K, V, S>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        s.collect_seq(map.iter().map(|(key, value)| EntryRef { key, value }))
    }

    /// # Errors
    /// Whatever the deserializer reports, and a duplicate key.
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
    Corrupt { path: PathBuf, reason: DecodeError },
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

/// Why the bytes of a state file are not a valid state; shown to the operator inside
/// [`StateError::Corrupt`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    /// No line break within the first bytes, where the header line must end.
    #[error("no header line (no line break in the first {MAX_HEADER_LEN} bytes)")]
    NoHeaderLine,
    #[error("the header line is not UTF-8")]
    HeaderNotUtf8(#[source] std::str::Utf8Error),
    /// The header line does not have the four fields.
    #[error("bad header {header:?}: expected \"{MAGIC} <version> <crc32> <length>\"")]
    HeaderFields { header: String },
    /// The header line does not start with the state file's magic word.
    #[error("bad header {header:?}: not a ferromq mirror state file")]
    NotAStateFile { header: String },
    /// A state file of another (newer) version.
    #[error("unknown version {version:?} (this build reads version {VERSION})")]
    UnknownVersion { version: String },
    #[error("bad header {header:?}: CRC {crc:?} is not 8 hex digits")]
    BadCrc { header: String, crc: String },
    #[error("bad header {header:?}: length {len:?} is not a number")]
    BadLength { header: String, len: String },
    /// The payload is shorter or longer than the header says.
    #[error(
        "the header says the payload is {expected} bytes but the file holds {actual} (truncated \
         or appended to)"
    )]
    LengthMismatch { expected: u64, actual: usize },
    /// The payload does not hash to the header's CRC32.
    #[error("CRC mismatch: the header says {expected:08x}, the payload hashes to {actual:08x}")]
    CrcMismatch { expected: u32, actual: u32 },
    /// The payload is not a state, or one whose offset maps break their invariants.
    #[error("invalid state JSON: {0}")]
    Json(#[source] serde_json::Error),
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
    /// A leftover `state.json.tmp` from a save interrupted by a crash is removed: the rename
    /// never happened, so `state.json` is the last complete state.
    ///
    /// # Errors
    /// [`StateError::Locked`] when another mirror holds the directory,
    /// [`StateError::Corrupt`] when the state file fails any check, and [`StateError::Io`] when
    /// the directory, the lock file or the state file cannot be created, locked or read.
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
    ///
    /// # Errors
    /// [`StateError::Corrupt`] when the state file fails any check, [`StateError::Io`] when it
    /// cannot be read.
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
    ///
    /// # Errors
    /// [`StateError::Encode`] when the state cannot be encoded, [`StateError::Io`] when writing,
    /// syncing or renaming fails (the previous `state.json` is then still in place).
    pub fn save(&self, s: &MirrorState) -> Result<(), StateError> {
        let bytes = encode(s)?;
        self.write_atomic(STATE_FILE, &bytes)
    }

    /// Writes a side file (`status.json`, `failover.json`, …) as pretty JSON, atomically: readers
    /// see the old or the new content, never a partial one.
    ///
    /// # Errors
    /// [`StateError::InvalidName`] for a name that is not a plain side-file name,
    /// [`StateError::Encode`] when `v` cannot be encoded, [`StateError::Io`] when writing fails.
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
    ///
    /// # Errors
    /// [`StateError::InvalidName`] for a name that is not a plain side-file name,
    /// [`StateError::Io`] when the file cannot be read, [`StateError::BadJson`] when it is not
    /// a `T`.
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

/// Validates header, length, CRC and JSON. Public for the fuzz targets in `fuzz/`;
/// [`StateDir::read_state`] reads a file with it.
///
/// # Errors
/// A [`DecodeError`] saying which check failed (its message is the reason shown to the
/// operator).
pub fn decode(bytes: &[u8]) -> Result<MirrorState, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let newline = bytes
        .iter()
        .take(MAX_HEADER_LEN)
        .position(|&b| b == b'\n')
        .ok_or(DecodeError::NoHeaderLine)?;
    let header = std::str::from_utf8(&bytes[..newline]).map_err(DecodeError::HeaderNotUtf8)?;
    let payload = &bytes[newline + 1..];
    let fields: Vec<&str> = header.split(' ').collect();
    let [magic, version, crc, len] = fields[..] else {
        return Err(DecodeError::HeaderFields {
            header: header.to_string(),
        });
    };
    if magic != MAGIC {
        return Err(DecodeError::NotAStateFile {
            header: header.to_string(),
        });
    }
    if version != VERSION.to_string() {
        return Err(DecodeError::UnknownVersion {
            version: version.to_string(),
        });
    }
    let crc = (crc.len() == 8 && crc.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(crc, 16).ok())
        .flatten()
        .ok_or_else(|| DecodeError::BadCrc {
            header: header.to_string(),
            crc: crc.to_string(),
        })?;
    let len = (!len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()))
        .then(|| len.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| DecodeError::BadLength {
            header: header.to_string(),
            len: len.to_string(),
        })?;
    if payload.len() as u64 != len {
        return Err(DecodeError::LengthMismatch {
            expected: len,
            actual: payload.len(),
        });
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(DecodeError::CrcMismatch {
            expected: crc,
            actual,
        });
    }
    serde_json::from_slice(payload).map_err(DecodeError::Json)
}

#[cfg(test)]
mod tests;
