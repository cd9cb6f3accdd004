//! Fault injection for unit tests: a full disk on the calling thread (used by the append path
//! in `append.rs` and by `disk_full_tests`).

thread_local! {
    /// Log writes on this thread fail with ENOSPC after writing half their bytes.
    pub static FULL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Cutting a failed write off fails with ENOSPC.
    pub static CUT_FAILS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
