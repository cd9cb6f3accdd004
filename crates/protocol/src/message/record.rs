//! The stored message record (upstream `MessageExt` encoding), big-endian:
//!
//! | field | size |
//! |---|---|
//! | totalSize | 4 |
//! | magic | 4 |
//! | bodyCRC | 4 |
//! | queueId | 4 |
//! | flag | 4 |
//! | queueOffset | 8 |
//! | physicalOffset | 8 |
//! | sysFlag | 4 |
//! | bornTimestamp | 8 |
//! | bornHost | 8 (IPv4 + port:i32) or 20 (IPv6) |
//! | storeTimestamp | 8 |
//! | storeHost | 8 or 20 |
//! | reconsumeTimes | 4 |
//! | preparedTransactionOffset | 8 |
//! | bodyLength + body | 4 + n |
//! | topicLength + topic | 1 + t (V1 magic) or 2 + t (V2 magic) |
//! | propertiesLength + properties | 2 + p |
//!
//! The broker encodes a record once with [`encode_record`]; the store fills in the three fields
//! only it knows (queue offset, physical offset, store time) with [`patch_record`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Buf, BufMut, Bytes};

use crate::codes::sys_flag;
use crate::error::ProtocolError;

pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Marks the end-of-file padding of a commit-log segment.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Fixed positions of the fields every record has before the born host.
pub mod pos {
    pub const TOTAL_SIZE: usize = 0;
    pub const MAGIC: usize = 4;
    pub const BODY_CRC: usize = 8;
    pub const QUEUE_ID: usize = 12;
    pub const FLAG: usize = 16;
    pub const QUEUE_OFFSET: usize = 20;
    pub const PHYSICAL_OFFSET: usize = 28;
    pub const SYS_FLAG: usize = 36;
    pub const BORN_TIMESTAMP: usize = 40;
    pub const BORN_HOST: usize = 48;
}

/// Position of the store timestamp, which depends on the born host's width.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    pos::BORN_HOST + host_len(sys_flag & sys_flag::BORNHOST_V6 != 0)
}

fn host_len(v6: bool) -> usize {
    if v6 {
        20
    } else {
        8
    }
}

/// A message as the broker hands it to the store, before it has a place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub properties: String,
}

/// The length [`encode_record`] will produce for `m`.
pub fn record_len(m: &NewMessage) -> usize {
    let topic_len_width = if m.topic.len() > 127 { 2 } else { 1 };
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(m.born_host.is_ipv6())
        + 8
        + host_len(m.store_host.is_ipv6())
        + 4
        + 8
        + 4
        + m.body.len()
        + topic_len_width
        + m.topic.len()
        + 2
        + m.properties.len()
}

/// Appends the record of `m` to `out`, with queue offset, physical offset and store time 0.
///
/// # Errors
/// A topic over 65535 bytes or properties over 32767 bytes.
pub fn encode_record(m: &NewMessage, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
    if m.properties.len() > MAX_PROPERTIES_LEN {
        return Err(ProtocolError::BadRecord(
            "properties longer than 32767 bytes",
        ));
    }
    if m.topic.len() > u16::MAX as usize {
        return Err(ProtocolError::BadRecord("topic too long"));
    }
    let mut flags = m.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
    if m.born_host.is_ipv6() {
        flags |= sys_flag::BORNHOST_V6;
    }
    if m.store_host.is_ipv6() {
        flags |= sys_flag::STOREHOST_V6;
    }
    let v2 = m.topic.len() > 127;
    let total = record_len(m);
    out.reserve(total);
    out.put_i32(total as i32);
    out.put_i32(if v2 { MAGIC_V2 } else { MAGIC_V1 });
    out.put_i32((crc32fast::hash(&m.body) & 0x7FFF_FFFF) as i32);
    out.put_i32(m.queue_id);
    out.put_i32(m.flag);
    out.put_i64(0);
    out.put_i64(0);
    out.put_i32(flags);
    out.put_i64(m.born_timestamp);
    put_host(out, m.born_host);
    out.put_i64(0);
    put_host(out, m.store_host);
    out.put_i32(m.reconsume_times);
    out.put_i64(m.prepared_transaction_offset);
    out.put_i32(m.body.len() as i32);
    out.put_slice(&m.body);
    if v2 {
        out.put_u16(m.topic.len() as u16);
    } else {
        out.put_u8(m.topic.len() as u8);
    }
    out.put_slice(m.topic.as_bytes());
    out.put_i16(m.properties.len() as i16);
    out.put_slice(m.properties.as_bytes());
    Ok(())
}

