//! The upstream `consumerOffset.json` parser (`ferromq_offsets::parse_rocketmq_offsets`), as used
//! by imports (FERRO_IMPORT_OFFSETS with `rocketmqJson`) and `load_rocketmq_offsets_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = ferromq_offsets::parse_rocketmq_offsets(data) {
        for (k, _) in &entries {
            let _ = ferromq_offsets::validate_name("group", &k.group);
            let _ = ferromq_offsets::validate_name("topic", &k.topic);
        }
    }
});
