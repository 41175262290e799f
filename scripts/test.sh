#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer and warnings as errors, and
# runs every test: unit, integration (the real server over TCP), fuzz replay and a libFuzzer run.
#
#   bash scripts/test.sh
#
# Missing dependencies are installed first (scripts/install-deps.sh test --interop: the interop
# tests run Prosody and ejabberd as federation peers). Build trees: build-test/
# (CMake, RelWithDebInfo) and build-fuzz/ (clang-14 libFuzzer binary). The last thing printed is
# ctest's summary. Set PARLEY_FUZZ_SECONDS to change how long the fuzzer runs (default 60).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh test --interop

fuzzer=""
if [[ -f scripts/build-fuzzers.sh ]]; then
  bash scripts/build-fuzzers.sh build-fuzz
  fuzzer="$PWD/build-fuzz/stream_parser_fuzzer"
fi

cmake -S . -B build-test -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DPARLEY_SANITIZE=ON -DPARLEY_WERROR=ON \
  -DPARLEY_FUZZER="$fuzzer" -DPARLEY_FUZZ_SECONDS="${PARLEY_FUZZ_SECONDS:-60}"
cmake --build build-test -j "$(nproc)"
ctest --test-dir build-test --output-on-failure -j2
