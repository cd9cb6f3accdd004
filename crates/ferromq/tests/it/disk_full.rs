//! A full disk: the broker's data directory is a small tmpfs (24 MiB), filled by sends until
//! they fail, then filled to the last byte.
//!
//! * Every failed send is an error response (SERVICE_NOT_AVAILABLE), never a dropped
//!   connection or a crash, and leaves nothing behind: each queue's max offset stays exactly
//!   the number of acknowledged sends.
//! * The broker keeps answering everything else: max offsets, heartbeats, pulls, offset queries;
//!   offset commits are answered with success or an error, and one that failed is not applied.
//! * Every acknowledged message reads back with its body.
//! * After `mount -o remount,size=64m` (room again) sends and commits succeed again: the store
//!   and the offset table did not stay broken.
//! * After SIGTERM and a restart every acknowledged message and commit is still there.
//!
//! The scenario runs twice: with the default write path (through the mapping of `fallocate`d
//! files) and with `FERROMQ_STORE_WRITE_MODE=pwrite` (the copy-on-write file-system path).
//! Mounting needs root (CAP_SYS_ADMIN); where `mount` is refused the test says so and returns.
//!
//! Opt-in, by hand: `FERROMQ_TEST_BTRFS=1` runs it a third time on a 96 MiB btrfs in a loop
//! device (needs `mkfs.btrfs`, from btrfs-progs), where room is made by deleting a 30 MiB
//! ballast file; the broker must detect btrfs and write with pwrite.
//! `FERROMQ_TEST_BTRFS_WRITE_MODE=mapped` forces the mapped path there, to see the hazard.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{pull_at, Server};
use ferromq_client::requests;
use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::body::{HeartbeatData, TopicConfig};
use ferromq_protocol::codes::{request as rq, response as rs};
use serde_json::{json, Value};

const TOPIC: &str = "DiskFull";
/// Queues 0 and 1 are written before the disk fills; queue 2 first while it is full (its
/// consume-queue file cannot be created then).
const QUEUES: i32 = 3;
const GROUP: &str = "DiskFullGroup";
const BODY_BYTES: usize = 4096;

/// A small file system mounted on a fresh directory: a tmpfs, or (opt-in) btrfs on a loop
/// device. Unmounted (loop device detached, image and directory removed) on drop, also when
/// the test fails.
struct Disk {
    dir: PathBuf,
    kind: DiskKind,
}

enum DiskKind {
    Tmpfs,
    /// btrfs in a loop-mounted image; room is made by deleting `ballast`, a file written before
    /// the broker starts (growing a loop-mounted btrfs is refused on some kernels).
    Btrfs {
        image: PathBuf,
        loop_dev: String,
        ballast: PathBuf,
    },
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn fresh_dir(prefix: &str) -> Result<PathBuf, String> {
    Ok(tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("cannot create a directory: {e}"))?
        .keep())
}

