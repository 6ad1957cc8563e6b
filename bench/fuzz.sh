#!/usr/bin/env bash
# The property tests of tests/fuzz.rs for longer: N cases of each (default 2000), in release.
#
#   bench/fuzz.sh [N]
#
# Every reader of outside input (scenarios, curl lines, HAR files, benchmark files, run exports
# and what they store, histograms, thresholds) gets N mutated or random inputs; any panic fails
# with the input that caused it (proptest shrinks it first).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
PROPTEST_CASES=$N cargo test --release --test fuzz -- --test-threads 2
