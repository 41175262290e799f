#!/usr/bin/env bash
# Builds Parley (Release, in build/) and runs the server in the foreground:
#
#   bash scripts/run.sh [serve options]     e.g.  bash scripts/run.sh --domain example.org
#
# Defaults: domain localhost, data (certificates, database) in ./parley-data, clients on ports 5222
# (STARTTLS) and 5223 (direct TLS) on every interface, a demo account printed on first start. Missing build dependencies are installed first (scripts/install-deps.sh run).
# Ctrl-C stops the server cleanly. `build/app/parley --help` lists every subcommand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DPARLEY_BUILD_TESTS=OFF -DPARLEY_BUILD_BENCH=OFF >/dev/null
cmake --build build --target parley -j "$(nproc)"
# --demo-account: on first start, create demo@<domain> and print its password.
exec build/app/parley serve --demo-account "$@"
