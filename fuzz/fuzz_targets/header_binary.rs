//! The compact binary header decoder (serialize type 1, ROCKETMQ), then the typed header
//! accessors on the decoded command.
#![no_main]

use ferromq_protocol::header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = header::binary::decode(data) {
        ferromq_fuzz::exercise_command(&cmd);
        if header::binary::fits(&cmd) {
            let mut out = Vec::new();
            header::binary::encode(&cmd, &mut out);
            let _ = header::binary::decode(&out);
        }
    }
});
