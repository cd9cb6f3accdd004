//! [`GroupManager`]: subscription group configurations (`config/subscriptionGroup.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferromq_protocol::body::{DataVersion, SubscriptionGroupConfig};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::persist;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupsFile {
    pub data_version: DataVersion,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
}

pub struct GroupManager {
    path: PathBuf,
    table: RwLock<GroupsFile>,
    auto_create: bool,
}

impl GroupManager {
    /// # Errors
    /// A corrupt file.
    pub fn load(path: PathBuf, auto_create: bool) -> Result<Self, String> {
        let table = persist::load_json(&path)?;
        Ok(Self {
            path,
            table: RwLock::new(table),
            auto_create,
        })
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.table
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// The group's config; created with defaults when auto-creation is on (upstream
    /// `autoCreateSubscriptionGroup`), else `None`.
    pub fn find_or_create(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(c) = self.get(group) {
            return Some(c);
        }
        if !self.auto_create || ferromq_protocol::names::validate_group(group).is_err() {
            return None;
        }
        Some(self.upsert_if_absent(SubscriptionGroupConfig::new(group)))
    }

    fn upsert_if_absent(&self, cfg: SubscriptionGroupConfig) -> SubscriptionGroupConfig {
        let out = {
            let mut t = self.table.write();
            if let Some(existing) = t.subscription_group_table.get(&cfg.group_name) {
                return existing.clone();
            }
            t.subscription_group_table
                .insert(cfg.group_name.clone(), cfg.clone());
            t.data_version.counter += 1;
            t.data_version.timestamp = crate::topics::now_ms();
            cfg
        };
        self.persist();
        out
    }

    /// Creates or replaces a group's config.
    pub fn upsert(&self, cfg: SubscriptionGroupConfig) {
        {
            let mut t = self.table.write();
            t.subscription_group_table
                .insert(cfg.group_name.clone(), cfg);
            t.data_version.counter += 1;
            t.data_version.timestamp = crate::topics::now_ms();
        }
        self.persist();
    }

    /// Removes a group's config; returns whether it existed.
    pub fn delete(&self, group: &str) -> bool {
        let removed = {
            let mut t = self.table.write();
            let r = t.subscription_group_table.remove(group).is_some();
            t.forbidden_table.remove(group);
            if r {
                t.data_version.counter += 1;
            }
            r
        };
        if removed {
            self.persist();
        }
        removed
    }

    pub fn snapshot(&self) -> GroupsFile {
        self.table.read().clone()
    }

    fn persist(&self) {
        let snapshot = self.table.read().clone();
        if let Err(e) = persist::save_json(&self.path, &snapshot) {
            warn!(path = %self.path.display(), "failed to persist subscription groups: {e}");
        }
    }
}
