//! SEND_BATCH_MESSAGE bodies: per message `totalSize:i32, magic:i32, bodyCRC:i32, flag:i32,
//! bodyLen:i32 + body, propertiesLen:i16 + properties`.

use bytes::{Buf, BufMut, Bytes};

use crate::error::ProtocolError;

/// One message inside a batch body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    pub flag: i32,
    pub body: Bytes,
    pub properties: String,
}

/// Splits a batch body into its messages.
///
/// # Errors
/// Any length that runs past the body.
pub fn decode_batch_body(body: &Bytes) -> Result<Vec<BatchItem>, ProtocolError> {
    let mut rest = body.clone();
    let mut out = Vec::new();
    while rest.has_remaining() {
        if rest.remaining() < 20 {
            return Err(ProtocolError::BadRecord("truncated batch entry"));
        }
        let total = rest.get_i32();
        if total < 22 || total as usize - 4 > rest.remaining() {
            return Err(ProtocolError::BadRecord("batch entry size out of range"));
        }
        let mut entry = rest.split_to(total as usize - 4);
        let _magic = entry.get_i32();
        let _crc = entry.get_i32();
        let flag = entry.get_i32();
        let body_len = entry.get_i32();
        if body_len < 0 || body_len as usize + 2 > entry.remaining() {
            return Err(ProtocolError::BadRecord("batch body length out of range"));
        }
        let body = entry.split_to(body_len as usize);
        let props_len = entry.get_i16();
        if props_len < 0 || props_len as usize > entry.remaining() {
            return Err(ProtocolError::BadRecord(
                "batch properties length out of range",
            ));
        }
        let properties = String::from_utf8_lossy(&entry.split_to(props_len as usize)).into_owned();
        out.push(BatchItem {
            flag,
            body,
            properties,
        });
    }
    Ok(out)
}

/// Encodes a batch body (what a producer sends with SEND_BATCH_MESSAGE).
pub fn encode_batch_body(items: &[BatchItem]) -> Vec<u8> {
    let mut out = Vec::new();
    for it in items {
        let total = 4 + 4 + 4 + 4 + 4 + it.body.len() + 2 + it.properties.len();
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(it.flag);
        out.put_i32(it.body.len() as i32);
        out.put_slice(&it.body);
        out.put_i16(it.properties.len() as i16);
        out.put_slice(it.properties.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let items = vec![
            BatchItem {
                flag: 1,
                body: Bytes::from_static(b"a"),
                properties: "K\u{1}V\u{2}".into(),
            },
            BatchItem {
                flag: 0,
                body: Bytes::new(),
                properties: String::new(),
            },
        ];
        let body = Bytes::from(encode_batch_body(&items));
        assert_eq!(decode_batch_body(&body).unwrap(), items);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_batch_body(&Bytes::from(data));
        }
    }
}
