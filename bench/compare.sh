#!/usr/bin/env bash
# One command: the same load scenarios against Parley, Prosody 0.12, ejabberd 23.01 and a bare TLS
# relay (parley-relay, the ceiling), one server after another on loopback, each server pinned to
# one core (taskset -c $SERVER_CPU, inherited by its processes and threads) and parley-load to
# another ($TOOL_CPU), every round $ROUNDS times; prints a Markdown table of the medians with
# Parley/peer ratios, the machine, the versions and every tuning applied to each server.
#
#   bench/compare.sh [compare.py options]      e.g. bench/compare.sh --rounds 1 --servers parley
#
# Builds (Release) what is missing or stale in $BUILD first:
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_BUILD_TESTS=OFF
#   ninja -C build-bench -j2 parley parley-load parley-load-accounts parley-relay
#
# Environment (defaults in brackets; each also a compare.py option, see --help):
#   BUILD [build-bench]  WORK [$BUILD/compare-work: servers' data (accounts made once), logs,
#   results.jsonl, results.json]  ROUNDS [3]  SERVERS ["parley prosody ejabberd relay"]
#   SCENARIOS ["logins idle messages rate presence"]  SERVER_CPU [0]  TOOL_CPU [1]
#   LOGINS [1000] LOGIN_CONCURRENCY [20]  IDLE [5000] IDLE_SECONDS [5]
#   CLIENTS [200] WINDOW [4] DURATION [10: seconds measured] WARMUP [2]  RATE [1000: msgs/s offered, open loop; Prosody
#   needs ~300 ms of CPU per 1,000 messages, so higher rates measure its queue, not its latency]
#   CONTACTS [500] CHANGES [20]  SCENARIO_TIMEOUT [900 s per parley-load run]
#   RESTART [scenario: a fresh server for every scenario | round: one start per round]
#   NO_BUILD [0; 1 uses $BUILD as it is]  PARLEY_LOAD, PARLEY_RELAY [other binaries, for testing]
#
# Servers: Parley 127.0.0.41, Prosody .42, ejabberd .43, relay .44, all c2s STARTTLS on 5222,
# domain localhost, one self-signed P-256 certificate, accounts u1..uN with one password.
# Exit status: 0 all scenario runs succeeded, 1 some failed (table says "fail"), 2 setup error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build-bench}
python=/usr/bin/python3

missing=()
for pkg in prosody ejabberd erlang-base; do
  dpkg -s "$pkg" > /dev/null 2>&1 || missing+=("package $pkg")
done
for tool in taskset setpriv openssl cmake ninja "$python"; do
  command -v "$tool" > /dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "compare.sh: missing: ${missing[*]}" >&2
  exit 2
fi
if [[ $(nproc) -lt 2 ]]; then
  echo "compare.sh: needs two CPUs (server on one, parley-load on the other)" >&2
  exit 2
fi

# --- build: ninja rebuilds whatever is stale and does nothing when all is up to date ----------
if [[ ${NO_BUILD:-0} != 1 ]]; then
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S "$root" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_BUILD_TESTS=OFF
  fi
  targets=(parley parley-load parley-load-accounts)
  if ninja -C "$BUILD" -t targets all 2> /dev/null | grep -q '^parley-relay:'; then
    targets+=(parley-relay)
  else
    echo "compare.sh: no parley-relay target in $BUILD (bench/relay not there yet?): the relay is skipped" >&2
  fi
  ninja -C "$BUILD" -j2 "${targets[@]}" | tail -n 3
fi

export PYTHONDONTWRITEBYTECODE=1
export BUILD
COMPARE_COMMAND="${0}${*:+ $*}"
for v in WORK ROUNDS SERVERS SCENARIOS SERVER_CPU TOOL_CPU LOGINS LOGIN_CONCURRENCY IDLE \
         IDLE_SECONDS CLIENTS WINDOW DURATION WARMUP RATE CONTACTS CHANGES RESTART; do
  if [[ -n ${!v:-} ]]; then COMPARE_COMMAND="$v=${!v} $COMPARE_COMMAND"; fi
done
[[ $BUILD != "$root/build-bench" ]] && COMPARE_COMMAND="BUILD=$BUILD $COMPARE_COMMAND"
export COMPARE_COMMAND
exec "$python" "$root/bench/compare/compare.py" --build "$BUILD" "$@"
