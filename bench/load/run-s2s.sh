#!/usr/bin/env bash
# Runs parley-load's `messages` scenario between two federated Parley servers on this machine:
# server A serves a.test on $ADDRESS_A, server B serves b.test on $ADDRESS_B, each with a static
# [[s2s.route]] to the other and a certificate from a private CA both trust, so that they
# authenticate each other with SASL EXTERNAL (XEP-0178). Half the clients log in to A, half to B;
# client k of A writes to client k of B, so every message crosses the server-to-server link. For
# comparison, the same scenario also runs against server A alone (all clients on a.test), in the
# ring of run-parley.sh and with random recipients. Prints each run's table and JSON line, then a
# summary with the median of the runs.
#
#   bench/load/run-s2s.sh [BUILD_DIR]             (default: build-bench)
#
# BUILD_DIR must hold app/parley and bench/load/parley-load(-accounts):
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARLEY_BUILD_TESTS=OFF
#   ninja -C build-bench -j2 parley parley-load parley-load-accounts
#
# Modes (MODES, run in this order in each of the RUNS rounds, fresh servers for each run):
#   single         server A alone, CLIENTS clients in a ring (the baseline, as run-parley.sh)
#   single-random  server A alone, each message to a random other client (--random-partner):
#                  like the s2s link, the stanzas a server reads from one connection go to many
#                  clients, so they reach each recipient one by one rather than in batches
#   one-way        CLIENTS/2 clients on A send to their partners among CLIENTS/2 on B
#   both           the same, and B's clients send to their partners on A too
#
# CPUs: the machine this was written for has 2 cores. By default both servers share core 0
# (SERVER_A_CPU=0, SERVER_B_CPU=0) and parley-load has core 1 (TOOL_CPU=1), as the one server and
# the tool do in run-parley.sh: the servers get the same CPU budget in every mode, so messages/s
# compare directly, and each server's CPU per message is read from its own /proc entries either
# way. SERVER_B_CPU=1 gives each server a core, but then B competes with the tool.
#
# Environment (defaults in brackets): CLIENTS [200], WINDOW [4], DURATION [10: seconds measured],
# WARMUP [2], BATCH_WRITES [0|1: --batch-writes], MECHANISM [SCRAM-SHA-1],
# MODES ["single single-random one-way both"], RUNS [3], ADDRESS_A [127.0.0.31],
# ADDRESS_B [127.0.0.32], S2S_PORT [5269: the s2s port of both, on their own addresses],
# SERVER_A_CPU [0], SERVER_B_CPU [0], TOOL_CPU [1], WORK [BUILD_DIR/s2s-work], PERF [0; 1 records
# `perf record $PERF_OPTS` of each server during each measured interval into WORK],
# PERF_OPTS [-g; "" for a flat profile; "-e raw_syscalls:sys_enter" to count system calls],
# QUIET [0; 1: on a shared machine, before each run wait until the CPUs have been at least 90%
# idle for 5 s, at most QUIET_MAX seconds [1800], then run anyway].
#
# Kept in WORK for later runs: the CA and the certificates (WORK/pki, made with the openssl
# command), the accounts (msg1..msgCLIENTS on a.test, msg1..msgCLIENTS/2 on b.test, created by
# parley-load-accounts in WORK/a/data and WORK/b/data).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build-bench}" && pwd)
parley=$build/app/parley
load=$build/bench/load/parley-load
accounts=$build/bench/load/parley-load-accounts
for b in "$parley" "$load" "$accounts"; do
  if [[ ! -x $b ]]; then
    echo "run-s2s.sh: $b is missing; build it first (see the header)" >&2
    exit 2
  fi
done

