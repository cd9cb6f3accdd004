//! The compact ROCKETMQ binary header (serialize type 1).
//!
//! Layout: code i16, language u8, version i16, opaque i32, flag i32, remark (i32 len + UTF-8),
//! extFields (i32 byte length, then repeated i16 key len + key, i32 value len + value).
//! A zero length means null. Every length is checked against what remains.

use bytes::{Buf, BufMut};

use crate::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use crate::error::ProtocolError;

const MIN_LEN: usize = 21;

/// Decodes a binary header into a command with an empty body.
///
/// # Errors
/// [`ProtocolError::BadBinaryHeader`] on any length that runs past the header.
pub fn decode(mut buf: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    if buf.len() < MIN_LEN {
        return Err(ProtocolError::BadBinaryHeader("shorter than 21 bytes"));
    }
    let code = buf.get_i16() as i32;
    let language = LanguageCode(buf.get_u8());
    let version = buf.get_i16() as i32;
    let opaque = buf.get_i32();
    let flag = buf.get_i32();
    let remark = read_string(&mut buf, 4)?;
    if buf.remaining() < 4 {
        return Err(ProtocolError::BadBinaryHeader("missing extFields length"));
    }
    let ext_len = buf.get_i32();
    if ext_len < 0 || ext_len as usize > buf.remaining() {
        return Err(ProtocolError::BadBinaryHeader(
            "extFields length out of range",
        ));
    }
    let mut ext = &buf[..ext_len as usize];
    let mut ext_fields = ExtFields::new();
    while ext.has_remaining() {
        let key = read_string(&mut ext, 2)?;
        let value = read_string(&mut ext, 4)?;
        if let (Some(k), Some(v)) = (key, value) {
            ext_fields.insert(k, v);
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        serialize_type: SerializeType::RocketMq,
        body: bytes::Bytes::new(),
    })
}

fn read_string(buf: &mut &[u8], len_width: usize) -> Result<Option<String>, ProtocolError> {
    if buf.remaining() < len_width {
        return Err(ProtocolError::BadBinaryHeader("truncated string length"));
    }
    let len = if len_width == 2 {
        buf.get_i16() as i64
    } else {
        buf.get_i32() as i64
    };
    if len < 0 || len as usize > buf.remaining() {
        return Err(ProtocolError::BadBinaryHeader("string length out of range"));
    }
    if len == 0 {
        return Ok(None);
    }
    let (s, rest) = buf.split_at(len as usize);
    *buf = rest;
    String::from_utf8(s.to_vec())
        .map(Some)
        .map_err(|_| ProtocolError::BadBinaryHeader("string is not UTF-8"))
}

/// Whether `cmd` can be carried by the binary header (codes are truncated to 16 bits).
pub fn fits(cmd: &RemotingCommand) -> bool {
    i16::try_from(cmd.code).is_ok() && i16::try_from(cmd.version).is_ok()
}

/// Appends the binary header of `cmd` to `out`. Callers check [`fits`] first.
pub fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language.0);
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    match &cmd.remark {
        Some(r) if !r.is_empty() => {
            out.put_i32(r.len() as i32);
            out.put_slice(r.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let len_pos = out.len();
    out.put_i32(0);
    for (k, v) in &cmd.ext_fields {
        if k.is_empty() || v.is_empty() || k.len() > i16::MAX as usize {
            continue; // null-equivalent entries are skipped, as upstream does
        }
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
    let ext_len = (out.len() - len_pos - 4) as i32;
    out[len_pos..len_pos + 4].copy_from_slice(&ext_len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let mut cmd = RemotingCommand::request(310)
            .with_ext("a", "g")
            .with_ext("b", "T");
        cmd.opaque = 9;
        cmd.remark = Some("hi".into());
        cmd.serialize_type = SerializeType::RocketMq;
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        assert_eq!(decode(&out).unwrap(), cmd);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&data);
        }
    }
}
