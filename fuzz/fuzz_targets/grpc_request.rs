//! The 5.x gRPC requests (`apache.rocketmq.v2`, prost): every request message the endpoint
//! serves, decoded from the input as tonic hands it over (the bytes after the 5-byte gRPC
//! frame header; the first input byte picks the type). A message that decodes must encode
//! and decode again to the same length. Then the endpoint's own readers of what a client
//! sent: receipt handles (ack, window change, dead-letter), invisibility and long-polling
//! durations, timestamps, and, with the `broker` feature, a sent message's properties in the
//! stored form and the record the store would write from it (which must decode back to the
//! same body and properties).
#![no_main]

use ferromq_pop::ReceiptHandle;
use ferromq_protocol::grpc::*;
use libfuzzer_sys::fuzz_target;

/// Decodes `M`; re-encoding what decoded must decode again, with the same encoded length
/// (maps make the byte order differ, floats make `==` unreliable).
fn decoded<M: prost::Message + Default>(bytes: &[u8]) -> Option<M> {
    let m = M::decode(bytes).ok()?;
    let again = M::decode(m.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("a decoded message does not decode after encoding: {e}"));
    assert_eq!(
        again.encoded_len(),
        m.encoded_len(),
        "re-encoding changed the length"
    );
    Some(m)
}

fn handle(s: &str) {
    if let Ok(h) = ReceiptHandle::parse(s) {
        assert_eq!(ReceiptHandle::parse(&h.to_string()).ok(), Some(h));
    }
}

fn duration(d: Option<&prost_types::Duration>) {
    #[cfg(feature = "broker")]
    if let Some(d) = d {
        let _ = ferromq_grpc::convert::from_duration(d);
    }
    #[cfg(not(feature = "broker"))]
    let _ = d;
}

/// The stored form of a sent message, as the send path builds it.
#[cfg(feature = "broker")]
fn stored(m: &ferromq_protocol::grpc::Message) {
    use ferromq_protocol::message::{decode_record, encode_record};
    let properties = ferromq_grpc::convert::properties_of(m);
    let _ = ferromq_protocol::message::parse_properties(&properties);
    if let Some(t) = m
        .system_properties
        .as_ref()
        .and_then(|s| s.born_timestamp.as_ref())
    {
        let ms = ferromq_grpc::convert::to_ms(t);
        let _ = ferromq_grpc::convert::timestamp(ms);
    }
    let topic = m
        .topic
        .as_ref()
        .map(|t| t.name.as_str())
        .unwrap_or_default();
    let new = ferromq_fuzz::new_message(topic, 0, &m.body, &properties);
    let mut rec = Vec::new();
    if encode_record(&new, &mut rec).is_ok() {
        let (back, _) = decode_record(&bytes::Bytes::from(rec))
            .unwrap_or_else(|e| panic!("an encoded record does not decode: {e}"));
        assert_eq!(back.body, new.body);
        assert_eq!(back.properties, new.properties);
        assert_eq!(back.topic, new.topic);
    }
}

#[cfg(not(feature = "broker"))]
fn stored(_: &ferromq_protocol::grpc::Message) {}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, b)) = data.split_first() else {
        return;
    };
    match kind % 12 {
        0 => {
            let _ = decoded::<QueryRouteRequest>(b);
        }
        1 => {
            let _ = decoded::<HeartbeatRequest>(b);
        }
        2 => {
            if let Some(req) = decoded::<SendMessageRequest>(b) {
                req.messages.iter().take(8).for_each(stored);
            }
        }
        3 => {
            if let Some(req) = decoded::<ReceiveMessageRequest>(b) {
                duration(req.invisible_duration.as_ref());
                duration(req.long_polling_timeout.as_ref());
            }
        }
        4 => {
            if let Some(req) = decoded::<AckMessageRequest>(b) {
                req.entries
                    .iter()
                    .take(16)
                    .for_each(|e| handle(&e.receipt_handle));
            }
        }
        5 => {
            if let Some(req) = decoded::<ChangeInvisibleDurationRequest>(b) {
                handle(&req.receipt_handle);
                duration(req.invisible_duration.as_ref());
            }
        }
        6 => {
            if let Some(req) = decoded::<ForwardMessageToDeadLetterQueueRequest>(b) {
                handle(&req.receipt_handle);
            }
        }
        7 => {
            let _ = decoded::<EndTransactionRequest>(b);
        }
        8 => {
            let _ = decoded::<QueryAssignmentRequest>(b);
        }
        9 => {
            let _ = decoded::<NotifyClientTerminationRequest>(b);
        }
        10 => {
            let _ = decoded::<RecallMessageRequest>(b);
        }
        _ => {
            let _ = decoded::<TelemetryCommand>(b);
        }
    }
});
