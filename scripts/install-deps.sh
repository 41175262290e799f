#!/usr/bin/env bash
# Installs the Debian 12 packages Parley needs, and only those that are missing.
#
#   scripts/install-deps.sh [run|test] [--interop]
#
#   run        compiler, CMake, Ninja and the libraries: enough to build and run the server (default)
#   test       also GoogleTest, Google Benchmark, expat, clang-14 + libFuzzer runtime, the
#              Python XMPP client libraries the tests use, and dnsmasq (the DNS resolver tests run
#              their own instance on loopback)
#   --interop  also Prosody and ejabberd for the interoperability tests. Their system services
#              are never started: the tests run their own instances.
#
# Checks each package with dpkg-query first; runs `apt-get update` at most once, and only when a
# missing package has no install candidate or the install fails on stale package lists. Needs root
# (or sudo) only when something is missing. Works non-interactively on a fresh Debian 12.
set -euo pipefail

run_packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libpugixml-dev libssl-dev openssl libsqlite3-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libidn-dev libc-ares-dev
)
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev libexpat1-dev
  clang-14 libclang-rt-14-dev
  python3-slixmpp python3-nbxmpp
  dnsmasq-base
)
interop_packages=(prosody ejabberd)
# Packages whose maintainer scripts would start a system service.
service_packages=(prosody ejabberd)

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0"; }

set_name=run
interop=0
for arg in "$@"; do
  case "$arg" in
    run | test) set_name="$arg" ;;
    --interop) interop=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "install-deps: unknown argument '$arg'" >&2
      usage >&2
      exit 2
      ;;
  esac
done

wanted=("${run_packages[@]}")
[[ "$set_name" == test ]] && wanted+=("${test_packages[@]}")
((interop)) && wanted+=("${interop_packages[@]}")

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for package in "${wanted[@]}"; do
  is_installed "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#wanted[@]} packages of the '$set_name' set$( ((interop)) && echo ' + interop') are installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: missing packages (${missing[*]}) and not root; run this script as root" >&2
    exit 1
  fi
}

# Keep maintainer scripts from starting services (invoke-rc.d and deb-systemd-invoke both ask
# policy-rc.d; 101 = "action forbidden"). Any policy already in place is put back afterwards.
policy=/usr/sbin/policy-rc.d
saved_policy="$policy.parley-install-deps"
restore_policy() {
  as_root rm -f "$policy"
  if [[ -e "$saved_policy" ]]; then as_root mv "$saved_policy" "$policy"; fi
}
if [[ -e "$policy" ]]; then as_root mv "$policy" "$saved_policy"; fi
trap restore_policy EXIT
printf '#!/bin/sh\n# Written by Parley scripts/install-deps.sh for the duration of an install.\nexit 101\n' |
  as_root tee "$policy" >/dev/null
as_root chmod 0755 "$policy"

# ejabberd's maintainer scripts run Erlang tools, which start the Erlang port mapper daemon (epmd)
# as a side effect. Note which epmd processes exist now; any new one is stopped afterwards.
# (pgrep exits 1 when there is none: that must not end the script under `set -e -o pipefail`.)
epmd_before=" $({ pgrep -x epmd || true; } | tr '\n' ' ') "

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
}
updated=0
for package in "${missing[@]}"; do
  candidate="$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    updated=1
    break
  fi
done
if ! apt_install; then
  ((updated)) && exit 1
  echo "install-deps: install failed; refreshing the package lists once and retrying" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  apt_install
fi

# Services of packages installed just now: not running, not started at boot either. (Stopped
# through their init system, never by process name: test instances of others must survive.)
for service in "${service_packages[@]}"; do
  [[ " ${missing[*]} " == *" $service "* ]] || continue
  if [[ -d /run/systemd/system ]]; then
    as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
  else
    if [[ -x "/etc/init.d/$service" ]]; then
      as_root "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    fi
    as_root update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
done
for pid in $(pgrep -x epmd || true); do
  [[ "$epmd_before" == *" $pid "* ]] && continue
  echo "install-deps: stopping epmd (pid $pid), started by the package install"
  as_root kill "$pid" 2>/dev/null || true
done
echo "install-deps: done"
