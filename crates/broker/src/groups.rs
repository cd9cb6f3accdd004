//! [`GroupManager`]: subscription group configurations (`config/subscriptionGroup.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{DataVersion, SubscriptionGroupConfig};
use ferromq_protocol::limits::check_group_config;
use ferromq_protocol::names;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tracing::error;

use crate::persist::{self, ConfigWriter};
use crate::topics::CreateError;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupsFile {
    pub data_version: DataVersion,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
}

pub struct GroupManager {
    table: Arc<RwLock<GroupsFile>>,
    writer: ConfigWriter,
    auto_create: bool,
    max_groups: usize,
}

/// Why [`GroupManager::find_or_create`] found no group.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The group does not exist and auto-creation is off (or the name is invalid).
    #[error("subscription group [{0}] does not exist")]
    NotFound(String),
    /// Creating it would pass `max-groups`.
    #[error("{0}")]
    LimitReached(String),
}

impl GroupManager {
    /// Loads the file; entries with an invalid name are left out and logged, counts out of
    /// bounds are reset to their defaults and logged.
    ///
    /// # Errors
    /// A corrupt file.
    pub fn load(path: PathBuf, auto_create: bool, max_groups: usize) -> Result<Self, String> {
        let mut file: GroupsFile = persist::load_json(&path)?;
        file.subscription_group_table.retain(|name, cfg| {
            if let Err(e) = names::validate_group(name) {
                error!(group = name, "subscriptionGroup.json: entry left out: {e}");
                return false;
            }
            cfg.group_name.clone_from(name);
            if let Err(e) = check_group_config(cfg) {
                let defaults = SubscriptionGroupConfig::new(name);
                error!(
                    group = name,
                    "subscriptionGroup.json: {e}; using the default"
                );
                cfg.retry_queue_nums = defaults.retry_queue_nums;
                cfg.retry_max_times = defaults.retry_max_times;
            }
            true
        });
        let table = Arc::new(RwLock::new(file));
        let writer = ConfigWriter::for_table(path, table.clone());
        Ok(Self {
            table,
            writer,
            auto_create,
            max_groups,
        })
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.table
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.table.read().subscription_group_table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The group's config; created with defaults when auto-creation is on (upstream
    /// `autoCreateSubscriptionGroup`). The file is written in the background.
    ///
    /// # Errors
    /// [`FindError::NotFound`] when absent and not creatable, [`FindError::LimitReached`].
    pub fn find_or_create(&self, group: &str) -> Result<SubscriptionGroupConfig, FindError> {
        if let Some(c) = self.get(group) {
            return Ok(c);
        }
        if !self.auto_create || names::validate_group(group).is_err() {
            return Err(FindError::NotFound(group.to_string()));
        }
        let cfg = SubscriptionGroupConfig::new(group);
        {
            let mut t = self.table.write();
            if let Some(existing) = t.subscription_group_table.get(group) {
                return Ok(existing.clone());
            }
            self.check_room(&t)
                .map_err(|e| FindError::LimitReached(e.to_string()))?;
            t.subscription_group_table
                .insert(group.to_string(), cfg.clone());
            bump(&mut t.data_version);
        }
        self.writer.mark();
        Ok(cfg)
    }

    /// Creates or replaces a group's config; returns the write to wait for.
    ///
    /// # Errors
    /// An invalid config, or `max-groups` reached.
    pub fn upsert(&self, cfg: SubscriptionGroupConfig) -> Result<u64, CreateError> {
        check_group_config(&cfg).map_err(CreateError::Invalid)?;
        {
            let mut t = self.table.write();
            if !t.subscription_group_table.contains_key(&cfg.group_name) {
                self.check_room(&t)?;
            }
            t.subscription_group_table
                .insert(cfg.group_name.clone(), cfg);
            bump(&mut t.data_version);
        }
        Ok(self.writer.mark())
    }

    fn check_room(&self, t: &GroupsFile) -> Result<(), CreateError> {
        let count = t.subscription_group_table.len();
        if count >= self.max_groups {
            return Err(CreateError::LimitReached {
                limit: "max-groups",
                message: format!(
                    "the broker holds {count} subscription groups, its limit (max-groups = {})",
                    self.max_groups
                ),
            });
        }
        Ok(())
    }

    /// Removes a group's config; returns the write to wait for, or `None` when it did not
    /// exist.
    pub fn delete(&self, group: &str) -> Option<u64> {
        let removed = {
            let mut t = self.table.write();
            let r = t.subscription_group_table.remove(group).is_some();
            t.forbidden_table.remove(group);
            if r {
                bump(&mut t.data_version);
            }
            r
        };
        removed.then(|| self.writer.mark())
    }

    pub fn snapshot(&self) -> GroupsFile {
        self.table.read().clone()
    }

    /// Waits until the change `generation` is in the file.
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
}

fn bump(v: &mut DataVersion) {
    v.counter += 1;
    v.timestamp = crate::topics::now_ms();
}