impl Disk {
    /// `mount -t tmpfs -o size=<size> tmpfs <dir>`.
    fn tmpfs(size: &str) -> Result<Disk, String> {
        let dir = fresh_dir("ferromq-diskfull-")?;
        let mounted = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size}"))
            .arg("tmpfs")
            .arg(&dir));
        match mounted {
            Ok(_) => Ok(Disk {
                dir,
                kind: DiskKind::Tmpfs,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// A `size_mib` btrfs (mixed data and metadata, as for small file systems) on a loop
    /// device, with a `ballast_mib` ballast file.
    fn btrfs(size_mib: u64, ballast_mib: u64) -> Result<Disk, String> {
        let dir = fresh_dir("ferromq-diskfull-btrfs-")?;
        let image = dir.with_extension("img");
        let mut disk = Disk {
            dir: dir.clone(),
            kind: DiskKind::Tmpfs, // nothing mounted yet: Drop only removes the directory
        };
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(size_mib << 20))
            .map_err(|e| format!("cannot create {}: {e}", image.display()))?;
        let loop_dev = match run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image))
        {
            Ok(d) => d,
            Err(e) => {
                let _ = std::fs::remove_file(&image);
                return Err(e);
            }
        };
        let ballast = dir.join("ballast");
        disk.kind = DiskKind::Btrfs {
            image,
            loop_dev: loop_dev.clone(),
            ballast: ballast.clone(),
        };
        run(Command::new("mkfs.btrfs").args(["-q", "-M", &loop_dev]))?;
        run(Command::new("mount").arg(&loop_dev).arg(&dir))?;
        let mut f = std::fs::File::create(&ballast).map_err(|e| e.to_string())?;
        let chunk = vec![0x5Au8; 1 << 20];
        for _ in 0..ballast_mib {
            f.write_all(&chunk).map_err(|e| format!("ballast: {e}"))?;
        }
        f.sync_all().map_err(|e| e.to_string())?;
        Ok(disk)
    }

    /// Gives the file system room again.
    fn make_room(&self) {
        match &self.kind {
            DiskKind::Tmpfs => {
                run(Command::new("mount")
                    .arg("-o")
                    .arg("remount,size=64m")
                    .arg(&self.dir))
                .expect("remount the tmpfs");
            }
            DiskKind::Btrfs { ballast, .. } => {
                std::fs::remove_file(ballast).expect("remove the ballast");
                // btrfs returns freed extents when the transaction commits.
                run(Command::new("btrfs")
                    .args(["filesystem", "sync"])
                    .arg(&self.dir))
                .expect("btrfs filesystem sync");
            }
        }
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        if let Err(e) = run(Command::new("umount").arg(&self.dir)) {
            if !e.contains("not mounted") {
                eprintln!("{e}; unmounting lazily");
                let _ = run(Command::new("umount").arg("-l").arg(&self.dir));
            }
        }
        if let DiskKind::Btrfs {
            image, loop_dev, ..
        } = &self.kind
        {
            let _ = run(Command::new("losetup").arg("-d").arg(loop_dev));
            let _ = std::fs::remove_file(image);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Fills the rest of the file system with one file; returns its size.
fn fill_up(path: &Path) -> u64 {
    let Ok(mut f) = std::fs::File::create(path) else {
        return 0; // too full for even an empty file (btrfs has no room for its metadata)
    };
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let buf = vec![0xA5u8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    let _ = f.flush();
    f.metadata().map_or(0, |m| m.len())
}

/// What the test knows about one queue's committed offset.
#[derive(Default, Debug)]
struct Committed {
    confirmed: Option<i64>,
    unknown: Vec<i64>,
}

struct Scenario {
    rt: tokio::runtime::Runtime,
    client: MqClient,
    broker: String,
    /// Acknowledged sends: (queue, offset) → body.
    acked: BTreeMap<(i32, i64), String>,
    commits: BTreeMap<i32, Committed>,
    seq: u64,
}

impl Scenario {
    fn connect(&mut self, server: &Server) {
        self.client.remoting.close();
        self.client = MqClient::new(&server.namesrv_addr(), Duration::from_secs(10));
        self.broker = server.broker_addr();
    }

    /// One send; `Err` carries the broker's answer (a transport error fails the test).
    fn send(&mut self, q: i32) -> Result<i64, (i32, String)> {
        self.seq += 1;
        let body = format!("m{}-{}", self.seq, "x".repeat(BODY_BYTES));
        let r = self.rt.block_on(self.client.send(
            &self.broker,
            "P",
            TOPIC,
            q,
            Bytes::from(body.clone()),
            "",
        ));
        match r {
            Ok(r) => {
                assert_eq!(r.queue_id, q);
                assert!(
                    self.acked.insert((q, r.queue_offset), body).is_none(),
                    "queue {q} offset {} acknowledged twice",
                    r.queue_offset
                );
                Ok(r.queue_offset)
            }
            Err(ClientError::Server { code, remark }) => Err((code, remark)),
            Err(e) => panic!("send to queue {q}: no answer from the broker: {e}"),
        }
    }

    /// One commit; whether it was acknowledged (a transport error fails the test).
    fn commit(&mut self, q: i32, v: i64) -> Result<(), (i32, String)> {
        self.commits.entry(q).or_default().unknown.push(v);
        let r = self
            .rt
            .block_on(self.client.update_offset(&self.broker, GROUP, TOPIC, q, v));
        match r {
            Ok(()) => {
                let c = self.commits.entry(q).or_default();
                c.confirmed = Some(v);
                c.unknown.clear();
                Ok(())
            }
            Err(ClientError::Server { code, remark }) => Err((code, remark)),
            Err(e) => panic!("commit {q}={v}: no answer from the broker: {e}"),
        }
    }

    fn max_offset(&self, q: i32) -> i64 {
        self.rt
            .block_on(self.client.max_offset(&self.broker, TOPIC, q))
            .unwrap_or_else(|e| panic!("GET_MAX_OFFSET {q}: {e}"))
    }

    fn acked_count(&self, q: i32) -> i64 {
        self.acked.keys().filter(|(qq, _)| *qq == q).count() as i64
    }

    /// Each queue holds exactly the acknowledged sends (a failed send left nothing behind), and
    /// every one of them reads back with its body.
    fn check_messages(&self, when: &str) {
        for q in 0..QUEUES {
            let n = self.acked_count(q);
            assert_eq!(
                self.max_offset(q),
                n,
                "{when}: queue {q} max offset vs acknowledged sends"
            );
            let mut offset = 0;
            let mut seen = 0;
            while offset < n {
                let p = pull_at("DiskFullCheck", TOPIC, q, offset, 32);
                let r = self
                    .rt
                    .block_on(self.client.pull(&self.broker, &p))
                    .unwrap_or_else(|e| panic!("{when}: pull {q}@{offset}: {e}"));
                assert_eq!(r.code, rs::SUCCESS, "{when}: pull {q}@{offset}");
                for m in &r.messages {
                    let want = &self.acked[&(q, m.queue_offset)];
                    assert!(
                        m.body.as_ref() == want.as_bytes(),
                        "{when}: queue {q} offset {} has another body",
                        m.queue_offset
                    );
                    seen += 1;
                }
                offset = r.next_begin_offset;
            }
            assert_eq!(
                seen, n,
                "{when}: queue {q}: every acknowledged message read"
            );
        }
    }

    /// The stored offsets are the last acknowledged commits (or an unanswered one after it).
    fn check_commits(&self, when: &str) {
        let v: Value = self
            .rt
            .block_on(self.client.ferro(
                &self.broker,
                rq::FERRO_EXPORT_OFFSETS,
                &json!({ "groups": [GROUP] }),
            ))
            .unwrap_or_else(|e| panic!("{when}: export offsets: {e}"));
        let mut stored = BTreeMap::new();
        for r in v["records"].as_array().expect("records") {
            stored.insert(
                r["queueId"].as_i64().unwrap() as i32,
                r["offset"].as_i64().unwrap(),
            );
        }
        for (q, c) in &self.commits {
            let got = stored.get(q).copied();
            assert!(
                got == c.confirmed || got.is_some_and(|g| c.unknown.contains(&g)),
                "{when}: queue {q} stored {got:?}, last acknowledged {:?}, unanswered {:?}",
                c.confirmed,
                c.unknown
            );
        }
    }

    fn heartbeat(&self) {
        let hb = HeartbeatData {
            client_id: "disk-full-test".into(),
            ..HeartbeatData::default()
        };
        self.rt
            .block_on(
                self.client
                    .remoting
                    .invoke(&self.broker, requests::heartbeat(&hb)),
            )
            .expect("heartbeat answered");
    }
}

fn scenario(mode: &str, disk: Disk) {
    let data = disk.path().join("data");
    // 1 MiB segments (a 24 MiB disk holds a few); the message limit must stay below them.
    let config = disk.path().with_extension("toml");
    std::fs::write(
        &config,
        "[broker]\nsegment-size = 1048576\nmax-message-size = 65536\n",
    )
    .unwrap();
    struct RemoveFile(PathBuf);
    impl Drop for RemoveFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _config_guard = RemoveFile(config.clone());
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--flush-mode",
        "sync",
        "--offset-durability",
        "durable",
    ];
    let mut server = Server::with_data_dir(&data, &args);
    let started = Instant::now();
    let mut s = Scenario {
        rt: tokio::runtime::Runtime::new().unwrap(),
        client: MqClient::new(&server.namesrv_addr(), Duration::from_secs(10)),
        broker: server.broker_addr(),
        acked: BTreeMap::new(),
        commits: BTreeMap::new(),
        seq: 0,
    };
    let out = server.output();
    match mode {
        "pwrite" => assert!(
            out.contains("message store write path") && out.contains("Pwrite"),
            "the broker's store writes with pwrite"
        ),
        "btrfs" => assert!(
            out.contains("copy-on-write file system"),
            "the broker detected btrfs"
        ),
        _ => {}
    }
    s.rt.block_on(
        s.client
            .create_topic(&s.broker, &TopicConfig::new(TOPIC, QUEUES)),
    )
    .unwrap();

    // 1. Send until the disk is full: every failure is an answer.
    let mut failures: BTreeMap<i32, usize> = BTreeMap::new();
    let mut remark = String::new();
    let mut consecutive = 0;
    while consecutive < 20 {
        let q = (s.seq % 2) as i32;
        match s.send(q) {
            Ok(_) => {
                consecutive = 0;
                // A commit now and then (the last ones may already find the disk full).
                if s.acked.len() % 50 == 1 {
                    let _ = s.commit(0, s.seq as i64);
                }
            }
            Err((code, r)) => {
                consecutive += 1;
                *failures.entry(code).or_default() += 1;
                remark = r;
            }
        }
        assert!(
            s.acked.len() < 100_000,
            "sends never failed: is the disk really that small?"
        );
    }
    assert_eq!(
        failures.keys().copied().collect::<Vec<_>>(),
        [rs::SERVICE_NOT_AVAILABLE],
        "failed sends are answered SERVICE_NOT_AVAILABLE ({remark})"
    );
    assert!(
        remark.contains("No space left on device"),
        "the answer names the cause: {remark}"
    );
    let before_full = s.acked.len();
    assert!(
        before_full > 500,
        "{before_full} sends before the disk filled"
    );
    let filler = fill_up(&disk.path().join("filler"));

    // 2. Completely full: the broker answers everything, writes fail cleanly.
    for q in 0..QUEUES {
        for _ in 0..5 {
            let (code, r) = s.send(q).expect_err("a send on a full disk");
            assert_eq!(code, rs::SERVICE_NOT_AVAILABLE, "{r}");
        }
    }
    s.heartbeat();
    s.check_messages("disk full");
    let (mut ok, mut refused) = (0, 0);
    for i in 0..300 {
        match s.commit(i % QUEUES, 1_000_000 + i64::from(i)) {
            Ok(()) => ok += 1,
            Err((code, r)) => {
                assert_eq!(code, rs::SYSTEM_ERROR, "{r}");
                refused += 1;
            }
        }
    }
    // On tmpfs the filler takes the last byte; btrfs' space accounting is lumpier (the filler
    // may not even be created while the log still has room in allocated blocks).
    if !mode.starts_with("btrfs") {
        assert!(
            refused > 0,
            "commits on a full disk: {ok} stored, none refused"
        );
    }
    s.check_commits("disk full");
    // A topic change needs the disk too: answered either way.
    let topic_change = s.rt.block_on(
        s.client
            .create_topic(&s.broker, &TopicConfig::new("DiskFullOther", 1)),
    );
    if let Err(e) = &topic_change {
        assert!(
            e.code().is_some(),
            "create topic on a full disk: no answer: {e}"
        );
    }
    assert!(server.is_running(), "the broker survived the full disk");
    eprintln!(
        "disk_full ({mode}): {before_full} sends fitted, then refused ({remark}); filler {filler} bytes; {ok} commits stored and {refused} refused on the full disk"
    );

    // 3. Room again: writes succeed again without a restart.
    disk.make_room();
    for q in 0..QUEUES {
        for _ in 0..20 {
            s.send(q)
                .unwrap_or_else(|e| panic!("send to queue {q} after room came back: {e:?}"));
        }
    }
    for q in 0..QUEUES {
        s.commit(q, 2_000_000 + i64::from(q))
            .unwrap_or_else(|e| panic!("commit after room came back: {e:?}"));
    }
    s.check_messages("room again");
    s.check_commits("room again");
    // The broker rewrites its JSON config files (topics, subscription groups) in the background
    // and retries a failed write after 1 s; its shutdown reports a write that failed on the full
    // disk and was not retried yet as an error. Give the retry time to land.
    std::thread::sleep(Duration::from_millis(1500));

    // 4. A clean stop and a restart keep everything acknowledged.
    s.client.remoting.close();
    assert!(server.stop().success(), "clean exit on SIGTERM");
    server.restart();
    s.connect(&server);
    s.check_messages("after restart");
    s.check_commits("after restart");
    let out = server.output();
    assert!(
        !out.contains("panicked"),
        "the broker panicked:\n{}",
        server.output_tail(100)
    );
    assert!(
        out.contains("message store append failed"),
        "the broker logged the failed append"
    );
    s.client.remoting.close();
    assert!(server.stop().success(), "clean exit on SIGTERM");
    drop(server);
    eprintln!(
        "disk_full ({mode}): passed in {:.1} s; {} messages acknowledged in all",
        started.elapsed().as_secs_f64(),
        s.acked.len()
    );
}

#[test]
fn full_disk_fails_writes_cleanly_and_recovers_when_room_returns() {
    match Disk::tmpfs("24m") {
        Ok(disk) => {
            scenario("mapped", disk);
            // The write path of copy-on-write file systems, forced (the broker inherits it).
            std::env::set_var(WRITE_MODE_ENV, "pwrite");
            let disk = Disk::tmpfs("24m").expect("a second tmpfs");
            scenario("pwrite", disk);
            std::env::remove_var(WRITE_MODE_ENV);
        }
        Err(e) => {
            eprintln!("disk_full: SKIPPED: cannot mount a tmpfs (needs root / CAP_SYS_ADMIN): {e}")
        }
    }
    // Opt-in (needs mkfs.btrfs and loop devices): FERROMQ_TEST_BTRFS=1; the broker's write mode
    // there can be forced with FERROMQ_TEST_BTRFS_WRITE_MODE (e.g. `mapped`, to see the hazard).
    if std::env::var("FERROMQ_TEST_BTRFS").is_ok_and(|v| v == "1") {
        let disk = Disk::btrfs(96, 30).expect("a btrfs loop mount");
        let forced = std::env::var("FERROMQ_TEST_BTRFS_WRITE_MODE").ok();
        if let Some(m) = &forced {
            std::env::set_var(WRITE_MODE_ENV, m);
        }
        scenario(
            if forced.is_some() {
                "btrfs-forced"
            } else {
                "btrfs"
            },
            disk,
        );
        std::env::remove_var(WRITE_MODE_ENV);
    }
}

/// The variable that overrides the store's write-mode detection (`ferromq_store::WRITE_MODE_ENV`;
/// this test crate does not depend on the store crate).
const WRITE_MODE_ENV: &str = "FERROMQ_STORE_WRITE_MODE";
