//! [`TopicManager`]: the broker's topic configurations (`config/topics.json`), auto-creation
//! from the `TBW102` template, and the data version the name servers compare.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{DataVersion, TopicConfig, TopicConfigWrapper};
use ferromq_protocol::codes::perm;
use ferromq_protocol::limits::{check_queue_nums, check_topic_config, MAX_QUEUE_NUMS};
use ferromq_protocol::names::{self, AUTO_CREATE_TOPIC, SCHEDULE_TOPIC};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::{error, info};

use crate::persist::{self, ConfigWriter};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TopicsFile {
    data_version: DataVersion,
    topic_config_table: BTreeMap<String, TopicConfig>,
}

/// How many topics and queues the broker holds at most (`max-topics`, `max-queues`).
#[derive(Debug, Clone, Copy)]
pub struct TopicLimits {
    pub max_topics: usize,
    pub max_queues: usize,
}

impl Default for TopicLimits {
    fn default() -> Self {
        Self {
            max_topics: usize::MAX,
            max_queues: usize::MAX,
        }
    }
}

/// Why a topic was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A name or queue count out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// A limit reached: `limit` names the setting (`max-topics`, `max-queues`, `max-groups`).
    #[error("{message}")]
    LimitReached {
        limit: &'static str,
        message: String,
    },
}

pub struct TopicManager {
    table: Arc<RwLock<TopicsFile>>,
    writer: ConfigWriter,
    limits: TopicLimits,
    /// Woken on every change so the broker re-registers with the name servers at once.
    pub changed: Notify,
}

pub(crate) use ferromq_protocol::time::now_ms;

impl TopicManager {
    /// Loads `topics.json` and makes sure the system topics exist. Entries whose name is not a
    /// valid topic are left out and logged (a name that reaches the file system must pass the
    /// same validation as a request); queue counts over the limit are clamped and logged.
    ///
    /// # Errors
    /// A corrupt file.
    pub fn load(
        path: PathBuf,
        auto_create: bool,
        template_queues: i32,
        delay_levels: usize,
        limits: TopicLimits,
    ) -> Result<Self, String> {
        let mut file: TopicsFile = persist::load_json(&path)?;
        file.topic_config_table.retain(|name, cfg| {
            if let Err(e) = names::validate_topic(name) {
                error!(topic = name, "topics.json: entry left out: {e}");
                return false;
            }
            cfg.topic_name.clone_from(name);
            for (field, n) in [
                ("readQueueNums", &mut cfg.read_queue_nums),
                ("writeQueueNums", &mut cfg.write_queue_nums),
            ] {
                if let Err(e) = check_queue_nums(field, *n) {
                    let clamped = (*n).clamp(1, MAX_QUEUE_NUMS);
                    error!(topic = name, "topics.json: {e}; using {clamped}");
                    *n = clamped;
                }
            }
            true
        });
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
        file.topic_config_table
            .entry(names::TIMER_TOPIC.into())
            .or_insert_with(|| TopicConfig::new(names::TIMER_TOPIC, crate::timer::LEVELS));
        let table = Arc::new(RwLock::new(file));
        let writer = ConfigWriter::for_table(path, table.clone());
        Ok(Self {
            table,
            writer,
            limits,
            changed: Notify::new(),
        })
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table.read().topic_config_table.get(topic).cloned()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.table.read().topic_config_table.contains_key(topic)
    }

    pub fn len(&self) -> usize {
        self.table.read().topic_config_table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// Creates or replaces a topic. Returns the write to [`TopicManager::wait_written`] for,
    /// or `None` when nothing changed.
    ///
    /// # Errors
    /// An invalid config, or a limit reached.
    pub fn upsert(&self, cfg: TopicConfig) -> Result<Option<u64>, CreateError> {
        check_topic_config(&cfg).map_err(CreateError::Invalid)?;
        {
            let mut t = self.table.write();
            let old = t.topic_config_table.get(&cfg.topic_name);
            if old == Some(&cfg) {
                return Ok(None);
            }
            let freed = old.map_or(0, |o| o.queue_count() as usize);
            self.check_room(&t, old.is_none(), cfg.queue_count() as usize, freed)?;
            info!(topic = %cfg.topic_name, queues = cfg.write_queue_nums, "topic created or updated");
            t.topic_config_table.insert(cfg.topic_name.clone(), cfg);
            bump(&mut t.data_version);
        }
        Ok(Some(self.changed()))
    }

    /// The topic's config, creating it with `queues` queues if absent (a send to a new topic,
    /// a group's retry or DLQ topic). The file is written in the background.
    ///
    /// # Errors
    /// An invalid name or count, or a limit reached.
    pub fn get_or_create(
        &self,
        topic: &str,
        queues: i32,
        perm: i32,
    ) -> Result<TopicConfig, CreateError> {
        if let Some(cfg) = self.get(topic) {
            return Ok(cfg);
        }
        let mut cfg = TopicConfig::new(topic, queues.max(1));
        cfg.perm = perm;
        check_topic_config(&cfg).map_err(CreateError::Invalid)?;
        let result = {
            let mut t = self.table.write();
            // A concurrent creator may have won; either config is equivalent.
            if let Some(existing) = t.topic_config_table.get(topic) {
                return Ok(existing.clone());
            }
            self.check_room(&t, true, cfg.queue_count() as usize, 0)?;
            t.topic_config_table.insert(topic.to_string(), cfg.clone());
            bump(&mut t.data_version);
            cfg
        };
        info!(topic, queues, "topic auto-created");
        self.changed();
        Ok(result)
    }

    /// Refuses a change that would take the table past `max-topics` or `max-queues`.
    fn check_room(
        &self,
        t: &TopicsFile,
        new_topic: bool,
        queues: usize,
        freed: usize,
    ) -> Result<(), CreateError> {
        let count = t.topic_config_table.len();
        if new_topic && count >= self.limits.max_topics {
            return Err(CreateError::LimitReached {
                limit: "max-topics",
                message: format!(
                    "the broker holds {count} topics, its limit (max-topics = {})",
                    self.limits.max_topics
                ),
            });
        }
        if self.limits.max_queues != usize::MAX {
            let total: usize = t
                .topic_config_table
                .values()
                .map(|c| c.queue_count() as usize)
                .sum();
            if total - freed.min(total) + queues > self.limits.max_queues {
                return Err(CreateError::LimitReached {
                    limit: "max-queues",
                    message: format!(
                        "the broker holds {total} queues; {queues} more would pass its limit \
                         (max-queues = {})",
                        self.limits.max_queues
                    ),
                });
            }
        }
        Ok(())
    }

    /// Removes a topic. Returns the write to wait for, or `None` when it did not exist.
    pub fn delete(&self, topic: &str) -> Option<u64> {
        let removed = {
            let mut t = self.table.write();
            let removed = t.topic_config_table.remove(topic).is_some();
            if removed {
                bump(&mut t.data_version);
            }
            removed
        };
        removed.then(|| self.changed())
    }

    /// Waits until the change `generation` is in `topics.json`.
    ///
    /// # Errors
    /// The write failed or took longer than `timeout`.
    pub async fn wait_written(&self, generation: u64, timeout: Duration) -> Result<(), String> {
        self.writer.wait(generation, timeout).await
    }

    /// Writes pending changes now (shutdown).
    ///
    /// # Errors
    /// The write failed.
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        self.writer.flush(timeout)
    }

    fn changed(&self) -> u64 {
        let generation = self.writer.mark();
        self.changed.notify_one();
        generation
    }
}

fn bump(v: &mut DataVersion) {
    v.counter += 1;
    v.timestamp = now_ms();
}
