//! The three records transactions write, and the message a check-back carries:
//! - the **half** record: the producer's message moved to `RMQ_SYS_TRANS_HALF_TOPIC` queue 0,
//!   its destination kept in `REAL_TOPIC`/`REAL_QID` (so consumers of the real topic never see it);
//! - the **committed** record: the half message back in its real topic and queue;
//! - the **op** record in `RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0: body = the half-queue offset
//!   in decimal, tag `d`, as upstream writes it. It is what makes a resolution durable.

use std::net::SocketAddr;

use bytes::Bytes;
use ferromq_protocol::codes::sys_flag;
use ferromq_protocol::message::{
    encode_properties, encode_record, offset_msg_id, parse_properties, patch_record, prop,
    DecodedMessage, NewMessage,
};
use ferromq_protocol::transaction::{self as tx, CheckTransactionStateHeader};
use ferromq_protocol::RemotingCommand;

use crate::handlers::Outgoing;

/// The half record of a message the producer sent to `topic`/`queue_id`. The transaction type
/// bits are cleared (as upstream stores it); `TRAN_MSG` and `PGROUP` mark it instead. A delay
/// level is dropped: the half topic must not be rerouted to the schedule topic, and the Java
/// producer never sends one with a transaction anyway.
pub(crate) fn half(mut m: Outgoing, producer_group: &str) -> Outgoing {
    let mut props = parse_properties(&m.properties);
    props.insert(prop::REAL_TOPIC.into(), std::mem::take(&mut m.topic));
    props.insert(prop::REAL_QID.into(), m.queue_id.to_string());
    props.insert(tx::prop::TRAN_MSG.into(), "true".into());
    if !producer_group.is_empty() {
        props
            .entry(tx::prop::PGROUP.into())
            .or_insert_with(|| producer_group.to_string());
    }
    props.remove(prop::DELAY);
    m.properties = encode_properties(&props);
    m.topic = tx::HALF_TOPIC.into();
    m.queue_id = 0;
    m.sys_flag &= !sys_flag::TRANSACTION_MASK;
    m
}

/// The real topic and queue a half message is for, if it names them.
pub(crate) fn destination(half: &DecodedMessage) -> Option<(String, i32)> {
    let props = half.properties_map();
    let topic = props.get(prop::REAL_TOPIC).filter(|t| !t.is_empty())?;
    let queue = props.get(prop::REAL_QID)?.trim().parse::<i32>().ok()?;
    Some((topic.clone(), queue))
}

/// The message to deliver on commit: the half message in its real topic and queue, without the
/// properties that only made sense while it waited, with the commit type in its sysFlag.
pub(crate) fn committed(half: &DecodedMessage, topic: String, queue_id: i32) -> Outgoing {
    let mut props = half.properties_map();
    for k in [
        prop::REAL_TOPIC,
        prop::REAL_QID,
        tx::prop::TRAN_MSG,
        tx::prop::CHECK_TIMES,
    ] {
        props.remove(k);
    }
    Outgoing {
        topic,
        queue_id,
        flag: half.flag,
        sys_flag: (half.sys_flag & !sys_flag::TRANSACTION_MASK) | sys_flag::TRANSACTION_COMMIT,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        reconsume_times: half.reconsume_times,
        body: half.body.clone(),
        properties: encode_properties(&props),
    }
}

/// The op record saying the half message at `half_offset` is resolved.
pub(crate) fn op(half_offset: i64, born_host: SocketAddr) -> Outgoing {
    let mut properties = String::new();
    ferromq_protocol::message::push_property(&mut properties, prop::TAGS, tx::OP_REMOVE_TAG);
    Outgoing {
        topic: tx::OP_HALF_TOPIC.into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: ferromq_protocol::time::now_ms(),
        born_host,
        reconsume_times: 0,
        body: Bytes::from(half_offset.to_string()),
        properties,
    }
}

/// The half-queue offsets an op record resolves. Upstream batches several, comma-separated;
/// anything unparsable is skipped (an op record resolves nothing it does not name).
pub(crate) fn op_offsets(body: &[u8]) -> Vec<i64> {
    std::str::from_utf8(body)
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse::<i64>().ok())
        .collect()
}

