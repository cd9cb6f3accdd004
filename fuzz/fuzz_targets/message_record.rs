//! Stored message records (what the commit log holds and a pull response carries), SEND_BATCH
//! bodies, the properties string and offset msgIds. The first byte picks the decoder.
#![no_main]

use bytes::Bytes;
use ferromq_protocol::message::{self, prop, DecodedMessage, NewMessage};
use libfuzzer_sys::fuzz_target;

fn use_message(m: &DecodedMessage) {
    let id = m.offset_msg_id();
    let _ = message::decode_offset_msg_id(&id);
    let props = m.properties_map();
    let _ = message::tags_code(props.get(prop::TAGS).map(String::as_str));
    for key in [
        prop::TAGS,
        prop::KEYS,
        prop::UNIQ_KEY,
        prop::MIRROR_SOURCE,
        prop::DELAY,
    ] {
        let _ = message::find_property(&m.properties, key);
    }
    let _ = message::store_timestamp_pos(m.sys_flag);
    // Re-encoding a pulled message is what the retry and mirror paths do.
    let again = NewMessage {
        topic: m.topic.clone(),
        queue_id: m.queue_id,
        flag: m.flag,
        sys_flag: m.sys_flag,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        store_host: m.store_host,
        reconsume_times: m.reconsume_times,
        prepared_transaction_offset: m.prepared_transaction_offset,
        body: m.body.clone(),
        properties: m.properties.clone(),
    };
    let mut out = Vec::new();
    if message::encode_record(&again, &mut out).is_ok() {
        message::patch_record(
            &mut out,
            m.queue_offset,
            m.physical_offset,
            m.store_timestamp,
        );
        let _ = message::decode_record(&Bytes::from(out));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let bytes = Bytes::copy_from_slice(rest);
    match kind % 5 {
        0 => {
            if let Ok(msgs) = message::decode_records(&bytes) {
                msgs.iter().for_each(use_message);
            }
        }
        1 => {
            if let Ok((m, _)) = message::decode_record(&bytes) {
                use_message(&m);
            }
        }
        2 => {
            if let Ok(items) = message::decode_batch_body(&bytes) {
                for it in &items {
                    let _ = message::parse_properties(&it.properties);
                }
                let _ = message::encode_batch_body(&items);
            }
        }
        3 => {
            let s = String::from_utf8_lossy(rest);
            let p = message::parse_properties(&s);
            let _ = message::encode_properties(&p);
            for key in [prop::TAGS, prop::KEYS, prop::UNIQ_KEY, prop::MIRROR_SOURCE] {
                let _ = message::find_property(&s, key);
            }
        }
        _ => {
            if let Ok(s) = std::str::from_utf8(rest) {
                if let Some((addr, off)) = message::decode_offset_msg_id(s) {
                    let _ = message::offset_msg_id(addr, off);
                }
            }
        }
    }
});
