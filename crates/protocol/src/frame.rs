//! One frame: `frameLength:i32 | headerLenAndType:i32 | header | body`, big-endian.
//!
//! `frameLength` counts everything after itself. The top byte of `headerLenAndType` is the
//! serialize type, the low 24 bits the header length.

use bytes::{Buf, Bytes};

use crate::command::{RemotingCommand, SerializeType};
use crate::error::ProtocolError;
use crate::header;

/// Upstream's default frame limit, 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Decodes a frame whose 4-byte length prefix has already been stripped.
///
/// The body is a zero-copy slice of `frame` (it shares, and keeps alive, `frame`'s buffer).
/// `ferromq_net`'s codec hands in a frame split off its read buffer without copying, so an
/// incoming body is never copied on its way to a handler.
///
/// # Errors
/// Any length that does not fit, an unknown serialize type, or a malformed header.
pub fn decode_frame(mut frame: Bytes) -> Result<RemotingCommand, ProtocolError> {
    if frame.len() < 4 {
        return Err(ProtocolError::FrameTooShort(frame.len()));
    }
    let len_and_type = frame.get_u32();
    let kind = (len_and_type >> 24) as u8;
    let header_len = (len_and_type & 0x00FF_FFFF) as usize;
    if header_len > frame.len() {
        return Err(ProtocolError::HeaderTooLong {
            header: header_len,
            frame: frame.len() + 4,
        });
    }
    let header_bytes = frame.split_to(header_len);
    let mut cmd = match kind {
        0 => header::json::decode(&header_bytes)?,
        1 => header::binary::decode(&header_bytes)?,
        other => return Err(ProtocolError::UnknownSerializeType(other)),
    };
    cmd.body = frame;
    Ok(cmd)
}

/// Writes the length prefix, the header-length word and the header of `cmd` into `out`, but
/// not the body (`cmd.body`): the caller writes it right after these bytes, however it likes.
/// `ferromq_net`'s codec copies it into the connection's write buffer (one `memcpy` per
/// frame, which lets a burst of frames go out in one write); [`encode_frame`] copies it into
/// the returned buffer. A writer that must not copy large bodies can send these bytes and the
/// body with one vectored write instead.
///
/// The header uses `cmd.serialize_type`, falling back to JSON when a binary header cannot
/// carry the code.
pub fn encode_frame_header(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    let kind = match cmd.serialize_type {
        SerializeType::RocketMq if header::binary::fits(cmd) => {
            header::binary::encode(cmd, out);
            SerializeType::RocketMq
        }
        _ => {
            header::json::encode(cmd, out);
            SerializeType::Json
        }
    };
    let header_len = out.len() - start - 8;
    let frame_len = 4 + header_len + cmd.body.len();
    out[start..start + 4].copy_from_slice(&(frame_len as u32).to_be_bytes());
    let word = ((kind as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
    out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
}

/// Encodes a whole frame (header and body) into one buffer.
pub fn encode_frame(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + cmd.body.len());
    encode_frame_header(cmd, &mut out);
    out.extend_from_slice(&cmd.body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(cmd: &RemotingCommand) -> RemotingCommand {
        let bytes = encode_frame(cmd);
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(len, bytes.len() - 4);
        decode_frame(Bytes::copy_from_slice(&bytes[4..])).unwrap()
    }

    #[test]
    fn both_encodings_round_trip() {
        for st in [SerializeType::Json, SerializeType::RocketMq] {
            let mut cmd = RemotingCommand::request(11)
                .with_ext("topic", "T")
                .with_body(Bytes::from_static(b"payload"));
            cmd.opaque = 42;
            cmd.serialize_type = st;
            let back = round_trip(&cmd);
            assert_eq!(back, cmd);
        }
    }

    #[test]
    fn large_codes_fall_back_to_json() {
        let mut cmd = RemotingCommand::request(200050);
        cmd.serialize_type = SerializeType::RocketMq;
        let back = round_trip(&cmd);
        assert_eq!(back.code, 200050);
        assert_eq!(back.serialize_type, SerializeType::Json);
    }

    #[test]
    fn bad_frames_are_errors() {
        assert!(decode_frame(Bytes::from_static(&[0, 0])).is_err());
        // header length 100 in a 4-byte frame
        assert!(decode_frame(Bytes::from_static(&[0, 0, 0, 100])).is_err());
        // serialize type 7
        assert!(decode_frame(Bytes::from_static(&[7, 0, 0, 0])).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_frame(Bytes::from(data));
        }
    }
}
