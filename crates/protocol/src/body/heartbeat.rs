//! HEART_BEAT bodies, in both dialects: Java/ali-ons (string enums, full subscription data)
//! and the C++ client (integer enums, `subVersion` as a string, no tag sets).

use serde::{Deserialize, Serialize};

use super::de;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID", deserialize_with = "de::string_lenient")]
    pub client_id: String,
    pub producer_data_set: Vec<ProducerData>,
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(deserialize_with = "de::i64_lenient")]
    pub heartbeat_fingerprint: i64,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub without_sub: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    #[serde(deserialize_with = "de::string_lenient")]
    pub group_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    #[serde(deserialize_with = "de::string_lenient")]
    pub group_name: String,
    #[serde(deserialize_with = "de::consume_type")]
    pub consume_type: String,
    #[serde(deserialize_with = "de::message_model")]
    pub message_model: String,
    #[serde(deserialize_with = "de::consume_from_where")]
    pub consume_from_where: String,
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub unit_mode: bool,
}

impl ConsumerData {
    pub fn is_broadcasting(&self) -> bool {
        self.message_model == "BROADCASTING"
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    #[serde(deserialize_with = "de::bool_lenient")]
    pub class_filter_mode: bool,
    #[serde(deserialize_with = "de::string_lenient")]
    pub topic: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub sub_string: String,
    #[serde(deserialize_with = "de::strings_lenient")]
    pub tags_set: Vec<String>,
    #[serde(deserialize_with = "de::i32s_lenient")]
    pub code_set: Vec<i32>,
    #[serde(deserialize_with = "de::i64_lenient")]
    pub sub_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression_type: Option<String>,
}

impl SubscriptionData {
    /// Builds a TAG subscription from an expression (`*`, `A || B`), as the Java client does.
    pub fn from_expression(topic: &str, expr: &str, sub_version: i64) -> Self {
        let mut s = Self {
            topic: topic.into(),
            sub_string: expr.into(),
            sub_version,
            expression_type: Some("TAG".into()),
            ..Self::default()
        };
        s.fill_tags();
        s
    }

    /// Whether every tag matches.
    pub fn matches_all(&self) -> bool {
        let s = self.sub_string.trim();
        (s.is_empty() || s == "*") && self.code_set.is_empty()
    }

    /// Whether this is a plain tag subscription.
    pub fn is_tag_type(&self) -> bool {
        self.expression_type
            .as_deref()
            .is_none_or(|t| t.is_empty() || t.eq_ignore_ascii_case("TAG"))
    }

    /// Whether this subscription filters with an SQL92 expression over message properties.
    pub fn is_sql92(&self) -> bool {
        self.expression_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("SQL92"))
    }

    /// Fills `tags_set` and `code_set` from `sub_string` when the client sent only the string
    /// (the C++ client does).
    pub fn fill_tags(&mut self) {
        let expr = self.sub_string.trim();
        if expr.is_empty() || expr == "*" {
            self.tags_set.clear();
            self.code_set.clear();
            return;
        }
        if self.tags_set.is_empty() {
            self.tags_set = expr
                .split("||")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
        }
        if self.code_set.is_empty() {
            self.code_set = self
                .tags_set
                .iter()
                .map(|t| crate::message::java_string_hash(t))
                .collect();
        }
    }

    /// Whether a consume-queue entry's tag code passes the broker-side filter.
    pub fn accepts_tag_code(&self, tags_code: i64) -> bool {
        self.matches_all() || self.code_set.iter().any(|c| *c as i64 == tags_code)
    }
}

/// CHECK_CLIENT_CONFIG's body (`CheckClientRequestBody`): a push consumer asks, before it
/// starts, whether the broker can filter its subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    pub client_id: String,
    pub group: String,
    pub subscription_data: Option<SubscriptionData>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_dialect() {
        let raw = br#"{"clientID":"1-127.0.0.1@DEFAULT","consumerDataSet":[{"consumeFromWhere":0,
            "consumeType":1,"groupName":"g","messageModel":1,
            "subscriptionDataSet":[{"subString":"TagA || TagB","subVersion":"1700","topic":"T"}]}]}"#;
        let hb: HeartbeatData = crate::body::parse(raw).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.consume_type, "CONSUME_PASSIVELY");
        assert_eq!(c.message_model, "CLUSTERING");
        assert_eq!(c.consume_from_where, "CONSUME_FROM_LAST_OFFSET");
        let mut s = c.subscription_data_set[0].clone();
        assert_eq!(s.sub_version, 1700);
        s.fill_tags();
        assert_eq!(s.tags_set, vec!["TagA", "TagB"]);
        assert!(s.accepts_tag_code(crate::message::java_string_hash("TagB") as i64));
        assert!(!s.accepts_tag_code(0));
    }

    #[test]
    fn java_dialect() {
        let raw = br#"{"clientID":"c","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",
            "consumeType":"CONSUME_PASSIVELY","groupName":"g","messageModel":"BROADCASTING","unitMode":false,
            "subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"subString":"*","subVersion":1,
            "tagsSet":[],"topic":"T","expressionType":"TAG"}]}],"producerDataSet":[{"groupName":"p"}]}"#;
        let hb: HeartbeatData = crate::body::parse(raw).unwrap();
        assert!(hb.consumer_data_set[0].is_broadcasting());
        assert!(hb.consumer_data_set[0].subscription_data_set[0].matches_all());
        assert_eq!(hb.producer_data_set[0].group_name, "p");
    }

    /// The Go client (rocketmq-client-go/v2) writes tag hash codes as strings, the tag set and
    /// code set sorted, and the ordinal-free enums as names (its heartbeat for `TagA||TagB`).
    #[test]
    fn go_dialect_codes_as_strings() {
        let raw = br#"{"clientID":"192.0.2.2@a","producerDataSet":[],"consumerDataSet":[{"groupName":"g",
            "consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET",
            "subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA||TagB",
            "tagsSet":["TagA","TagB"],"codeSet":["2598919","2598920"],"subVersion":1796568385006000000,
            "expressionType":"TAG"}],"unitMode":false}]}"#;
        let hb: HeartbeatData = crate::body::parse(raw).unwrap();
        let s = &hb.consumer_data_set[0].subscription_data_set[0];
        assert_eq!(s.code_set, vec![2598919, 2598920]);
        assert!(s.accepts_tag_code(crate::message::java_string_hash("TagB") as i64));
        assert!(!s.accepts_tag_code(crate::message::java_string_hash("TagC") as i64));
        let bad = br#"{"consumerDataSet":[{"subscriptionDataSet":[{"codeSet":["TagA"]}]}]}"#;
        assert!(crate::body::parse::<HeartbeatData>(bad).is_err());
    }
}
