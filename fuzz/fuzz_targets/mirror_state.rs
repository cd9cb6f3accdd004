//! The mirror's `state.json` decoder (`ferromq_mirror::state::decode`): header line with
//! version, CRC32 and length, then the JSON state whose offset maps are validated on load.
//! Flag bit 0 of the first byte frames the rest with a correct header (so the fuzzer reaches
//! the JSON and the map invariants); otherwise the rest is decoded as the file's bytes.
//! Decoded states go through the offset translation the mirror runs on them.
#![no_main]

use ferromq_mirror::state;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let decoded = if flags & 1 != 0 {
        state::decode(&ferromq_fuzz::frame_mirror_state(rest))
    } else {
        state::decode(rest)
    };
    let Ok(s) = decoded else { return };
    for q in s.queues.values() {
        let _ = q.map.validate();
        let _ = q.aliases.validate();
        let mut probes = vec![i64::MIN, -1, 0, i64::MAX];
        for m in [&q.map, &q.aliases] {
            probes.extend(m.src_next());
            for seg in m.segments().iter().take(16) {
                probes.extend([
                    seg.src,
                    seg.src.saturating_add(seg.len),
                    seg.src.saturating_sub(1),
                ]);
            }
        }
        for p in probes {
            let _ = q.translate(p);
        }
    }
    for a in s.applied.values() {
        let _ = (a.src, a.tgt);
    }
    let _ = serde_json::to_vec(&s);
});