CLIENTS=${CLIENTS:-200}
WINDOW=${WINDOW:-4}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
BATCH_WRITES=${BATCH_WRITES:-0}
MECHANISM=${MECHANISM:-SCRAM-SHA-1}
MODES=${MODES:-single single-random one-way both}
RUNS=${RUNS:-3}
ADDRESS_A=${ADDRESS_A:-127.0.0.31}
ADDRESS_B=${ADDRESS_B:-127.0.0.32}
S2S_PORT=${S2S_PORT:-5269}
SERVER_A_CPU=${SERVER_A_CPU:-0}
SERVER_B_CPU=${SERVER_B_CPU:-0}
TOOL_CPU=${TOOL_CPU:-1}
PERF=${PERF:-0}
PERF_OPTS=${PERF_OPTS--g}
QUIET=${QUIET:-0}
QUIET_MAX=${QUIET_MAX:-1800}
work=${WORK:-$build/s2s-work}
password="parley-load-password"
domain_a=a.test
domain_b=b.test
if (( CLIENTS < 2 || CLIENTS % 2 != 0 )); then
  echo "run-s2s.sh: CLIENTS must be even (half log in to each server)" >&2
  exit 2
fi
half=$((CLIENTS / 2))
mkdir -p "$work/pki" "$work/a" "$work/b"
work=$(cd "$work" && pwd)