fn put_host(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(addr.port() as i32);
}

/// Fills in the fields the store assigns. `rec` must be a record made by [`encode_record`].
pub fn patch_record(rec: &mut [u8], queue_offset: i64, physical_offset: i64, store_timestamp: i64) {
    rec[pos::QUEUE_OFFSET..pos::QUEUE_OFFSET + 8].copy_from_slice(&queue_offset.to_be_bytes());
    rec[pos::PHYSICAL_OFFSET..pos::PHYSICAL_OFFSET + 8]
        .copy_from_slice(&physical_offset.to_be_bytes());
    let flags = i32::from_be_bytes(
        rec[pos::SYS_FLAG..pos::SYS_FLAG + 4]
            .try_into()
            .unwrap_or([0; 4]),
    );
    let ts = store_timestamp_pos(flags);
    rec[ts..ts + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

/// Appends a stored record again with other properties and reconsume count (a POP delivery
/// carries its checkpoint and attempt), keeping every field the store assigned.
///
/// # Errors
/// As [`encode_record`].
pub fn encode_redelivered(
    m: &DecodedMessage,
    properties: String,
    reconsume_times: i32,
    out: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    let start = out.len();
    let fresh = NewMessage {
        topic: m.topic.clone(),
        queue_id: m.queue_id,
        flag: m.flag,
        sys_flag: m.sys_flag,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        store_host: m.store_host,
        reconsume_times,
        prepared_transaction_offset: m.prepared_transaction_offset,
        body: m.body.clone(),
        properties,
    };
    encode_record(&fresh, out)?;
    patch_record(
        &mut out[start..],
        m.queue_offset,
        m.physical_offset,
        m.store_timestamp,
    );
    Ok(())
}

/// A record read back from the log or a pull response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedMessage {
    pub total_size: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub topic: String,
    pub properties: String,
}

impl DecodedMessage {
    /// The broker's id for this message.
    pub fn offset_msg_id(&self) -> String {
        super::offset_msg_id(self.store_host, self.physical_offset)
    }

    /// Parsed properties.
    pub fn properties_map(&self) -> super::Properties {
        super::parse_properties(&self.properties)
    }
}

fn need(buf: &Bytes, n: usize, what: &'static str) -> Result<(), ProtocolError> {
    if buf.remaining() < n {
        Err(ProtocolError::BadRecord(what))
    } else {
        Ok(())
    }
}

fn get_host(buf: &mut Bytes, v6: bool) -> Result<SocketAddr, ProtocolError> {
    need(buf, host_len(v6), "truncated host")?;
    let ip = if v6 {
        let mut o = [0u8; 16];
        buf.copy_to_slice(&mut o);
        IpAddr::V6(Ipv6Addr::from(o))
    } else {
        let mut o = [0u8; 4];
        buf.copy_to_slice(&mut o);
        IpAddr::V4(Ipv4Addr::from(o))
    };
    let port = buf.get_i32();
    Ok(SocketAddr::new(ip, port.clamp(0, u16::MAX as i32) as u16))
}

/// Decodes one record from the front of `buf`, returning it and the bytes it used.
///
/// # Errors
/// [`ProtocolError::BadRecord`] for a bad magic or any length that runs past the record.
pub fn decode_record(buf: &Bytes) -> Result<(DecodedMessage, usize), ProtocolError> {
    if buf.len() < 8 {
        return Err(ProtocolError::BadRecord("shorter than a record header"));
    }
    let total = i32::from_be_bytes(buf[0..4].try_into().unwrap_or_default());
    if total < 8 || total as usize > buf.len() {
        return Err(ProtocolError::BadRecord("total size out of range"));
    }
    let mut b = buf.slice(..total as usize);
    b.advance(4);
    let magic = b.get_i32();
    let v2 = match magic {
        MAGIC_V1 => false,
        MAGIC_V2 => true,
        _ => return Err(ProtocolError::BadRecord("unknown magic code")),
    };
    need(&b, 4 * 3 + 8 * 2 + 4 + 8, "truncated fixed fields")?;
    let body_crc = b.get_i32();
    let queue_id = b.get_i32();
    let flag = b.get_i32();
    let queue_offset = b.get_i64();
    let physical_offset = b.get_i64();
    let sys_flag = b.get_i32();
    let born_timestamp = b.get_i64();
    let born_host = get_host(&mut b, sys_flag & sys_flag::BORNHOST_V6 != 0)?;
    need(&b, 8, "truncated store timestamp")?;
    let store_timestamp = b.get_i64();
    let store_host = get_host(&mut b, sys_flag & sys_flag::STOREHOST_V6 != 0)?;
    need(&b, 4 + 8 + 4, "truncated tail fields")?;
    let reconsume_times = b.get_i32();
    let prepared_transaction_offset = b.get_i64();
    let body_len = b.get_i32();
    if body_len < 0 {
        return Err(ProtocolError::BadRecord("negative body length"));
    }
    need(&b, body_len as usize, "truncated body")?;
    let body = b.split_to(body_len as usize);
    let topic_len = if v2 {
        need(&b, 2, "truncated topic length")?;
        b.get_u16() as usize
    } else {
        need(&b, 1, "truncated topic length")?;
        b.get_u8() as usize
    };
    need(&b, topic_len, "truncated topic")?;
    let topic = String::from_utf8(b.split_to(topic_len).to_vec())
        .map_err(|_| ProtocolError::BadRecord("topic is not UTF-8"))?;
    need(&b, 2, "truncated properties length")?;
    let props_len = b.get_i16();
    if props_len < 0 {
        return Err(ProtocolError::BadRecord("negative properties length"));
    }
    need(&b, props_len as usize, "truncated properties")?;
    let properties = String::from_utf8_lossy(&b.split_to(props_len as usize)).into_owned();
    Ok((
        DecodedMessage {
            total_size: total,
            body_crc,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            topic,
            properties,
        },
        total as usize,
    ))
}

/// Decodes a pull response body: records back to back until the buffer ends.
///
/// # Errors
/// The first record that does not decode.
pub fn decode_records(buf: &Bytes) -> Result<Vec<DecodedMessage>, ProtocolError> {
    let mut out = Vec::new();
    let mut rest = buf.clone();
    while !rest.is_empty() {
        let (m, used) = decode_record(&rest)?;
        out.push(m);
        rest.advance(used);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(topic: &str) -> NewMessage {
        NewMessage {
            topic: topic.into(),
            queue_id: 3,
            flag: 7,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "127.0.0.1:5555".parse().unwrap(),
            store_host: "10.0.0.1:10911".parse().unwrap(),
            reconsume_times: 1,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"hello"),
            properties: "TAGS\u{1}A\u{2}".into(),
        }
    }

    #[test]
    fn encode_patch_decode() {
        let m = sample("TopicTest");
        let mut rec = Vec::new();
        encode_record(&m, &mut rec).unwrap();
        assert_eq!(rec.len(), record_len(&m));
        patch_record(&mut rec, 42, 4096, 1_700_000_000_123);
        let (d, used) = decode_record(&Bytes::from(rec)).unwrap();
        assert_eq!(used, record_len(&m));
        assert_eq!(d.queue_offset, 42);
        assert_eq!(d.physical_offset, 4096);
        assert_eq!(d.store_timestamp, 1_700_000_000_123);
        assert_eq!(d.body, m.body);
        assert_eq!(d.topic, "TopicTest");
        assert_eq!(d.properties, m.properties);
        assert_eq!(d.store_host, m.store_host);
        assert_eq!(d.body_crc, (crc32fast::hash(b"hello") & 0x7FFF_FFFF) as i32);
    }

    #[test]
    fn redelivered_record_keeps_store_fields_and_takes_new_properties() {
        let m = sample("TopicTest");
        let mut rec = Vec::new();
        encode_record(&m, &mut rec).unwrap();
        patch_record(&mut rec, 42, 4096, 1_700_000_000_123);
        let (stored, _) = decode_record(&Bytes::from(rec)).unwrap();
        let mut out = vec![0xAB]; // appends after what is there
        encode_redelivered(&stored, "POP_CK\u{1}x\u{2}".into(), 3, &mut out).unwrap();
        let (again, _) = decode_record(&Bytes::from(out[1..].to_vec())).unwrap();
        assert_eq!(again.queue_offset, 42);
        assert_eq!(again.physical_offset, 4096);
        assert_eq!(again.store_timestamp, stored.store_timestamp);
        assert_eq!(again.reconsume_times, 3);
        assert_eq!(again.properties, "POP_CK\u{1}x\u{2}");
        assert_eq!(again.body, stored.body);
    }

    #[test]
    fn long_topics_use_v2_and_v6_hosts_are_flagged() {
        let mut m = sample(&"t".repeat(200));
        m.born_host = "[::1]:5".parse().unwrap();
        let mut rec = Vec::new();
        encode_record(&m, &mut rec).unwrap();
        patch_record(&mut rec, 1, 2, 3);
        let (d, _) = decode_record(&Bytes::from(rec)).unwrap();
        assert_eq!(d.topic.len(), 200);
        assert_eq!(d.born_host, m.born_host);
        assert_eq!(d.store_timestamp, 3);
        assert_ne!(d.sys_flag & sys_flag::BORNHOST_V6, 0);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_records(&Bytes::from(data));
        }
    }
}

