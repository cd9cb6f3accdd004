//! Recall handles of timed messages, in upstream's form (`RecallMessageHandle.HandleV1`): base64url
//! of `v1 <topic> <broker name> <delivery time ms> <message id>`. The 5.x Remoting client decodes
//! the handle itself to find the broker; gRPC clients pass it back unread.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;

/// Longer handles are refused before they are decoded.
const MAX_HANDLE_LEN: usize = 1024;

/// What a recall handle names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallHandle {
    pub topic: String,
    pub broker_name: String,
    pub deliver_ms: i64,
    /// The message's unique id (`UNIQ_KEY`).
    pub message_id: String,
}

impl RecallHandle {
    pub fn encode(&self) -> String {
        let raw = format!(
            "v1 {} {} {} {}",
            self.topic, self.broker_name, self.deliver_ms, self.message_id
        );
        URL_SAFE.encode(raw.as_bytes())
    }

    /// Decodes a handle (`None` for anything that is not a v1 handle with a numeric time).
    pub fn decode(handle: &str) -> Option<Self> {
        if handle.is_empty() || handle.len() > MAX_HANDLE_LEN {
            return None;
        }
        let raw = URL_SAFE.decode(handle.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let items: Vec<&str> = raw.split(' ').collect();
        if items.len() < 5 || items[0] != "v1" {
            return None;
        }
        Some(RecallHandle {
            topic: items[1].to_string(),
            broker_name: items[2].to_string(),
            deliver_ms: items[3].parse().ok()?,
            message_id: items[4].to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_in_upstream_form() {
        let h = RecallHandle {
            topic: "T".into(),
            broker_name: "broker-a".into(),
            deliver_ms: 1_700_000_000_000,
            message_id: "0A0B0C".into(),
        };
        let text = h.encode();
        // What upstream's HandleV1.buildHandle gives for the same fields.
        assert_eq!(
            String::from_utf8(URL_SAFE.decode(&text).unwrap()).unwrap(),
            "v1 T broker-a 1700000000000 0A0B0C"
        );
        assert_eq!(RecallHandle::decode(&text), Some(h));
        for bad in [
            "",
            "!!",
            &URL_SAFE.encode("v2 T b 1 id"),
            &URL_SAFE.encode("v1 T b x id"),
        ] {
            assert_eq!(RecallHandle::decode(bad), None, "{bad}");
        }
    }
}