# --- a private CA and a certificate per domain (SAN DNS:<domain>, serverAuth + clientAuth: the
# same certificate serves the s2s listener and authenticates the outgoing links) ---------------
pki=$work/pki
if [[ ! -s $pki/ca.pem ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=Parley s2s benchmark CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2> /dev/null
fi
for d in $domain_a $domain_b; do
  [[ -s $pki/$d.chain.pem && $pki/$d.chain.pem -nt $pki/ca.pem ]] && continue
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$d" \
    -keyout "$pki/$d.key" -out "$pki/$d.csr" 2> /dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyAgreement" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$d" > "$pki/$d.ext"
  openssl x509 -req -in "$pki/$d.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$pki/$d.ext" -out "$pki/$d.crt" 2> /dev/null
  cat "$pki/$d.crt" "$pki/ca.pem" > "$pki/$d.chain.pem"
done

# --- the two configurations: every setting that differs from the defaults -------------------
write_config() {  # NAME DOMAIN ADDRESS PEER_DOMAIN PEER_ADDRESS
  cat << EOF
# Written by bench/load/run-s2s.sh: server $1 of the s2s benchmark.
data_dir = "data"
bind = "$3"
log_file = "parley.log"
log_level = "info"
[c2s]
port = 0
tls_port = false
[limits]
# No rate limit: the load generator sends as fast as the window allows.
stanzas_per_second = 0
[[host]]
domain = "$2"
certificate = "../pki/$2.chain.pem"
key = "../pki/$2.key"
[s2s]
port = $S2S_PORT
tls_port = false
ca_file = "../pki/ca.pem"
# Room for every message in flight while the first link is being made (default 1000).
max_queued_stanzas = 100000
[[s2s.route]]
domain = "$4"
host = "$5"
port = $S2S_PORT
EOF
}
write_config A $domain_a "$ADDRESS_A" $domain_b "$ADDRESS_B" > "$work/a/parley.toml"
write_config B $domain_b "$ADDRESS_B" $domain_a "$ADDRESS_A" > "$work/b/parley.toml"

# --- accounts: created once, in one process ---------------------------------------------------
start=$(date +%s)
printf '%s\n' "$password" |
  "$accounts" --data-dir "$work/a/data" --domain $domain_a --users msg --count "$CLIENTS"
printf '%s\n' "$password" |
  "$accounts" --data-dir "$work/b/data" --domain $domain_b --users msg --count "$half"
echo "Accounts ready in $(( $(date +%s) - start )) s (kept in $work/{a,b}/data for later runs)"

# --- servers ----------------------------------------------------------------------------------
pid_a=
pid_b=
perf_pids=()
stop_servers() {
  for p in "${perf_pids[@]}"; do
    kill -INT "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  perf_pids=()
  for p in $pid_a $pid_b; do
    kill -TERM "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  pid_a=
  pid_b=
}
trap stop_servers EXIT

started_pid=
started_port=
start_server() {  # NAME CPU
  local dir=$work/$1
  rm -f "$dir/ports"
  taskset -c "$2" "$parley" serve --config "$dir/parley.toml" --port-file "$dir/ports" \
    2>> "$dir/parley.stderr" &
  started_pid=$!
  for _ in $(seq 300); do
    [[ -s $dir/ports && $(wc -l < "$dir/ports") -ge 4 ]] && break
    if ! kill -0 "$started_pid" 2> /dev/null; then
      echo "run-s2s.sh: parley serve ($1) exited; see $dir/parley.stderr and $dir/parley.log" >&2
      exit 2
    fi
    sleep 0.1
  done
  started_port=$(head -n 1 "$dir/ports")
}

# Waits until the machine's CPUs were >= 90% idle over 5 s (from /proc/stat), or QUIET_MAX s.
wait_for_quiet() {
  local start idle
  start=$(date +%s)
  while :; do
    idle=$(
      read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
      sleep 5
      read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
      busy=$(( (u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1) ))
      idle=$(( (i2 + w2) - (i1 + w1) ))
      echo $(( 100 * idle / (busy + idle > 0 ? busy + idle : 1) ))
    )
    if (( idle >= 90 )); then
      echo "Quiet: CPUs ${idle}% idle over 5 s, after waiting $(( $(date +%s) - start )) s"
      return
    fi
    if (( $(date +%s) - start >= QUIET_MAX )); then
      echo "Not quiet after ${QUIET_MAX} s (CPUs ${idle}% idle over 5 s); running anyway"
      return
    fi
  done
}

echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
commit=$(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo '?')
git -C "$root" diff --quiet HEAD 2> /dev/null || commit+=" (with uncommitted changes)"
echo "Commit:  $commit"
echo "Server A: taskset -c $SERVER_A_CPU $parley serve --config $work/a/parley.toml"
echo "Server B: taskset -c $SERVER_B_CPU $parley serve --config $work/b/parley.toml"
echo "Tool:     taskset -c $TOOL_CPU $load"
echo "Server A's configuration (B's is the same with the domains and addresses swapped):"
grep -v '^#' "$work/a/parley.toml" | sed 's/^/           /'
echo

json_lines=()
status=0
for ((run = 1; run <= RUNS; run++)); do
  for mode in $MODES; do
    if [[ $QUIET == 1 ]]; then wait_for_quiet; fi
    start_server a "$SERVER_A_CPU"
    pid_a=$started_pid
    port_a=$started_port
    log_a_start=$(wc -c < "$work/a/parley.log" 2> /dev/null || echo 0)
    args=(--scenario messages --users msg --window "$WINDOW" --seconds "$DURATION"
          --warmup "$WARMUP" --password "$password" --mechanism "$MECHANISM"
          --host "$ADDRESS_A" --port "$port_a" --domain "$domain_a" --server-pid "$pid_a"
          --clients "$CLIENTS")
    case $mode in
      single) ;;
      single-random) args+=(--random-partner) ;;
      one-way | both)
        start_server b "$SERVER_B_CPU"
        pid_b=$started_pid
        log_b_start=$(wc -c < "$work/b/parley.log" 2> /dev/null || echo 0)
        args+=(--host2 "$ADDRESS_B" --port2 "$started_port" --domain2 "$domain_b"
               --server2-pid "$pid_b")
        [[ $mode == both ]] && args+=(--both-directions) ;;
      *) echo "run-s2s.sh: unknown mode $mode" >&2; exit 2 ;;
    esac
    if [[ $BATCH_WRITES == 1 ]]; then args+=(--batch-writes); fi
    echo "== run $run, $mode =="
    echo "\$ taskset -c $TOOL_CPU parley-load ${args[*]}"
    out=$work/$mode-$run.out
    err=$work/$mode-$run.err
    : > "$err"
    rm -f "$err.done"
    if [[ $PERF == 1 ]]; then
      # Profile the measured interval only (parley-load says when it starts and ends).
      for side in a b; do
        pid=$pid_a
        [[ $side == b ]] && pid=$pid_b
        [[ -z $pid ]] && continue
        (
          wait_for() {
            until grep -q "^parley-load: $1" "$err" || [[ -e $err.done ]]; do sleep 0.05; done
          }
          wait_for measuring
          # shellcheck disable=SC2086 # PERF_OPTS is a list of options
          perf record $PERF_OPTS -p "$pid" -o "$work/perf-$mode-$run-$side.data" \
            > /dev/null 2>&1 &
          recorder=$!
          wait_for measured
          kill -INT "$recorder"
          wait "$recorder"
        ) &
        perf_pids+=($!)
      done
    fi
    set +e
    taskset -c "$TOOL_CPU" "$load" "${args[@]}" 2> >(tee "$err" >&2) | tee "$out"
    rc=${PIPESTATUS[0]}
    set -e
    touch "$err.done"
    for p in "${perf_pids[@]}"; do wait "$p" || true; done
    perf_pids=()
    if [[ $rc -ne 0 ]]; then status=$rc; fi
    # How A authenticated to B (and B to A): the links' log lines of this run.
    if [[ $mode != single* ]]; then
      {
        tail -c +"$((log_a_start + 1))" "$work/a/parley.log"
        tail -c +"$((log_b_start + 1))" "$work/b/parley.log"
      } | grep -o '[a-z.]* -> [a-z.]* ready ([^)]*)' | sort -u | sed 's/^/s2s link: /' || true
    fi
    line=$(grep '^{' "$out" || true)
    if [[ -n $line ]]; then json_lines+=("{\"mode\":\"$mode\",\"run\":$run,${line#\{}"); fi
    stop_servers
    if [[ $PERF == 1 ]]; then
      sides=a
      [[ $mode != single* ]] && sides='{a,b}'
      echo "perf data: perf report -i $work/perf-$mode-$run-$sides.data --no-children"
    fi
    echo
  done
