//! [`RequestModes`]: whether a group pulls or pops a topic (mqadmin `setConsumeMode`), kept in
//! `config/messageRequestMode.json` in upstream's layout (topic → group → setting), and read by
//! QUERY_ASSIGNMENT.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::SetMessageRequestModeRequestBody;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::persist::{self, ConfigWriter};

/// How long an operator's change may take to reach the disk.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ModesFile {
    message_request_mode_map: BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

pub struct RequestModes {
    table: Arc<RwLock<ModesFile>>,
    writer: ConfigWriter,
    /// At most this many settings (one per topic and group).
    max_entries: usize,
}

/// Why a setting was not stored.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ModeError(pub String);

impl RequestModes {
    /// Loads the file (absent: no settings).
    ///
    /// # Errors
    /// A corrupt file.
    pub fn load(path: PathBuf, max_entries: usize) -> Result<Self, String> {
        let file: ModesFile = persist::load_json(&path)?;
        let table = Arc::new(RwLock::new(file));
        let writer = ConfigWriter::for_table(path, table.clone());
        Ok(Self {
            table,
            writer,
            max_entries,
        })
    }

    /// The setting of `group` on `topic`, if an operator made one.
    pub fn get(&self, topic: &str, group: &str) -> Option<SetMessageRequestModeRequestBody> {
        self.table
            .read()
            .message_request_mode_map
            .get(topic)
            .and_then(|g| g.get(group))
            .cloned()
    }

    /// Stores a setting and waits until it is on disk (an operator's change is acknowledged
    /// as durable).
    ///
    /// # Errors
    /// The table is full, or the file cannot be written.
    pub async fn set(&self, body: SetMessageRequestModeRequestBody) -> Result<(), ModeError> {
        let generation = {
            let mut t = self.table.write();
            let entries: usize = t.message_request_mode_map.values().map(BTreeMap::len).sum();
            let exists = t
                .message_request_mode_map
                .get(&body.topic)
                .is_some_and(|g| g.contains_key(&body.consumer_group));
            if !exists && entries >= self.max_entries {
                return Err(ModeError(format!(
                    "consume-mode table full ({} settings)",
                    self.max_entries
                )));
            }
            t.message_request_mode_map
                .entry(body.topic.clone())
                .or_default()
                .insert(body.consumer_group.clone(), body);
            self.writer.mark()
        };
        self.writer
            .wait(generation, WRITE_TIMEOUT)
            .await
            .map_err(|e| ModeError(format!("writing messageRequestMode.json: {e}")))
    }

    /// Writes pending changes now (shutdown).
    ///
    /// # Errors
    /// The file cannot be written in time.
    pub fn flush(&self) -> Result<(), String> {
        self.writer.flush(WRITE_TIMEOUT)
    }
}
