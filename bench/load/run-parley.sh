#!/usr/bin/env bash
# Runs parley-load's `messages` and `presence` scenarios against a Release build of Parley on this
# machine and prints their tables, one JSON line per scenario and a summary. The server runs
# pinned to one core (taskset -c $SERVER_CPU), parley-load on another ($TOOL_CPU).
#
#   bench/load/run-parley.sh [BUILD_DIR]          (default: build-bench)
#
# BUILD_DIR must hold app/parley and bench/load/parley-load:
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_BUILD_TESTS=OFF
#   ninja -C build-bench -j2 parley parley-load parley-load-accounts
#
# Environment (defaults in brackets): CLIENTS [200], WINDOW [4], DURATION [10: seconds measured],
# WARMUP [2], PAIRING [ring|random], BATCH_WRITES [0|1: --batch-writes], CONTACTS [500],
# CHANGES [20], MECHANISM [SCRAM-SHA-1],
# SCENARIOS ["messages presence"], SERVER_CPU [0], TOOL_CPU [1], WORK [BUILD_DIR/load-work],
# PERF [0; 1 records `perf record $PERF_OPTS` of the server during each measured interval into
# WORK], PERF_OPTS [-g; `--call-graph dwarf` gives call chains through a Release build].
#
# The accounts (msg1..msgCLIENTS, pres1..presCONTACTS+1) are created by parley-load-accounts the
# first time and kept in WORK/data for the next runs; pres1..presN form the shared roster group
# "bench", so each of them has all the others as contacts.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build-bench}" && pwd)
parley=$build/app/parley
load=$build/bench/load/parley-load
accounts=$build/bench/load/parley-load-accounts
for b in "$parley" "$load" "$accounts"; do
  if [[ ! -x $b ]]; then
    echo "run-parley.sh: $b is missing; build it first (see the header)" >&2
    exit 2
  fi
done

CLIENTS=${CLIENTS:-200}
WINDOW=${WINDOW:-4}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
PAIRING=${PAIRING:-ring}
BATCH_WRITES=${BATCH_WRITES:-0}
CONTACTS=${CONTACTS:-500}
CHANGES=${CHANGES:-20}
MECHANISM=${MECHANISM:-SCRAM-SHA-1}
SCENARIOS=${SCENARIOS:-messages presence}
SERVER_CPU=${SERVER_CPU:-0}
TOOL_CPU=${TOOL_CPU:-1}
PERF=${PERF:-0}
PERF_OPTS=${PERF_OPTS:--g}
work=${WORK:-$build/load-work}
password="parley-load-password"
members=$((CONTACTS + 1))
mkdir -p "$work"
work=$(cd "$work" && pwd)

# --- the configuration: every setting that differs from the defaults ------------------------
config=$work/parley.toml
roster_limit=$(( members > 1000 ? members : 1000 ))
{
  echo '# Written by bench/load/run-parley.sh: the benchmark configuration.'
  echo 'data_dir = "data"'
  echo 'bind = "127.0.0.1"'
  echo 'log_file = "parley.log"'
  echo 'log_level = "warn"'
  echo '[c2s]'
  echo 'port = 0'
  echo 'tls_port = false'
  echo '[limits]'
  echo '# No rate limit: the load generator sends as fast as the window allows.'
  echo 'stanzas_per_second = 0'
  echo "max_roster_items = $roster_limit"
  echo '[[host]]'
  echo 'domain = "localhost"'
  echo '[[group]]'
  echo 'name = "bench"'
  printf 'members = ['
  for ((i = 1; i <= members; i++)); do
    printf '%s"pres%d@localhost"' "$([[ $i -gt 1 ]] && echo ', ')" "$i"
  done
  echo ']'
} > "$config"

# --- accounts: created once, in one process (a `parley adduser` per account would take minutes)
start=$(date +%s)
printf '%s\n' "$password" | "$accounts" --data-dir "$work/data" --users msg --count "$CLIENTS"
printf '%s\n' "$password" | "$accounts" --data-dir "$work/data" --users pres --count "$members"
echo "Accounts ready in $(( $(date +%s) - start )) s (kept in $work/data for later runs)"