done

# --- summary: the figures docs/PERFORMANCE.md quotes, as a Markdown table -----------------
printf '%s\n' "${json_lines[@]}" | /usr/bin/python3 -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin if l.startswith("{")]
figures = [
    ("msgs_per_s", "delivered messages/s", "{:,.0f}"),
    ("latency_p50_ms", "end-to-end latency p50", "{:.2f} ms"),
    ("latency_p99_ms", "end-to-end latency p99", "{:.2f} ms"),
    ("server_cpu_ms_per_1000_msgs_sched", "server A CPU per 1,000 messages", "{:.1f} ms"),
    ("server2_cpu_ms_per_1000_msgs_sched", "server B CPU per 1,000 messages", "{:.1f} ms"),
    ("servers_cpu_ms_per_1000_msgs_sched", "A + B CPU per 1,000 messages", "{:.1f} ms"),
    ("server_cpu_util_pct", "server A CPU / wall time", "{:.0f} %"),
    ("server2_cpu_util_pct", "server B CPU / wall time", "{:.0f} %"),
    ("tool_cpu_util_pct", "parley-load CPU / wall time", "{:.0f} %"),
    ("server_cpu_wait_pct", "server A waiting for a CPU", "{:.0f} % of wall"),
    ("server2_cpu_wait_pct", "server B waiting for a CPU", "{:.0f} % of wall"),
    ("tool_cpu_wait_pct", "parley-load waiting for a CPU", "{:.0f} % of wall"),
    ("lost", "lost", "{}"),
    ("errors", "errors", "{}"),
    ("saturated", "saturated", "{}"),
    ("load_before", "load average before", "{}"),
]
modes = []
for r in runs:
    if r["mode"] not in modes:
        modes.append(r["mode"])
n = max((r["run"] for r in runs), default=0)
print("| mode | figure | " + " | ".join("run %d" % i for i in range(1, n + 1)) + " | median |")
print("|---|---|" + "---:|" * (n + 1))
for mode in modes:
    rs = {r["run"]: r for r in runs if r["mode"] == mode}
    any_run = next(iter(rs.values()))
    name = {"single": "one server, %d clients (ring)",
            "single-random": "one server, %d clients (random recipients)",
            "one-way": "A to B, %d clients (half on each)",
            "both": "A to B and B to A, %d clients (half on each)"}[mode] % any_run["clients"]
    name += ", window %d" % any_run["window"]
    if any_run.get("batch_writes"):
        name += ", batched writes"
    for key, label, fmt in figures:
        if all(rs[i].get(key) is None for i in rs) and key not in ("lost", "errors"):
            continue
        cells = []
        values = []
        for i in range(1, n + 1):
            v = rs.get(i, {}).get(key)
            cells.append("" if v is None else fmt.format(v))
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values.append(v)
        median = fmt.format(statistics.median(values)) if values and len(values) == len(rs) \
            and key not in ("lost", "errors") else ""
        if key in ("lost", "errors"):
            median = "total %d" % sum(values)
        print("| %s | %s | %s | %s |" % (name, label, " | ".join(cells), median))
        name = ""
'
exit "$status"
