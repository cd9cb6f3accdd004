//! The upstream `consumerOffset.json` parser (`ferromq_protocol::body::consumer_offset::parse`),
//! shared by the broker's imports (FERRO_IMPORT_OFFSETS with `rocketmqJson`), `ferromq admin
//! offsets import --rocketmq` and the mirror.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = ferromq_protocol::body::consumer_offset::parse(data) {
        for (k, _) in &entries {
            let _ = ferromq_offsets::validate_name("group", &k.group);
            let _ = ferromq_offsets::validate_name("topic", &k.topic);
        }
    }
});
