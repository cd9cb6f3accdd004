//! The errors `ferromq mirror` ends with: [`MirrorError`], and [`UsageError`] for the ones that
//! are the operator's to fix (exit code 2).

use std::path::PathBuf;
use std::time::Duration;

use crate::args::ArgsError;
use crate::state;

/// Why the mirror could not run.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// Bad flags or a state dir that does not fit.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The state dir is locked, corrupt or unwritable.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// The HTTP endpoint could not be bound, or a background task failed.
    #[error("{0}")]
    Io(String),
}

impl From<ArgsError> for MirrorError {
    fn from(e: ArgsError) -> Self {
        MirrorError::Usage(UsageError::Args(e))
    }
}

/// A command used the wrong way: bad flags, or a state dir that does not fit the command.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Bad flags.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// The state dir was written by a mirror between other clusters.
    #[error(
        "state dir {} belongs to a mirror from {found_source} to {found_target}, not from \
         {wanted_source} to {wanted_target}: use another --state-dir",
        dir.display()
    )]
    ForeignStateDir {
        dir: PathBuf,
        /// The clusters recorded in the state dir.
        found_source: String,
        found_target: String,
        /// The clusters given on the command line.
        wanted_source: String,
        wanted_target: String,
    },
    /// `status`: no mirror has written a status into the state dir.
    #[error(
        "no mirror status in {}: no mirror has run with this --state-dir",
        dir.display()
    )]
    NoStatus { dir: PathBuf },
    /// `failover`: the state dir holds no mirror state.
    #[error("no mirror state in {}", dir.display())]
    NoState { dir: PathBuf },
    /// `failover`: the request file could not be written into the state dir.
    #[error("cannot write to {}: {error}", dir.display())]
    RequestFailover {
        dir: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// `failover`: the running mirror did not write its report in time.
    #[error("the mirror did not complete the failover within {wait:?}")]
    FailoverTimeout { wait: Duration },
}
