//! Shards on Kubernetes: an Indexed Job's manifest for a scenario, and its shards' exports collected and merged.

mod collect;
mod manifest;

pub use collect::{Collected, collect_dir, collect_job, exports_in};
pub use manifest::{Manifest, manifest};
