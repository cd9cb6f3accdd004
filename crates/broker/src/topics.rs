//! [`TopicManager`]: the broker's topic configurations (`config/topics.json`), auto-creation
//! from the `TBW102` template, and the data version the name servers compare.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferromq_protocol::body::{DataVersion, TopicConfig, TopicConfigWrapper};
use ferromq_protocol::codes::perm;
use ferromq_protocol::names::{AUTO_CREATE_TOPIC, SCHEDULE_TOPIC};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::persist;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TopicsFile {
    data_version: DataVersion,
    topic_config_table: BTreeMap<String, TopicConfig>,
}

pub struct TopicManager {
    path: PathBuf,
    table: RwLock<TopicsFile>,
    /// Woken on every change so the broker re-registers with the name servers at once.
    pub changed: Notify,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl TopicManager {
    /// Loads `topics.json` and makes sure the system topics exist.
    ///
    /// # Errors
    /// A corrupt file.
    pub fn load(
        path: PathBuf,
        auto_create: bool,
        template_queues: i32,
        delay_levels: usize,
    ) -> Result<Self, String> {
        let mut file: TopicsFile = persist::load_json(&path)?;
        if auto_create {
            let mut tbw = TopicConfig::new(AUTO_CREATE_TOPIC, template_queues);
            tbw.perm = perm::READ_WRITE | perm::INHERIT;
            file.topic_config_table
                .entry(AUTO_CREATE_TOPIC.into())
                .or_insert(tbw);
        } else {
            file.topic_config_table.remove(AUTO_CREATE_TOPIC);
        }
        file.topic_config_table
            .entry(SCHEDULE_TOPIC.into())
            .or_insert_with(|| TopicConfig::new(SCHEDULE_TOPIC, delay_levels as i32));
        Ok(Self {
            path,
            table: RwLock::new(file),
            changed: Notify::new(),
        })
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table.read().topic_config_table.get(topic).cloned()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.table.read().topic_config_table.contains_key(topic)
    }

    pub fn all(&self) -> Vec<TopicConfig> {
        self.table
            .read()
            .topic_config_table
            .values()
            .cloned()
            .collect()
    }

    /// The table and data version, as registered with the name servers.
    pub fn wrapper(&self) -> TopicConfigWrapper {
        let t = self.table.read();
        TopicConfigWrapper {
            data_version: t.data_version.clone(),
            topic_config_table: t.topic_config_table.clone(),
            ..TopicConfigWrapper::default()
        }
    }

    /// Creates or replaces a topic. Returns whether anything changed.
    pub fn upsert(&self, cfg: TopicConfig) -> bool {
        {
            let mut t = self.table.write();
            if t.topic_config_table.get(&cfg.topic_name) == Some(&cfg) {
                return false;
            }
            info!(topic = %cfg.topic_name, queues = cfg.write_queue_nums, "topic created or updated");
            t.topic_config_table.insert(cfg.topic_name.clone(), cfg);
            bump(&mut t.data_version);
        }
        self.persist();
        true
    }

    /// The topic's config, creating it with `queues` queues if absent.
    pub fn get_or_create(&self, topic: &str, queues: i32, perm: i32) -> TopicConfig {
        if let Some(cfg) = self.get(topic) {
            return cfg;
        }
        let mut cfg = TopicConfig::new(topic, queues.max(1));
        cfg.perm = perm;
        // A concurrent creator may win; either config is equivalent.
        let mut created = false;
        let result = {
            let mut t = self.table.write();
            let entry = t
                .topic_config_table
                .entry(topic.to_string())
                .or_insert_with(|| {
                    created = true;
                    cfg
                });
            let out = entry.clone();
            if created {
                bump(&mut t.data_version);
            }
            out
        };
        if created {
            info!(topic, queues, "topic auto-created");
            self.persist();
        }
        result
    }

    /// Removes a topic. Returns whether it existed.
    pub fn delete(&self, topic: &str) -> bool {
        let removed = {
            let mut t = self.table.write();
            let removed = t.topic_config_table.remove(topic).is_some();
            if removed {
                bump(&mut t.data_version);
            }
            removed
        };
        if removed {
            self.persist();
        }
        removed
    }

    fn persist(&self) {
        let snapshot = self.table.read().clone();
        if let Err(e) = persist::save_json(&self.path, &snapshot) {
            warn!(path = %self.path.display(), "failed to persist topics: {e}");
        }
        self.changed.notify_one();
    }
}

fn bump(v: &mut DataVersion) {
    v.counter += 1;
    v.timestamp = now_ms();
}
