//! Light, allocation-free checks of stored records (the layout itself lives in
//! `ferromq_protocol::message`); used by `put` validation, recovery and reads.

use ferromq_protocol::codes::sys_flag;
use ferromq_protocol::message::{pos, store_timestamp_pos, BLANK_MAGIC, MAGIC_V1, MAGIC_V2};

/// Bytes of the BLANK end-of-segment marker that are meaningful (totalSize + magic).
pub(crate) const BLANK_LEN: usize = 8;

/// The fields the store needs from a record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordMeta<'a> {
    pub total: usize,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
    pub body_crc: i32,
    pub body: &'a [u8],
    pub topic: &'a [u8],
    pub properties: &'a [u8],
}

struct Cur<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let s = self
            .buf
            .get(self.at..end)
            .ok_or("field runs past the record")?;
        self.at = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        self.take(N)?
            .try_into()
            .map_err(|_| "field runs past the record")
    }
    fn i32(&mut self) -> Result<i32, &'static str> {
        Ok(i32::from_be_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(i64::from_be_bytes(self.arr()?))
    }
}

/// Reads a big-endian i32 at `at`, if present.
pub(crate) fn be_i32(buf: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(
        buf.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads a big-endian i64 at `at`, if present.
pub(crate) fn be_i64(buf: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(
        buf.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Parses the record at the front of `buf`, which must be exactly one record long or longer.
/// Checks magic, that every length stays inside `totalSize`, and that the fields end exactly at
/// `totalSize`. Does not check the body CRC (see [`crc_ok`]).
///
/// # Errors
/// A short reason when the bytes are not a well-formed record (the first check that fails).
pub(crate) fn parse(buf: &[u8]) -> Result<RecordMeta<'_>, &'static str> {
    let total = be_i32(buf, pos::TOTAL_SIZE).ok_or("shorter than a record header")?;
    let total = usize::try_from(total).map_err(|_| "negative total size")?;
    let rec = buf.get(..total).ok_or("total size runs past the data")?;
    let mut c = Cur {
        buf: rec,
        at: pos::MAGIC,
    };
    let v2 = match c.i32()? {
        MAGIC_V1 => false,
        MAGIC_V2 => true,
        _ => return Err("bad magic code"),
    };
    let body_crc = c.i32()?;
    let queue_id = c.i32()?;
    let _flag = c.i32()?;
    let queue_offset = c.i64()?;
    let physical_offset = c.i64()?;
    let flags = c.i32()?;
    let _born = c.i64()?;
    c.take(if flags & sys_flag::BORNHOST_V6 != 0 {
        20
    } else {
        8
    })?;
    let store_timestamp = c.i64()?;
    c.take(if flags & sys_flag::STOREHOST_V6 != 0 {
        20
    } else {
        8
    })?;
    let _reconsume = c.i32()?;
    let _prepared = c.i64()?;
    let body_len = usize::try_from(c.i32()?).map_err(|_| "negative body length")?;
    let body = c.take(body_len)?;
    let topic_len = if v2 {
        u16::from_be_bytes(c.arr()?) as usize
    } else {
        u8::from_be_bytes(c.arr()?) as usize
    };
    let topic = c.take(topic_len)?;
    let props_len =
        usize::try_from(i16::from_be_bytes(c.arr()?)).map_err(|_| "negative properties length")?;
    let properties = c.take(props_len)?;
    if c.at != total {
        return Err("fields do not add up to the total size");
    }
    Ok(RecordMeta {
        total,
        queue_id,
        queue_offset,
        physical_offset,
        store_timestamp,
        body_crc,
        body,
        topic,
        properties,
    })
}

/// Whether the stored body CRC matches the body.
pub(crate) fn crc_ok(m: &RecordMeta<'_>) -> bool {
    (crc32fast::hash(m.body) & 0x7FFF_FFFF) as i32 == m.body_crc
}

/// Whether `buf` starts with a BLANK marker.
pub(crate) fn is_blank(buf: &[u8]) -> bool {
    be_i32(buf, pos::MAGIC) == Some(BLANK_MAGIC)
}

/// The 8-byte BLANK marker filling `remaining` bytes.
pub(crate) fn blank(remaining: i32) -> [u8; BLANK_LEN] {
    let mut b = [0u8; BLANK_LEN];
    b[..4].copy_from_slice(&remaining.to_be_bytes());
    b[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
    b
}

/// The store timestamp of a record whose header is at the front of `buf`.
pub(crate) fn store_time(buf: &[u8]) -> Option<i64> {
    let flags = be_i32(buf, pos::SYS_FLAG)?;
    be_i64(buf, store_timestamp_pos(flags))
}

/// The `name \x01 value \x02` pairs of a stored record's properties (malformed pairs skipped),
/// read in place: the tag code, the message index and its lookups all scan them.
pub(crate) fn properties_of(props: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    props.split(|&b| b == 2).filter_map(|pair| {
        let at = pair.iter().position(|&b| b == 1)?;
        Some((&pair[..at], &pair[at + 1..]))
    })
}

/// The consume-queue tag code derived from the `TAGS` property (used when rebuilding a queue
/// from the log): Java `String.hashCode` of the tag, 0 without tags.
pub(crate) fn tags_code(properties: &[u8]) -> i64 {
    match properties_of(properties).find(|(name, _)| *name == b"TAGS") {
        Some((_, v)) => ferromq_protocol::message::tags_code(Some(&String::from_utf8_lossy(v))),
        None => 0,
    }
}

/// Topic names the store accepts as directory names.
pub(crate) fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 255
        && t != "."
        && t != ".."
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_%|.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_found_anywhere() {
        assert_eq!(tags_code(b"KEYS\x01k\x02TAGS\x01TagA\x02"), 2_598_919);
        assert_eq!(tags_code(b"TAGS\x01TagA\x02"), 2_598_919);
        assert_eq!(tags_code(b"KEYS\x01TAGS\x02"), 0);
        assert_eq!(tags_code(b""), 0);
    }

    #[test]
    fn topic_names() {
        assert!(valid_topic("%RETRY%group-1"));
        assert!(!valid_topic("../x"));
        assert!(!valid_topic(".."));
        assert!(!valid_topic(""));
    }

    #[test]
    fn garbage_never_panics() {
        for n in 0..200u32 {
            let v: Vec<u8> = (0..n)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 3) as u8)
                .collect();
            let _ = parse(&v);
            let _ = store_time(&v);
        }
    }
}