/// CHECK_TRANSACTION_STATE for a half message (oneway, as upstream sends it): the header names
/// the half record, the body is the message as the Java client decodes it (`MessageDecoder`),
/// in its real topic and queue, with `TRANSACTION_CHECK_TIMES` = `checks`.
pub(crate) fn check_request(
    half: &DecodedMessage,
    store_host: SocketAddr,
    checks: u32,
) -> Option<RemotingCommand> {
    let (topic, queue_id) = destination(half)?;
    let mut props = half.properties_map();
    props.insert(tx::prop::CHECK_TIMES.into(), checks.to_string());
    let uniq = props.get(prop::UNIQ_KEY).cloned();
    let msg = NewMessage {
        topic,
        queue_id,
        flag: half.flag,
        sys_flag: half.sys_flag,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: 0,
        body: half.body.clone(),
        properties: encode_properties(&props),
    };
    let mut body = Vec::new();
    encode_record(&msg, &mut body).ok()?;
    patch_record(
        &mut body,
        half.queue_offset,
        half.physical_offset,
        half.store_timestamp,
    );
    let header = CheckTransactionStateHeader {
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.physical_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: offset_msg_id(store_host, half.physical_offset),
    };
    Some(header.to_request().with_body(body).mark_oneway())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::message::{decode_record, find_property};

    fn outgoing() -> Outgoing {
        let mut properties = String::new();
        ferromq_protocol::message::push_property(&mut properties, prop::UNIQ_KEY, "U1");
        ferromq_protocol::message::push_property(&mut properties, prop::DELAY, "3");
        Outgoing {
            topic: "T".into(),
            queue_id: 2,
            flag: 7,
            sys_flag: sys_flag::TRANSACTION_PREPARED,
            born_timestamp: 5,
            born_host: "127.0.0.1:5".parse().unwrap(),
            reconsume_times: 0,
            body: Bytes::from_static(b"hello"),
            properties,
        }
    }

    fn stored(m: &Outgoing, queue_offset: i64, phys: i64) -> DecodedMessage {
        let new = NewMessage {
            topic: m.topic.clone(),
            queue_id: m.queue_id,
            flag: m.flag,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: m.body.clone(),
            properties: m.properties.clone(),
        };
        let mut b = Vec::new();
        encode_record(&new, &mut b).unwrap();
        patch_record(&mut b, queue_offset, phys, 99);
        decode_record(&Bytes::from(b)).unwrap().0
    }

    #[test]
    fn half_keeps_the_destination_and_commit_restores_it() {
        let h = half(outgoing(), "PG");
        assert_eq!((h.topic.as_str(), h.queue_id), (tx::HALF_TOPIC, 0));
        assert_eq!(h.sys_flag & sys_flag::TRANSACTION_MASK, 0);
        assert_eq!(find_property(&h.properties, prop::DELAY), None);
        assert_eq!(find_property(&h.properties, tx::prop::PGROUP), Some("PG"));
        let rec = stored(&h, 4, 1000);
        assert_eq!(destination(&rec), Some(("T".into(), 2)));
        let c = committed(&rec, "T".into(), 2);
        assert_eq!(
            c.sys_flag & sys_flag::TRANSACTION_MASK,
            sys_flag::TRANSACTION_COMMIT
        );
        assert_eq!(find_property(&c.properties, prop::REAL_TOPIC), None);
        assert_eq!(find_property(&c.properties, tx::prop::TRAN_MSG), None);
        assert_eq!(find_property(&c.properties, prop::UNIQ_KEY), Some("U1"));
        assert_eq!(&c.body[..], b"hello");
    }

    #[test]
    fn the_check_body_is_the_message_in_its_real_topic() {
        let rec = stored(&half(outgoing(), "PG"), 4, 1000);
        let store: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let req = check_request(&rec, store, 3).unwrap();
        assert!(req.is_oneway());
        assert_eq!(req.ext("tranStateTableOffset"), Some("4"));
        assert_eq!(req.ext("commitLogOffset"), Some("1000"));
        assert_eq!(req.ext("transactionId"), Some("U1"));
        let (m, used) = decode_record(&req.body).unwrap();
        assert_eq!(used, req.body.len());
        assert_eq!((m.topic.as_str(), m.queue_id), ("T", 2));
        assert_eq!((m.queue_offset, m.physical_offset), (4, 1000));
        assert_eq!(
            find_property(&m.properties, tx::prop::CHECK_TIMES),
            Some("3")
        );
        assert_eq!(req.ext("offsetMsgId"), Some(m.offset_msg_id().as_str()));
    }

    #[test]
    fn op_bodies_parse_leniently() {
        assert_eq!(op_offsets(b"12"), vec![12]);
        assert_eq!(op_offsets(b"1,2, 3,x"), vec![1, 2, 3]);
        assert!(op_offsets(&[0xff, 0xfe]).is_empty());
    }
}
