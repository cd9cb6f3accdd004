//! What a pull returns: tag subscriptions filter by the consume queue's tag hash; SQL92
//! subscriptions (`MessageSelector.bySql`) by an expression over each message's properties,
//! compiled once per expression (`ferromq-filter`) and kept in a bounded cache.

use std::collections::HashMap;
use std::sync::Arc;

use ferromq_filter::Filter;
use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::message::{find_property, record_properties};
use ferromq_protocol::Refusal;
use ferromq_store::MessageFilter;
use parking_lot::Mutex;

/// Compiled expressions kept; past this the cache starts over (expressions are few and small).
const MAX_CACHED_FILTERS: usize = 4096;

/// Compiled SQL92 filters by expression text.
#[derive(Default)]
pub struct FilterCache {
    compiled: Mutex<HashMap<String, Arc<Filter>>>,
}

impl FilterCache {
    /// The compiled filter of `expr`.
    ///
    /// # Errors
    /// [`Refusal::SubscriptionParseFailed`] naming the problem and where it is.
    pub fn sql92(&self, expr: &str) -> Result<Arc<Filter>, Refusal> {
        if let Some(f) = self.compiled.lock().get(expr) {
            return Ok(f.clone());
        }
        let f = Arc::new(ferromq_filter::compile(expr).map_err(|e| {
            Refusal::SubscriptionParseFailed(format!("bad SQL92 expression '{expr}': {e}"))
        })?);
        let mut map = self.compiled.lock();
        if map.len() >= MAX_CACHED_FILTERS {
            map.clear();
        }
        map.insert(expr.to_string(), f.clone());
        Ok(f)
    }
}

/// The filter of one pull.
pub struct PullFilter<'a> {
    sub: &'a SubscriptionData,
    sql: Option<Arc<Filter>>,
}

impl<'a> PullFilter<'a> {
    /// The filter of `sub`: its SQL92 expression compiled (through `cache`) when it has one.
    ///
    /// # Errors
    /// An expression type ferromq does not know, or an SQL92 expression that does not compile.
    pub fn new(sub: &'a SubscriptionData, cache: &FilterCache) -> Result<Self, Refusal> {
        let sql = if sub.is_sql92() {
            Some(cache.sql92(&sub.sub_string)?)
        } else if sub.is_tag_type() {
            None
        } else {
            return Err(Refusal::SubscriptionParseFailed(format!(
                "expression type {} is not supported (TAG and SQL92 are)",
                sub.expression_type.as_deref().unwrap_or_default()
            )));
        };
        Ok(PullFilter { sub, sql })
    }
}

impl MessageFilter for PullFilter<'_> {
    fn by_tag_code(&self, tags_code: i64) -> bool {
        self.sql.is_some() || self.sub.accepts_tag_code(tags_code)
    }

    fn by_record(&self, record: &[u8]) -> bool {
        let Some(sql) = &self.sql else {
            return true;
        };
        let Some(props) = record_properties(record) else {
            return false;
        };
        // Properties are written as UTF-8 by every client; anything else matches nothing.
        let Ok(props) = std::str::from_utf8(props) else {
            return false;
        };
        sql.matches(&|name| find_property(props, name))
    }
}
