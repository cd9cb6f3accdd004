//! `ferromq admin` end to end: a name server and two brokers as real processes, a topic spread
//! over both, offsets committed with ferromq's client, then the real binary's `admin` commands,
//! checking their output (`--output json` parsed back), their effect (QUERY_CONSUMER_OFFSET on
//! each broker) and their exit codes (0 done, 1 error, 2 bad usage, 3 partially applied).
//!
//! Each cluster test stays well under a minute; every admin invocation is bounded by a timeout.
//!
//! Layout: `fixtures.rs` (the cluster and the admin runner), then one module per theme:
//! `usage.rs`, `reset.rs`, `describe.rs`, `import_export.rs`, `clone_delete.rs`,
//! `history_undo.rs`, `upstream.rs` (mqadmin's names) and `live_clients.rs` (real consumers).
//! The long walk through the offsets family below runs on one cluster, theme by theme: each
//! step starts from the offsets the steps before it left.

mod clone_delete;
mod describe;
mod exact_plan;
mod fixtures;
mod history_undo;
mod import_export;
mod live_clients;
mod rebalance;
mod reset;
mod send_timeout;
mod upstream;
mod usage;

use std::time::Duration;

use fixtures::Cluster;

const TOPIC: &str = "AdminOrders";
const QUEUES: i32 = 2;
const MESSAGES: i64 = 10;
const COMMITTED: i64 = 5;
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn offsets_family_and_upstream_aliases_over_two_brokers() {
    let c = Cluster::with_committed(&["g1"]);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // g1 at COMMITTED everywhere.
    reset::dry_runs_change_nothing(&c, dir);
    reset::execute_applies_and_clamps(&c);
    // g1 at 8 everywhere.
    describe::lag_and_an_online_member(&c);
    import_export::export_then_import_into_another_group(&c, dir);
    clone_delete::clone_into_a_new_group(&c);
    reset::from_files(&c, dir);
    reset::several_groups_need_yes(&c);
    history_undo::undo_the_last_change_on_one_broker(&c);
    clone_delete::delete_dry_run_then_applied(&c);
    import_export::rocketmq_offset_files(&c, dir);
    upstream::offset_aliases(&c);
    upstream::cluster_commands(&c);
    reset::unknown_topic_needs_intents(&c);
    upstream::upstream_codes_only(&c);
    drop(c.procs);
}
