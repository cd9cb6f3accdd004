//! The offset store's on-disk formats: log segments (header + CRC-framed records, replayed into
//! the offset table as recovery does), single records, snapshot images, and (directory mode) a
//! snapshot plus a log segment opened with `OffsetStore::open`. `flags & 3` picks the mode (see
//! `ferromq_fuzz::offsets_flags`); the flags can also fix CRCs and the segment header so the
//! fuzzer reaches the record bodies.
#![no_main]

use ferromq_fuzz::{fix_frames, fix_log_segment, fix_snapshot, offsets_flags as f, scratch_dir};
use ferromq_offsets::{decode, ChangeUndo, OffsetStore, OffsetStoreConfig, Tuning};
use libfuzzer_sys::fuzz_target;

fn directory(flags: u8, data: &[u8]) {
    let Some(tmp) = scratch_dir() else { return };
    if ferromq_fuzz::write_offsets_dir(tmp.path(), flags, data).is_err() {
        return;
    }
    let cfg = OffsetStoreConfig {
        dir: tmp.path().to_path_buf(),
        ..OffsetStoreConfig::default()
    };
    let tuning = Tuning {
        history_limit: 64,
        ..Tuning::default()
    };
    let Ok(store) = OffsetStore::open_with(cfg, tuning) else {
        return;
    };
    let _ = (
        store.entry_count(),
        store.data_version(),
        store.next_change_id(),
    );
    let all = store.all();
    for (k, _) in all.iter().take(8) {
        let _ = store.get(&k.group, &k.topic, k.queue_id);
        let _ = store.group_topic(&k.group, &k.topic);
        let _ = store.intent_for(&k.group, &k.topic, k.queue_id);
    }
    for c in store.history(None, 16) {
        let _ = store.change(c.id);
        let _ = c.undo_draft("fuzz");
    }
    let _ = store.intents(None);
    let _ = store.to_rocketmq_json();
    let _ = store.shutdown();
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    match flags & 3 {
        f::MODE_LOG => {
            let mut seg = rest.to_vec();
            fix_log_segment(&mut seg, flags);
            let _ = decode::log_segment(&seg);
        }
        f::MODE_RECORD => {
            let mut rec = rest.to_vec();
            if flags & f::FIX_CRC != 0 {
                fix_frames(&mut rec, 0);
            }
            let _ = decode::log_record(&rec);
        }
        f::MODE_SNAPSHOT => {
            let mut snap = rest.to_vec();
            if flags & f::FIX_CRC != 0 {
                fix_snapshot(&mut snap);
            }
            let _ = decode::snapshot(&snap);
        }
        _ => directory(flags, rest),
    }
});
