//! The JSON header decoder (serialize type 0, RemotingSerializable; standard and fastjson text),
//! then the typed header accessors on the decoded command.
#![no_main]

use ferromq_protocol::header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = header::json::decode(data) {
        ferromq_fuzz::exercise_command(&cmd);
        // What a response to it looks like on the wire, decoded again.
        let mut out = Vec::new();
        header::json::encode(&cmd, &mut out);
        let _ = header::json::decode(&out);
    }
});
