//! Prometheus metrics of the name server (`--namesrv-metrics-port`): connections, live brokers,
//! topics with routes, route look-ups (and how many found no route), KV items and limits hit.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::routes::RouteInfoManager;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: String,
}

pub struct NamesrvMetrics {
    registry: Registry,
    pub connections: Gauge,
    pub route_lookups: Counter,
    pub route_misses: Counter,
    brokers: Gauge,
    topics: Gauge,
    pub kv_items: Gauge,
    limits_hit: Family<LimitLabel, Counter>,
}

impl Default for NamesrvMetrics {
    fn default() -> Self {
        let m = Self {
            registry: Registry::default(),
            connections: Gauge::default(),
            route_lookups: Counter::default(),
            route_misses: Counter::default(),
            brokers: Gauge::default(),
            topics: Gauge::default(),
            kv_items: Gauge::default(),
            limits_hit: Family::default(),
        };
        let mut registry = Registry::with_prefix("ferromq_namesrv");
        registry.register("connections", "Connections open now", m.connections.clone());
        registry.register(
            "route_lookups",
            "GET_ROUTEINFO_BY_TOPIC requests",
            m.route_lookups.clone(),
        );
        registry.register(
            "route_misses",
            "Route look-ups that found no route",
            m.route_misses.clone(),
        );
        registry.register("brokers", "Live brokers", m.brokers.clone());
        registry.register("topics", "Topics with a route", m.topics.clone());
        registry.register("kv_items", "KV config items", m.kv_items.clone());
        registry.register(
            "limit_hits",
            "Requests or connections refused because a limit was reached",
            m.limits_hit.clone(),
        );
        Self { registry, ..m }
    }
}

impl NamesrvMetrics {
    pub fn limit_hit(&self, limit: &str) {
        self.limits_hit
            .get_or_create(&LimitLabel {
                limit: limit.to_string(),
            })
            .inc();
    }

    /// Reads the route table's figures and renders the text exposition.
    pub fn render(&self, routes: &Arc<RouteInfoManager>) -> String {
        self.brokers.set(routes.live_brokers() as i64);
        self.topics.set(routes.topics().len() as i64);
        ferromq_metrics::encode(&self.registry)
    }
}