/// The encoded properties of one stored record, found without decoding the rest (the broker's
/// property filter reads them for every candidate message). `None` for a record that does not
/// hold together.
pub fn record_properties(rec: &[u8]) -> Option<&[u8]> {
    let be_i32 = |at: usize| -> Option<i32> {
        rec.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
    };
    let total = usize::try_from(be_i32(0)?).ok()?;
    let rec = rec.get(..total)?;
    let v2 = match be_i32(4)? {
        MAGIC_V1 => false,
        MAGIC_V2 => true,
        _ => return None,
    };
    // total, magic, body crc, queue id, flag, queue offset, physical offset: 4*5 + 8*2.
    let sys_flag = be_i32(36)?;
    let host_len = |v6: bool| if v6 { 16 + 4 } else { 4 + 4 };
    let mut at = 40 + 8; // sys flag, born timestamp
    at += host_len(sys_flag & sys_flag::BORNHOST_V6 != 0) + 8;
    at += host_len(sys_flag & sys_flag::STOREHOST_V6 != 0);
    at += 4 + 8; // reconsume times, prepared transaction offset
    let body_len = usize::try_from(be_i32(at)?).ok()?;
    at = at.checked_add(4 + body_len)?;
    let topic_len = if v2 {
        let b = rec.get(at..at + 2)?;
        at += 2;
        usize::from(u16::from_be_bytes([b[0], b[1]]))
    } else {
        let b = rec.get(at)?;
        at += 1;
        usize::from(*b)
    };
    at = at.checked_add(topic_len)?;
    let b = rec.get(at..at + 2)?;
    let props_len = usize::try_from(i16::from_be_bytes([b[0], b[1]])).ok()?;
    rec.get(at + 2..at + 2 + props_len)
}

#[cfg(test)]
mod record_properties_tests {
    use super::*;

    #[test]
    fn finds_the_properties_of_v1_and_v6_hosts_and_refuses_truncations() {
        for born_v6 in [false, true] {
            let m = NewMessage {
                topic: "TopicT".into(),
                queue_id: 1,
                flag: 0,
                sys_flag: if born_v6 { sys_flag::BORNHOST_V6 } else { 0 },
                born_timestamp: 5,
                born_host: if born_v6 {
                    "[::1]:9".parse().unwrap()
                } else {
                    "127.0.0.1:9".parse().unwrap()
                },
                store_host: "127.0.0.1:2".parse().unwrap(),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: Bytes::from_static(b"hello"),
                properties: "a\u{1}1\u{2}TAGS\u{1}x\u{2}".into(),
            };
            let mut out = Vec::new();
            encode_record(&m, &mut out).unwrap();
            assert_eq!(
                record_properties(&out),
                Some("a\u{1}1\u{2}TAGS\u{1}x\u{2}".as_bytes())
            );
            for cut in 0..out.len() {
                assert_eq!(record_properties(&out[..cut]), None, "cut at {cut}");
            }
        }
    }
}
