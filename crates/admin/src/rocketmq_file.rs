//! Loading an Apache RocketMQ broker's `consumerOffset.json` from disk, with upstream's
//! `.bak` fallback (`offsets import --rocketmq`).

use std::path::{Path, PathBuf};

use ferromq_protocol::body::consumer_offset::{self, ConsumerOffsetError};
use ferromq_protocol::body::progress::QueueKey;

/// Why a `consumerOffset.json` could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Format(#[from] ConsumerOffsetError),
}

/// Reads a `consumerOffset.json`, falling back to `<path>.bak` when the main file is missing,
/// empty or unparsable (upstream's `ConfigManager.load` rule). Returns the entries and the file
/// actually used.
///
/// Stricter than upstream where upstream would silently start empty: if the main file is
/// unparsable and no usable `.bak` exists, the main file's error is returned; if neither file
/// exists, the `NotFound` error of the main file. An empty main file without a backup is an
/// empty table.
///
/// # Errors
/// As described above, plus [`ConsumerOffsetError::BadKeys`] from the file used.
pub fn load(path: &Path) -> Result<(Vec<(QueueKey, i64)>, PathBuf), LoadError> {
    let mut bak = path.as_os_str().to_owned();
    bak.push(".bak");
    let bak = PathBuf::from(bak);

    let main_err = match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => None,
        Ok(b) => match consumer_offset::parse_at(&b, Some(path)) {
            Ok(v) => return Ok((v, path.to_path_buf())),
            Err(e @ ConsumerOffsetError::BadKeys { .. }) => return Err(e.into()),
            Err(e) => Some(LoadError::from(e)),
        },
        Err(e) => Some(LoadError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    };
    match std::fs::read(&bak) {
        Ok(b) if !b.iter().all(u8::is_ascii_whitespace) => {
            tracing::warn!(path = %path.display(), "consumerOffset.json unusable, loading .bak");
            let v = consumer_offset::parse_at(&b, Some(&bak))?;
            Ok((v, bak))
        }
        _ => match main_err {
            None => Ok((Vec::new(), path.to_path_buf())),
            Some(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{load, LoadError};
    use ferromq_protocol::body::consumer_offset::ConsumerOffsetError;

    const V4_PRETTY: &str = "{\n\t\"offsetTable\":{\n\t\t\"TopicTest@g1\":{0:250,1:251,\n\t\t\t2:252,3:253\n\t\t},\n\t\t\"%RETRY%g1@g1\":{0:0\n\t\t}\n\t}\n}";
    const V5_COMPACT: &str = r#"{"dataVersion":{"counter":1448,"stateVersion":0,"timestamp":1736661762584},"groupTopicMap":{"g1":["TopicTest","%RETRY%g1"]},"lmqOffsetTable":{},"offsetTable":{"TopicTest@g1":{0:37960,1:37961},"%RETRY%g1@g1":{0:3},"other@g2":{"7":9007199254740993}}}"#;

    #[test]
    fn bak_fallback() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("consumerOffset.json");
        let bak = d.path().join("consumerOffset.json.bak");

        // Neither file: an error naming the main file.
        assert!(matches!(load(&main), Err(LoadError::Io { .. })));

        std::fs::write(&bak, V4_PRETTY).unwrap();
        // Missing main → bak.
        let (v, used) = load(&main).unwrap();
        assert_eq!(used, bak);
        assert_eq!(v.len(), 5);
        // Empty main → bak.
        std::fs::write(&main, "").unwrap();
        assert_eq!(load(&main).unwrap().1, bak);
        // Unparsable main (torn write) → bak.
        std::fs::write(&main, &V5_COMPACT[..40]).unwrap();
        assert_eq!(load(&main).unwrap().1, bak);
        // Good main wins.
        std::fs::write(&main, V5_COMPACT).unwrap();
        let (v, used) = load(&main).unwrap();
        assert_eq!(used, main);
        assert_eq!(v.len(), 4);
        // Unparsable main without a bak: an error, not an empty table.
        std::fs::remove_file(&bak).unwrap();
        std::fs::write(&main, "{\"offsetTable\":").unwrap();
        assert!(matches!(
            load(&main),
            Err(LoadError::Format(ConsumerOffsetError::Json { .. }))
        ));
    }
}
