//! The Remoting frame decoder: `decode_frame` on the whole input (a frame whose length prefix
//! was stripped), then the input as a byte stream cut into length-prefixed frames the way the
//! net codec does (`frameLength:i32be`, limit `DEFAULT_MAX_FRAME`), every decoded command going
//! through the typed header accessors.
#![no_main]

use bytes::Bytes;
use ferromq_protocol::{decode_frame, DEFAULT_MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = decode_frame(Bytes::copy_from_slice(data)) {
        ferromq_fuzz::exercise_command(&cmd);
    }
    // The stream view: frames back to back, as a connection delivers them.
    let stream = Bytes::copy_from_slice(data);
    let mut at = 0usize;
    while stream.len() - at >= 4 {
        let len = u32::from_be_bytes(stream[at..at + 4].try_into().unwrap_or_default()) as usize;
        if len > DEFAULT_MAX_FRAME || stream.len() - at - 4 < len {
            break; // too large: the connection is closed; short: wait for more bytes
        }
        let frame = stream.slice(at + 4..at + 4 + len);
        at += 4 + len;
        match decode_frame(frame) {
            Ok(cmd) => ferromq_fuzz::exercise_command(&cmd),
            Err(_) => break, // a bad frame closes the connection
        }
    }
});
