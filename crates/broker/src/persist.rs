//! Small JSON config files (`topics.json`, `subscriptionGroup.json`, `delayOffset.json`):
//! atomic replace with a `.bak`, and a loader that refuses corrupt files instead of guessing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Writes `value` to `path` atomically: temp file, fsync, keep the old file as `.bak`, rename,
/// fsync the directory.
///
/// # Errors
/// Any I/O error; the previous file is then still in place.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
    }
    if path.exists() {
        fs::copy(path, with_suffix(path, ".bak"))?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Loads `path`, falling back to `path.bak` when the main file is missing or empty.
/// A file that exists but does not parse is an error naming the file: the broker refuses to
/// start rather than overwrite an operator's data with defaults.
///
/// # Errors
/// A message naming the file and the parse problem.
pub fn load_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T, String> {
    for candidate in [path.to_path_buf(), with_suffix(path, ".bak")] {
        let bytes = match fs::read(&candidate) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", candidate.display())),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        return ferromq_protocol::json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is corrupt ({e}); fix or remove it (a backup may be in .bak)",
                candidate.display()
            )
        });
    }
    Ok(T::default())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn save_load_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), 1);
        save_json(&p, &m).unwrap();
        m.insert("b".to_string(), 2);
        save_json(&p, &m).unwrap();
        assert_eq!(load_json::<BTreeMap<String, i32>>(&p).unwrap(), m);
        fs::write(&p, b"").unwrap();
        assert_eq!(
            load_json::<BTreeMap<String, i32>>(&p).unwrap().len(),
            1,
            "empty file falls back to .bak"
        );
        fs::write(&p, b"{garbage").unwrap();
        assert!(load_json::<BTreeMap<String, i32>>(&p)
            .unwrap_err()
            .contains("corrupt"));
    }
}
