//! The POP journal: every change to the POP state, appended before the request is answered, so
//! leases and acks survive a process kill; periodic snapshots keep it short.
//!
//! On disk, in the journal's directory:
//! - `snapshot.json`: the whole state at generation `g` (written to a temporary file, synced,
//!   renamed), or absent for generation 0;
//! - `journal-<g>.log`: the records since that snapshot, one per line:
//!   `<crc32 of the JSON, 8 hex digits> <JSON>\n`.
//!
//! Replay stops at the first line that is torn or fails its CRC (a write cut by a crash) and the
//! file is cut back to the last good record.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferromq_protocol::body::progress::QueueKey;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::error::PopError;
use crate::flush::Flusher;
use crate::queue::{Lease, QueueState};

/// One change to the POP state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "camelCase")]
pub enum Record {
    /// A queue's state starts (or restarts) at `base` in `epoch`; `unrecorded` when the offset
    /// table has no entry for it yet.
    Reset {
        key: QueueKey,
        epoch: u32,
        base: i64,
        #[serde(default)]
        unrecorded: bool,
    },
    /// Deliveries made (fresh, redelivered or re-windowed) and the cursor after them.
    Lease {
        key: QueueKey,
        epoch: u32,
        cursor: i64,
        leases: Vec<(i64, Lease)>,
    },
    /// A lease released.
    Ack {
        key: QueueKey,
        epoch: u32,
        offset: i64,
        seq: u64,
    },
    /// The offset table now holds `base`.
    Committed {
        key: QueueKey,
        epoch: u32,
        base: i64,
    },
    /// The queue's state is gone (its group or topic was deleted).
    Forget { key: QueueKey },
}

/// The state a journal describes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Image {
    pub generation: u64,
    pub next_seq: u64,
    pub queues: Vec<(QueueKey, QueueState)>,
}

impl Image {
    pub fn into_map(self) -> HashMap<QueueKey, QueueState> {
        self.queues.into_iter().collect()
    }
}

/// Applies one record to the state (the live path and replay share this).
pub fn apply(map: &mut HashMap<QueueKey, QueueState>, next_seq: &mut u64, rec: &Record) {
    match rec {
        Record::Reset {
            key,
            epoch,
            base,
            unrecorded,
        } => {
            let mut q = QueueState::starting_at(*base, *epoch);
            q.unrecorded = *unrecorded;
            map.insert(key.clone(), q);
        }
        Record::Lease {
            key,
            epoch,
            cursor,
            leases,
        } => {
            if let Some(q) = map.get_mut(key).filter(|q| q.epoch == *epoch) {
                for (o, l) in leases {
                    q.lease(*o, *l);
                    // Saturating: a damaged or hand-made journal may name the largest seq.
                    *next_seq = (*next_seq).max(l.seq.saturating_add(1));
                }
                q.advance_cursor(*cursor);
            }
        }
        Record::Ack {
            key,
            epoch,
            offset,
            seq,
        } => {
            if let Some(q) = map.get_mut(key) {
                q.ack(*offset, *seq, *epoch);
            }
        }
        Record::Committed { key, epoch, base } => {
            if let Some(q) = map.get_mut(key).filter(|q| q.epoch == *epoch) {
                q.unrecorded = false;
                q.committed(*base);
            }
        }
        Record::Forget { key } => {
            map.remove(key);
        }
    }
}

pub struct Journal {
    dir: PathBuf,
    generation: u64,
    file: File,
    bytes: u64,
    flusher: Arc<Flusher>,
}

