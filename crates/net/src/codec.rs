//! [`RemotingCodec`]: length-prefixed frames with a size limit checked before buffering.
//!
//! Decoding does not copy: a complete frame is split off the read buffer
//! (`split_to(..).freeze()`) and the command's body is a slice of it. Encoding copies: the
//! header and the body are written into the `BytesMut` that `FramedWrite` flushes to the
//! socket, one `memcpy` of the body per frame. Avoiding that copy would take a vectored write
//! of header and body in the connection's write loop, not a codec change.

use bytes::{Buf, BufMut, BytesMut};
use ferromq_protocol::{decode_frame, encode_frame_header, ProtocolError, RemotingCommand};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::NetError;

/// Most the read buffer grows ahead of the bytes that have arrived.
const READ_RESERVE_STEP: usize = 64 * 1024;

/// Frame codec. A frame larger than `max_frame` is an error: the connection is closed
/// before any of it is buffered.
#[derive(Debug, Clone)]
pub struct RemotingCodec {
    max_frame: usize,
    header_buf: Vec<u8>,
}

impl RemotingCodec {
    pub fn new(max_frame: usize) -> Self {
        Self {
            max_frame,
            header_buf: Vec::with_capacity(256),
        }
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = NetError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, NetError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.max_frame {
            return Err(ProtocolError::FrameTooLarge {
                len,
                max: self.max_frame,
            }
            .into());
        }
        if src.len() < 4 + len {
            // Grow with what actually arrives, not with what the length prefix promises: four
            // bytes claiming 16 MiB must not reserve 16 MiB per idle connection.
            src.reserve((4 + len - src.len()).min(READ_RESERVE_STEP));
            return Ok(None);
        }
        src.advance(4);
        let frame = src.split_to(len).freeze();
        Ok(Some(decode_frame(frame)?))
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = NetError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), NetError> {
        self.header_buf.clear();
        encode_frame_header(&cmd, &mut self.header_buf);
        dst.reserve(self.header_buf.len() + cmd.body.len());
        dst.put_slice(&self.header_buf);
        dst.put_slice(&cmd.body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_oversized_frames_before_buffering() {
        let mut codec = RemotingCodec::new(1024);
        let mut buf = BytesMut::from(&(2048u32).to_be_bytes()[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(NetError::Protocol(ProtocolError::FrameTooLarge { .. }))
        ));
    }

    #[test]
    fn a_length_prefix_alone_does_not_reserve_the_frame() {
        let mut codec = RemotingCodec::new(16 << 20);
        let mut buf = BytesMut::new();
        buf.put_u32(16 << 20);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(
            buf.capacity() <= 4 + READ_RESERVE_STEP,
            "{}",
            buf.capacity()
        );
    }

    #[test]
    fn round_trip_in_pieces() {
        let mut codec = RemotingCodec::new(1 << 20);
        let mut out = BytesMut::new();
        let cmd = RemotingCommand::request(34).with_body(bytes::Bytes::from_static(b"{}"));
        codec.encode(cmd.clone(), &mut out).unwrap();
        codec.encode(cmd.clone(), &mut out).unwrap();
        let mut input = BytesMut::new();
        let mut got = Vec::new();
        for b in out.iter() {
            input.put_u8(*b);
            if let Some(c) = codec.decode(&mut input).unwrap() {
                got.push(c);
            }
        }
        assert_eq!(got, vec![cmd.clone(), cmd]);
    }
}
