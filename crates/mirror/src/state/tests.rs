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
            reason.to_string()
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
    let back: Option<serde_json::Value> = StateDir::read_json(tmp.path(), "status.json").unwrap();
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

#[test]
fn decode_errors_are_typed() {
    assert!(matches!(decode(b""), Err(DecodeError::Empty)));
    assert!(matches!(
        decode(b"ferromq-mirror-state 2 00000000 0\n"),
        Err(DecodeError::UnknownVersion { version }) if version == "2"
    ));
    let mut b = encode(&sample()).unwrap();
    let last = b.len() - 2;
    b[last] ^= 0x01;
    assert!(matches!(decode(&b), Err(DecodeError::CrcMismatch { .. })));

    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join(STATE_FILE),
        b"ferromq-mirror-state 1 00000000 9\n{}",
    )
    .unwrap();
    assert!(matches!(
        StateDir::open(tmp.path()),
        Err(StateError::Corrupt {
            reason: DecodeError::LengthMismatch {
                expected: 9,
                actual: 2
            },
            ..
        })
    ));
}
