#!/usr/bin/env bash
# The test command: installs what is missing, builds everything and runs
# every test (unit, store against a real PostgreSQL, end-to-end). .ci/run
# runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh
# Each ring is a CTest label: ctest --test-dir build -L unit|store|e2e
ctest --test-dir build --output-on-failure --timeout 900 </dev/null
# Hostile input: every libFuzzer target for 30 s from its seed corpus, built
# with clang, ASan and UBSan into build-fuzz/ (about 6 minutes in all).
deploy/fuzz.sh 30
