#!/usr/bin/env bash
# Builds Parley (Release, in build/) and runs the server in the foreground:
#
#   bash scripts/run.sh [serve options]     e.g.  bash scripts/run.sh --domain example.org
#
# Defaults: domain localhost, data (certificate) in ./parley-data, clients on port 5222 on every
# interface. Missing build dependencies are installed first (scripts/install-deps.sh run).
# Ctrl-C stops the server cleanly. `build/app/parley --help` lists every subcommand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DPARLEY_BUILD_TESTS=OFF -DPARLEY_BUILD_BENCH=OFF >/dev/null
cmake --build build --target parley -j "$(nproc)"
exec build/app/parley serve "$@"
