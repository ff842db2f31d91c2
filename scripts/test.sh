#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every check and
# test. Tests run as root against real mounts; a missing prerequisite fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== tests"
cargo test --locked --all-targets -- --test-threads="${BERTH_TEST_THREADS:-4}"
