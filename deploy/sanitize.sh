#!/usr/bin/env bash
# The sanitizer preset: builds everything into build-asan/ with g++ and
# AddressSanitizer + UndefinedBehaviorSanitizer (g++ because the Debian
# libraries it links were built with it), then runs the whole ctest suite
# there. The e2e tests find the binaries through HOSTCA_BUILD_DIR, which
# tests/CMakeLists.txt sets per build folder, so they run the ASan binaries.
# Too slow for CI; run it by hand:  deploy/sanitize.sh [ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh

flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
if [ ! -f build-asan/build.ninja ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=g++ \
    "-DCMAKE_CXX_FLAGS=$flags" \
    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
fi
# What the suite runs: the three programs, the two test binaries, the
# Python stubs of the e2e client.
nice -n 19 cmake --build build-asan -j 2 --target hostca-server hostca-admin hostca-agent \
  hostca_unit_tests hostca_store_tests hostca_python_stubs

# Leaks are reports too. Should gRPC or protobuf internals ever report
# one, suppress it in a committed deploy/lsan.supp with a reason per line.
# Full allocation stacks, so that a suppression can name the frame it means.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:malloc_context_size=30"
export LSAN_OPTIONS="suppressions=$PWD/deploy/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
nice -n 19 ctest --test-dir build-asan --output-on-failure --timeout 1800 "$@" </dev/null
