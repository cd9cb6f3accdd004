//! The table of consume queues by topic and queue id.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::consume_queue::ConsumeQueue;
use crate::error::{io_err, StoreError};
use crate::record::valid_topic;

pub(crate) struct QueueTable {
    root: PathBuf,
    epf: u64,
    map: RwLock<HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>>,
}

impl QueueTable {
    /// Loads every `<root>/<topic>/<queueId>/`; returns whether any queue needed repair.
    ///
    /// # Errors
    /// [`StoreError::Io`] when a directory cannot be created or listed, or a queue cannot be
    /// loaded (see [`ConsumeQueue::load`]).
    pub fn load(root: PathBuf, epf: u64) -> Result<(Self, bool), StoreError> {
        std::fs::create_dir_all(&root).map_err(io_err(&root))?;
        let mut map: HashMap<String, HashMap<i32, Arc<ConsumeQueue>>> = HashMap::new();
        let mut damaged = false;
        for t in std::fs::read_dir(&root).map_err(io_err(&root))? {
            let t = t.map_err(io_err(&root))?;
            let Some(topic) = t.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !valid_topic(&topic) || !t.path().is_dir() {
                continue;
            }
            for q in std::fs::read_dir(t.path()).map_err(io_err(&t.path()))? {
                let q = q.map_err(io_err(&t.path()))?;
                let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    continue;
                };
                if qid < 0 || !q.path().is_dir() {
                    continue;
                }
                let (cq, bad) = ConsumeQueue::load(q.path(), topic.clone(), qid, epf)?;
                damaged |= bad;
                map.entry(topic.clone())
                    .or_default()
                    .insert(qid, Arc::new(cq));
            }
        }
        Ok((
            QueueTable {
                root,
                epf,
                map: RwLock::new(map),
            },
            damaged,
        ))
    }

    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.map.read().get(topic)?.get(&queue_id).cloned()
    }

    /// The queue, created (in memory; files come with the first entry) if missing.
    ///
    /// # Errors
    /// [`StoreError::InvalidTopic`] or [`StoreError::InvalidQueueId`]: the name or id cannot
    /// be a directory under the store's root.
    pub fn get_or_create(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = self.get(topic, queue_id) {
            return Ok(q);
        }
        if queue_id < 0 {
            return Err(StoreError::InvalidQueueId(queue_id));
        }
        let dir = self.topic_dir(topic)?.join(queue_id.to_string());
        let mut map = self.map.write();
        Ok(map
            .entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| {
                Arc::new(ConsumeQueue::new(dir, topic.to_owned(), queue_id, self.epf))
            })
            .clone())
    }

    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.map
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    /// The directory of a topic's queues. A name that is not a plain topic name (a path, `..`,
    /// a separator) is refused: no request can make the store touch a file outside its root.
    fn topic_dir(&self, topic: &str) -> Result<PathBuf, StoreError> {
        if !valid_topic(topic) {
            return Err(StoreError::InvalidTopic(topic.to_string()));
        }
        let dir = self.root.join(topic);
        if dir.parent() != Some(self.root.as_path()) {
            return Err(StoreError::InvalidTopic(topic.to_string()));
        }
        Ok(dir)
    }

    /// Forgets a topic's queues and deletes their directory.
    ///
    /// # Errors
    /// [`StoreError::InvalidTopic`] for a name that is not a topic name; I/O errors.
    pub fn remove_topic(&self, topic: &str) -> Result<(), StoreError> {
        let dir = self.topic_dir(topic)?;
        self.map.write().remove(topic);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&dir)(e)),
        }
    }
}