# --- one server per scenario ---------------------------------------------------------------
server_pid=
perf_pid=
stop_server() {
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid" 2> /dev/null || true
    wait "$perf_pid" 2> /dev/null || true
    perf_pid=
  fi
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

start_server() {
  rm -f "$work/ports"
  taskset -c "$SERVER_CPU" "$parley" serve --config "$config" --port-file "$work/ports" \
    2>> "$work/parley.stderr" &
  server_pid=$!
  for _ in $(seq 300); do
    [[ -s $work/ports ]] && break
    if ! kill -0 "$server_pid" 2> /dev/null; then
      echo "run-parley.sh: parley serve exited; see $work/parley.stderr" >&2
      exit 2
    fi
    sleep 0.1
  done
  port=$(head -n 1 "$work/ports")
}

echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
commit=$(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo '?')
git -C "$root" diff --quiet HEAD 2> /dev/null || commit+=" (with uncommitted changes)"
echo "Commit:  $commit"
echo "Server:  taskset -c $SERVER_CPU $parley serve --config $config"
echo "Tuning:  the configuration file, without the group's member list:"
grep -v '^members' "$config" | grep -v '^#' | sed 's/^/           /'
echo "           members = [pres1@localhost … pres$members@localhost]"
echo

json_lines=()
status=0
for scenario in $SCENARIOS; do
  start_server
  case $scenario in
    messages)
      args=(--scenario messages --users msg --clients "$CLIENTS" --window "$WINDOW"
            --seconds "$DURATION" --warmup "$WARMUP")
      [[ $PAIRING == random ]] && args+=(--random-partner) ;;
    presence)
      args=(--scenario presence --users pres --contacts "$CONTACTS" --changes "$CHANGES") ;;
    *) echo "run-parley.sh: unknown scenario $scenario" >&2; exit 2 ;;
  esac
  if [[ $BATCH_WRITES == 1 ]]; then args+=(--batch-writes); fi
  args+=(--port "$port" --password "$password" --mechanism "$MECHANISM"
         --server-pid "$server_pid")
  echo "\$ taskset -c $TOOL_CPU parley-load ${args[*]}"
  out=$work/$scenario.out
  err=$work/$scenario.err
  : > "$err"
  rm -f "$err.done"
  if [[ $PERF == 1 ]]; then
    # Profile the measured interval only (parley-load says when it starts and ends), not the
    # logins before it.
    (
      wait_for() {
        until grep -q "^parley-load: $1" "$err" || [[ -e $err.done ]]; do sleep 0.05; done
      }
      wait_for measuring
      # shellcheck disable=SC2086 # PERF_OPTS is a list of options
      perf record $PERF_OPTS -p "$server_pid" -o "$work/perf-$scenario.data" > /dev/null 2>&1 &
      recorder=$!
      wait_for measured
      kill -INT "$recorder"
      wait "$recorder"
    ) &
    perf_pid=$!
  fi
  set +e
  taskset -c "$TOOL_CPU" "$load" "${args[@]}" 2> >(tee "$err" >&2) | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  touch "$err.done"
  if [[ -n $perf_pid ]]; then
    wait "$perf_pid" || true
    perf_pid=
  fi
  if [[ $rc -ne 0 ]]; then status=$rc; fi
  json_lines+=("$(grep '^{' "$out" || true)")
  stop_server
  if [[ $PERF == 1 ]]; then
    echo "perf data: perf report -i $work/perf-$scenario.data --no-children"
  fi
  echo
done

# --- summary: the figures docs/PERFORMANCE.md quotes, as a Markdown table -----------------
printf '%s\n' "${json_lines[@]}" | python3 -c '
import json, sys
figures = {
    "messages": [
        ("msgs_per_s", "delivered messages/s", "{:,.0f}"),
        ("latency_p50_ms", "end-to-end latency p50", "{:.2f} ms"),
        ("latency_p99_ms", "end-to-end latency p99", "{:.2f} ms"),
        ("server_cpu_ms_per_1000_msgs_sched", "server CPU per 1,000 messages", "{:.1f} ms"),
        ("msgs_per_server_cpu_s", "messages per server CPU-second", "{:,.0f}"),
        ("lost", "lost", "{}"),
        ("errors", "errors", "{}"),
    ],
    "presence": [
        ("to_all_p50_ms", "time until all contacts have it, p50", "{:.2f} ms"),
        ("to_all_p99_ms", "time until all contacts have it, p99", "{:.2f} ms"),
        ("server_cpu_ms_per_change_sched", "server CPU per change", "{:.2f} ms"),
        ("errors", "errors", "{}"),
    ],
}
common = [
    ("server_cpu_util_pct", "server CPU / wall time", "{:.0f} %"),
    ("server_cpu_wait_pct", "server waiting for a CPU", "{:.0f} % of wall"),
    ("tool_cpu_util_pct", "parley-load CPU / wall time", "{:.0f} %"),
    ("tool_cpu_wait_pct", "parley-load waiting for a CPU", "{:.0f} % of wall"),
    ("saturated", "saturated", "{}"),
    ("load_before", "load average before", "{}"),
]
print("| scenario | figure | value |")
print("|---|---|---:|")
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    name = r["scenario"]
    if name == "messages":
        name += ", %d clients, window %d" % (r["clients"], r["window"])
        if r.get("batch_writes"):
            name += ", batched writes"
    elif name == "presence":
        name += ", %d contacts, %d changes" % (r["contacts"], r["changes"])
    for key, label, fmt in figures.get(r["scenario"], []) + common:
        value = "n/a" if r.get(key) is None else fmt.format(r[key])
        print("| %s | %s | %s |" % (name, label, value))
        name = ""
'
exit "$status"
