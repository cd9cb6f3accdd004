//! The properties string: `name \x01 value \x02` repeated.

use std::collections::HashMap;

/// Parsed message properties.
pub type Properties = HashMap<String, String>;

const NAME_VALUE: char = '\u{1}';
const PROPERTY: char = '\u{2}';

/// Well-known property names (`MessageConst`).
pub mod prop {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const CLUSTER: &str = "CLUSTER";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    /// The born host a 5.x client reported (`SystemProperties.born_host`, often its host
    /// name), kept as upstream's proxy keeps it; the record's born host is the peer address.
    pub const BORN_HOST: &str = "__BORNHOST";
    /// The region every ferromq broker reports (upstream's `regionId` default). Stored on each
    /// message as `MSG_REGION`: the Java 5.x client drops a consume trace record whose message
    /// carries no region.
    pub const DEFAULT_REGION: &str = "DefaultRegion";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    /// A POP delivery's checkpoint ([`crate::body::PopCheckpoint`]), which the client acks with.
    pub const POP_CK: &str = "POP_CK";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// ferromq mirror: where a mirrored message came from, `<broker>|<queueId>|<queueOffset>`
    /// on the source cluster (lets a restarted mirror find what it already copied).
    pub const MIRROR_SOURCE: &str = "FERRO_MIRROR_SRC";
    /// ferromq mirror: the message's offset msgId on the source cluster.
    pub const MIRROR_MSG_ID: &str = "FERRO_MIRROR_MSGID";
    /// ferromq mirror: the label of the cluster the message was first written to (kept across
    /// hops, so a mirror running the other way after a failover does not copy it back).
    pub const MIRROR_ORIGIN: &str = "FERRO_MIRROR_ORIGIN";
    /// ferromq mirror: the store time on the source cluster, ms since the epoch.
    pub const MIRROR_STORE_TIME: &str = "FERRO_MIRROR_STORE_TS";
}

/// Parses a properties string. Malformed segments are skipped, as upstream does.
pub fn parse_properties(s: &str) -> Properties {
    let mut map = Properties::new();
    for seg in s.split(PROPERTY) {
        if let Some((k, v)) = seg.split_once(NAME_VALUE) {
            if !k.is_empty() {
                map.insert(k.to_string(), v.to_string());
            }
        }
    }
    map
}

/// Finds one property in an encoded properties string without parsing the rest.
pub fn find_property<'a>(props: &'a str, key: &str) -> Option<&'a str> {
    props
        .split(PROPERTY)
        .find_map(|seg| match seg.split_once(NAME_VALUE) {
            Some((k, v)) if k == key => Some(v),
            _ => None,
        })
}

/// Appends each `(key, value)` of `defaults` whose key the string does not have yet, reading the
/// string once (the broker stamps every stored message with a few such keys).
pub fn push_missing_properties(props: &mut String, defaults: &[(&str, &str)]) {
    let mut present = [false; 8];
    let defaults = &defaults[..defaults.len().min(present.len())];
    for seg in props.split(PROPERTY) {
        if let Some((k, _)) = seg.split_once(NAME_VALUE) {
            if let Some(i) = defaults.iter().position(|(d, _)| *d == k) {
                present[i] = true;
            }
        }
    }
    for (i, (key, value)) in defaults.iter().enumerate() {
        if !present[i] {
            push_property(props, key, value);
        }
    }
}

/// Appends one property to an encoded properties string. Java clients since 4.9 end the string
/// without a separator after the last value; one is added first then, or the last value would
/// run into the new key.
pub fn push_property(props: &mut String, key: &str, value: &str) {
    if !props.is_empty() && !props.ends_with(PROPERTY) {
        props.push(PROPERTY);
    }
    props.push_str(key);
    props.push(NAME_VALUE);
    props.push_str(value);
    props.push(PROPERTY);
}

/// Encodes properties; the order is not significant.
pub fn encode_properties<'a>(props: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let mut out = String::new();
    for (k, v) in props {
        out.push_str(k);
        out.push(NAME_VALUE);
        out.push_str(v);
        out.push(PROPERTY);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_after_a_string_without_a_trailing_separator() {
        // As the Java client 4.9.8 sends them: no separator after the last value.
        let mut p = format!("KEYS{NAME_VALUE}k4{PROPERTY}TAGS{NAME_VALUE}A");
        push_property(&mut p, "CLUSTER", "DefaultCluster");
        let mut q = p.clone();
        push_missing_properties(&mut q, &[("CLUSTER", "other"), ("MSG_REGION", "r")]);
        assert_eq!(find_property(&q, "CLUSTER"), Some("DefaultCluster"));
        assert_eq!(find_property(&q, "MSG_REGION"), Some("r"));
        assert_eq!(find_property(&p, "TAGS"), Some("A"));
        assert_eq!(find_property(&p, "CLUSTER"), Some("DefaultCluster"));
        let mut q = String::new();
        push_property(&mut q, "A", "1");
        assert_eq!(q, format!("A{NAME_VALUE}1{PROPERTY}"));
    }

    #[test]
    fn round_trip_and_skips_garbage() {
        let mut p = Properties::new();
        p.insert("TAGS".into(), "TagA".into());
        p.insert("KEYS".into(), "k1 k2".into());
        let s = encode_properties(&p);
        assert_eq!(parse_properties(&s), p);
        let messy = format!("{s}junk\u{2}\u{1}novalue\u{2}");
        assert_eq!(parse_properties(&messy), p);
        assert_eq!(find_property(&s, "KEYS"), Some("k1 k2"));
        assert_eq!(find_property(&s, "NONE"), None);
        let mut t = s.clone();
        push_property(&mut t, "X", "1");
        assert_eq!(parse_properties(&t).get("X").map(String::as_str), Some("1"));
    }
}
