#!/usr/bin/env bash
# Parley with 1 and with 2 io threads ([server] threads) under bench/compare.sh's closed-loop
# message storm, 3 rounds alternating, server and parley-load sharing the CPUs in $CPUS: prints each
# run (with every thread's CPU seconds) and a Markdown table of the medians.
#
#   bench/threads.sh           e.g. ROUNDS=5 THREADS="1 2 3" CPUS=0,1 bench/threads.sh
#   BATCH_WRITES=1 bench/threads.sh   parley-load batches client writes (less CPU per message)
#
# Uses compare.sh's build ($BUILD, default build-bench; build it with compare.sh or as its header
# says) and work directory ($WORK, default $BUILD/compare-work: accounts u1..u200, made if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$root/build-bench}
for binary in app/parley bench/load/parley-load bench/load/parley-load-accounts; do
  if [[ ! -x $BUILD/$binary ]]; then
    echo "bench/threads.sh: $BUILD/$binary is missing: build it as bench/compare.sh's header says" >&2
    exit 2
  fi
done
exec /usr/bin/python3 "$root/bench/compare/threads.py" "$@"
