#!/usr/bin/env bash
# Fuzzes every parser of outside input: installs what is missing, builds the
# libFuzzer targets of tests/fuzz/ with clang, ASan and UBSan into
# build-fuzz/, and runs each for SECONDS (default 60) from a copy of its seed
# corpus in tests/fuzz/corpus/<target>/ (the committed seeds stay as they
# are). Prints the executions per target; exits non-zero if any target
# crashed, leaked, timed out or ran out of memory, leaving the input that did
# it in build-fuzz/artifacts/.
#   deploy/fuzz.sh           60 s per target
#   deploy/fuzz.sh 3600      an hour per target, by hand
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
case "$seconds" in '' | *[!0-9]*) echo "usage: deploy/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac

deploy/install-deps.sh

targets=(csr_fuzzer host_name_fuzzer secret_token_fuzzer identifier_fuzzer request_fuzzer)

if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DHOSTCA_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
fi
nice -n 19 cmake --build build-fuzz -j 2 --target hostca_fuzzers

artifacts="$root/build-fuzz/artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/hostca-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp tests/fuzz/corpus/"$t"/* "$work/$t"/
  log="$work/$t.log"
  echo "fuzz: $t for ${seconds}s from $(ls "$work/$t" | wc -l) seeds"
  rc=0
  nice -n 19 "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
    "$work/$t" >"$log" 2>&1 </dev/null || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  summary+=("$(printf '%-20s %12s executions  exit %s' "$t" "${execs:-?}" "$rc")")
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); the end of its log:" >&2
    tail -n 60 "$log" >&2
  fi
done

echo "fuzz: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs in $artifacts" >&2
  exit 1
fi
echo "fuzz: no crashes"
