//! Messages as bytes: the stored record (what the commit log holds and a pull returns),
//! the properties string, offset message ids, batch bodies and the tag hash.

mod batch;
mod id;
mod properties;
mod record;

pub use batch::{decode_batch_body, encode_batch_body, BatchItem};
pub use id::{decode_offset_msg_id, offset_msg_id};
pub use properties::{
    encode_properties, find_property, parse_properties, prop, push_missing_properties,
    push_property, Properties,
};
pub use record::{
    decode_record, decode_records, encode_record, encode_redelivered, patch_record, pos,
    record_len, record_properties, store_timestamp_pos, DecodedMessage, NewMessage, BLANK_MAGIC,
    MAGIC_V1, MAGIC_V2, MAX_PROPERTIES_LEN,
};

/// Java's `String.hashCode()` over UTF-16 code units: the `tagsCode` of a consume-queue entry.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The consume-queue tag code of a message: the hash of its `TAGS`, 0 if it has none.
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => java_string_hash(t) as i64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        // "TagA".hashCode() == 2598919 and "".hashCode() == 0 in Java.
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash(""), 0);
        // Overflowing strings wrap like Java ints.
        assert_eq!(java_string_hash("hello world, this overflows"), {
            let mut h: i32 = 0;
            for c in "hello world, this overflows".encode_utf16() {
                h = h.wrapping_mul(31).wrapping_add(c as i32);
            }
            h
        });
    }
}
