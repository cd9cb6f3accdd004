//! All of this crate's integration tests in one binary: each was its own binary before, and
//! each compiled the shared helpers and linked the whole broker again (~55 MB apiece), which
//! made building the tests the longest step of CI. nextest still runs every test in its own
//! process, so a test's servers, statics and environment stay its own.

mod acl;
mod admin_cli;
mod apache_admin;
mod apache_import;
mod apache_migrate;
mod apache_mixed;
mod bench_grpc;
mod common;
mod compat_ali_ons;
mod compat_cpp;
mod compat_go;
mod compat_grpc;
mod compat_java;
mod compat_java_options;
mod compat_java_trace;
mod compat_java_tx;
mod compat_mqadmin;
mod compat_mqadmin_lookup;
mod crash;
mod crash_loop;
mod disk_full;
mod grpc_bad_input;
mod grpc_limits;
mod grpc_rapid_reset;
mod limits_rss;
mod mirror_dr;
mod progress_e2e;
mod tls;
