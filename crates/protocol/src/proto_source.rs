//! Which `.proto` files the committed gRPC code was generated from.
//!
//! `src/grpc/apache.rocketmq.v2.rs` is generated from `proto/` by `tools/protogen`
//! (`scripts/protogen.sh`) and committed, so that building ferromq needs no protobuf compiler:
//! the compiler and code generator are ~40 crates that only a change to the `.proto` files needs.
//! The generated file names a checksum of the `.proto` files it came from, and a test here
//! recomputes it, so a `.proto` change without regenerated code fails the suite.

use std::io;
use std::path::{Path, PathBuf};

/// The text before the checksum (8 hex digits) in the generated file's first lines.
pub const CHECKSUM_MARK: &str = "proto checksum ";

/// A CRC-32 over every `.proto` file under `dir`: each one's path relative to `dir` (with `/`)
/// and its bytes, in path order, so a renamed, added, removed or edited file changes it.
pub fn checksum(dir: &Path) -> io::Result<u32> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut h = crc32fast::Hasher::new();
    for file in files {
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        let name: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        h.update(name.join("/").as_bytes());
        h.update(&[0]);
        h.update(&std::fs::read(&file)?);
        h.update(&[0]);
    }
    Ok(h.finalize())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

/// The checksum a generated file says it was made from, if its header names one.
pub fn recorded_checksum(generated: &str) -> Option<u32> {
    let at = generated.find(CHECKSUM_MARK)? + CHECKSUM_MARK.len();
    let hex = generated.get(at..at + 8)?;
    u32::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_grpc_code_is_generated_from_the_current_proto_files() {
        let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
        let now = checksum(&proto).expect("read proto/");
        let generated = include_str!("grpc/apache.rocketmq.v2.rs");
        assert_eq!(
            recorded_checksum(generated),
            Some(now),
            "crates/protocol/proto changed since src/grpc/apache.rocketmq.v2.rs was generated: \
             run scripts/protogen.sh and commit the result"
        );
    }

    #[test]
    fn any_change_to_the_files_changes_the_checksum() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("a/x.proto"), "syntax = \"proto3\";").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a proto").unwrap();
        let first = checksum(dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "still not a proto").unwrap();
        assert_eq!(checksum(dir).unwrap(), first, "only .proto files count");
        std::fs::write(dir.join("a/x.proto"), "syntax = \"proto3\"; ").unwrap();
        let edited = checksum(dir).unwrap();
        assert_ne!(edited, first);
        std::fs::rename(dir.join("a/x.proto"), dir.join("a/y.proto")).unwrap();
        assert_ne!(checksum(dir).unwrap(), edited, "a rename counts");
    }

    #[test]
    fn the_recorded_checksum_is_read_from_the_header() {
        let text = format!("// @generated ... ({CHECKSUM_MARK}00c0ffee)\n");
        assert_eq!(recorded_checksum(&text), Some(0x00c0_ffee));
        assert_eq!(recorded_checksum("// no mark"), None);
        assert_eq!(recorded_checksum(&format!("{CHECKSUM_MARK}zz")), None);
    }
}
