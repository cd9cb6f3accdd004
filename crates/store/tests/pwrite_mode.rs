//! The store's behaviour tests again, with every write forced through `pwrite`
//! (`WriteMode::Pwrite`, the write path used on copy-on-write file systems such as btrfs). Each
//! included file's `mod common;` becomes `pwrite_mode::<file>::common`, whose `config()` picks
//! the pwrite mode (see `common::write_mode`).
// The shared helpers are compiled once per included file, on purpose: that is what gives each
// inclusion its `pwrite_mode::` module path.
#![allow(clippy::duplicate_mod)]

#[path = "basic.rs"]
mod basic;
#[path = "model.rs"]
mod model;
#[path = "recovery.rs"]
mod recovery;
#[path = "sync_flush.rs"]
mod sync_flush;
#[path = "time_retention.rs"]
mod time_retention;

mod common;

#[tokio::test]
async fn the_included_tests_really_write_with_pwrite() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path());
    assert_eq!(store.write_mode(), ferromq_store::WriteMode::Pwrite);
    store
        .put(vec![common::record("T", 0, b"x", None)])
        .await
        .unwrap();
    assert_eq!(common::read_all(&store, "T", 0), vec![(0, b"x".to_vec())]);
    store.shutdown().unwrap();
}
