//! The process exit codes: the contract scripts and CI read, shared by the command line and
//! the window.

/// Exit code: the run completed and every threshold held.
pub const EXIT_OK: i32 = 0;

/// Exit code: a threshold failed.
pub const EXIT_THRESHOLD_FAILED: i32 = 1;

/// Exit code: the scenario or a flag is invalid (nothing was sent).
pub const EXIT_INVALID: i32 = 2;

/// Exit code: the run could not be carried out (e.g. the demo service could not start).
pub const EXIT_RUN_ERROR: i32 = 3;

/// Exit code: a significant regression against the baseline (`run --compare-to`, `compare`).
pub const EXIT_REGRESSED: i32 = 4;

/// Exit code: stopped with Ctrl-C (the summary of what was measured is still printed).
pub const EXIT_STOPPED: i32 = 130;
