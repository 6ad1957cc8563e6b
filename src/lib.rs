//! loadbench: design HTTP load scenarios, run them with corrected latency, keep and compare the results.

pub mod analysis;
pub mod benchmark;
pub mod cli;
pub mod cluster;
pub mod demo;
pub mod engine;
pub mod exit;
pub mod exposition;
pub mod foreign;
pub mod format;
pub mod halt;
pub mod launch;
pub mod metrics;
pub mod monitor;
pub mod output;
pub mod printer;
pub mod report;
pub mod scenario;
pub mod scrape;
pub mod statsd;
pub mod store;
pub mod thresholds;
pub mod timer;
#[cfg(feature = "gui")]
pub mod ui;