impl Journal {
    /// Opens (or creates) the journal in `dir` and replays it.
    ///
    /// # Errors
    /// A snapshot that does not parse, or I/O errors.
    pub fn open(dir: &Path) -> Result<(Journal, Image), PopError> {
        fs::create_dir_all(dir)?;
        let snap_path = dir.join("snapshot.json");
        let mut image = match fs::read(&snap_path) {
            Ok(bytes) => serde_json::from_slice::<Image>(&bytes).map_err(|e| {
                PopError::Journal(format!("{} does not parse: {e}", snap_path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Image::default(),
            Err(e) => return Err(e.into()),
        };
        let path = journal_path(dir, image.generation);
        let mut map = std::mem::take(&mut image.queues)
            .into_iter()
            .collect::<HashMap<_, _>>();
        let good = replay(&path, &mut map, &mut image.next_seq)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if file.metadata()?.len() > good {
            warn!(path = %path.display(), good, "POP journal: cut a torn tail");
            file.set_len(good)?;
        }
        remove_old_journals(dir, image.generation);
        image.queues = map.into_iter().collect();
        let flusher = Arc::new(Flusher::new(&file)?);
        Ok((
            Journal {
                dir: dir.to_path_buf(),
                generation: image.generation,
                file,
                bytes: good,
                flusher,
            },
            image,
        ))
    }

    /// Appends a record with one `write`: once this returns the record survives a process kill
    /// (and a machine crash once the flusher has synced past it).
    ///
    /// # Errors
    /// I/O errors (the caller must not acknowledge the change).
    pub fn append(&mut self, rec: &Record) -> Result<(), PopError> {
        let line = encode(rec)?;
        self.file.write_all(line.as_bytes())?;
        self.bytes += line.len() as u64;
        self.flusher.appended(line.len() as u64);
        Ok(())
    }

    /// The group commit that syncs this journal (its thread is started by the table in
    /// durable mode).
    pub(crate) fn flusher(&self) -> &Arc<Flusher> {
        &self.flusher
    }

    /// Bytes in the current journal file.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether the current journal file is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Writes `queues` as the next generation's snapshot and starts its empty journal.
    ///
    /// # Errors
    /// I/O errors; the current generation stays in use then.
    pub fn compact(
        &mut self,
        next_seq: u64,
        queues: Vec<(QueueKey, QueueState)>,
    ) -> Result<(), PopError> {
        // Saturating: a damaged snapshot may carry the largest generation.
        let generation = self.generation.saturating_add(1);
        let image = Image {
            generation,
            next_seq,
            queues,
        };
        let bytes = serde_json::to_vec(&image).map_err(|e| PopError::Journal(e.to_string()))?;
        let next = journal_path(&self.dir, generation);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&next)?;
        file.sync_all()?;
        let appender = OpenOptions::new().append(true).open(&next)?;
        let for_flusher = appender.try_clone()?;
        let tmp = self.dir.join("snapshot.json.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, self.dir.join("snapshot.json"))?;
        // From the rename on, a restart reads the new generation: records must go there, even
        // if the directory's sync below fails.
        self.file = appender;
        self.generation = generation;
        self.bytes = 0;
        let dir_synced = File::open(&self.dir).and_then(|d| d.sync_all());
        self.flusher.switched(for_flusher, dir_synced.is_ok());
        dir_synced?;
        // Only once the rename is durable: until then a crash comes back to the old generation.
        remove_old_journals(&self.dir, generation);
        Ok(())
    }
}

fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("journal-{generation}.log"))
}

fn encode(rec: &Record) -> Result<String, PopError> {
    let json = serde_json::to_string(rec).map_err(|e| PopError::Journal(e.to_string()))?;
    Ok(format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes())))
}

/// Decodes one journal line (without its newline); `None` when torn or corrupt.
pub fn decode_line(line: &[u8]) -> Option<Record> {
    if line.len() < 10 || line[8] != b' ' {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(&line[..8]).ok()?, 16).ok()?;
    let json = &line[9..];
    if crc32fast::hash(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// Replays `path` into `map`; returns the length of its good prefix.
fn replay(
    path: &Path,
    map: &mut HashMap<QueueKey, QueueState>,
    next_seq: &mut u64,
) -> Result<u64, PopError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut reader = BufReader::new(file);
    let mut good = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let Some(rec) = decode_line(&line[..n - 1]) else {
            break;
        };
        apply(map, next_seq, &rec);
        good += n as u64;
    }
    Ok(good)
}

fn remove_old_journals(dir: &Path, keep: u64) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(g) = name
            .to_str()
            .and_then(|n| n.strip_prefix("journal-"))
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if g != keep {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(q: i32) -> QueueKey {
        QueueKey {
            group: "g".into(),
            topic: "t".into(),
            queue_id: q,
        }
    }

    fn lease(seq: u64) -> Lease {
        Lease {
            seq,
            attempt: 1,
            deadline_ms: 1000,
        }
    }

    #[test]
    fn replays_after_reopen_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, image) = Journal::open(dir.path()).unwrap();
            assert!(image.queues.is_empty());
            j.append(&Record::Reset {
                key: key(0),
                epoch: 0,
                base: 5,
                unrecorded: false,
            })
            .unwrap();
            j.append(&Record::Lease {
                key: key(0),
                epoch: 0,
                cursor: 8,
                leases: vec![(5, lease(1)), (6, lease(2)), (7, lease(3))],
            })
            .unwrap();
            j.append(&Record::Ack {
                key: key(0),
                epoch: 0,
                offset: 5,
                seq: 1,
            })
            .unwrap();
        }
        let path = dir.path().join("journal-0.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"0badc0de {\"r\":\"ack\"").unwrap();
        drop(f);
        let (_, image) = Journal::open(dir.path()).unwrap();
        let map = image.into_map();
        let q = &map[&key(0)];
        assert_eq!(q.cursor, 8);
        assert_eq!(q.leases.keys().copied().collect::<Vec<_>>(), vec![6, 7]);
        assert_eq!(q.frontier(), 6);
        assert!(!fs::read_to_string(&path).unwrap().contains("0badc0de"));
    }

    /// Found by the `pop_journal` fuzz target: replaying a lease with seq `u64::MAX` overflowed.
    #[test]
    fn the_largest_lease_number_replays() {
        let mut map = HashMap::new();
        let mut next_seq = 1;
        for rec in [
            Record::Reset {
                key: key(0),
                epoch: 0,
                base: 0,
                unrecorded: false,
            },
            Record::Lease {
                key: key(0),
                epoch: 0,
                cursor: 1,
                leases: vec![(0, lease(u64::MAX))],
            },
        ] {
            apply(&mut map, &mut next_seq, &rec);
        }
        assert_eq!(next_seq, u64::MAX);
        assert_eq!(map[&key(0)].leases[&0].seq, u64::MAX);
    }

    #[test]
    fn compaction_keeps_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let mut map = HashMap::new();
        let mut seq = 0;
        let recs = [
            Record::Reset {
                key: key(1),
                epoch: 2,
                base: 0,
                unrecorded: true,
            },
            Record::Lease {
                key: key(1),
                epoch: 2,
                cursor: 2,
                leases: vec![(0, lease(9)), (1, lease(10))],
            },
        ];
        for r in &recs {
            j.append(r).unwrap();
            apply(&mut map, &mut seq, r);
        }
        j.compact(seq, map.clone().into_iter().collect()).unwrap();
        let ack = Record::Ack {
            key: key(1),
            epoch: 2,
            offset: 1,
            seq: 10,
        };
        j.append(&ack).unwrap();
        apply(&mut map, &mut seq, &ack);
        drop(j);
        let (_, image) = Journal::open(dir.path()).unwrap();
        assert_eq!(image.generation, 1);
        assert_eq!(image.next_seq, 11);
        assert_eq!(image.into_map(), map);
        assert!(!dir.path().join("journal-0.log").exists());
    }

    #[test]
    fn garbage_lines_never_panic() {
        for l in [
            &b""[..],
            b"12345678",
            b"zzzzzzzz {}",
            b"00000000 {}",
            &[0xff; 40],
        ] {
            assert!(decode_line(l).is_none());
        }
    }
}
