#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 under ASan and UBSan, without CMake.
#
#   scripts/build-fuzzers.sh [OUTDIR]      (default: build-fuzz, relative to the repository)
#
# Produces OUTDIR/stream_parser_fuzzer (every xml/*.cpp, globbed so that new files are picked up,
# and tests/fuzz/stream_parser_fuzz.cpp; pugixml is Debian's, linked uninstrumented) and
# OUTDIR/tls13_records_fuzzer (core/tls/tls13_records.cpp and its target; Debian's libcrypto).
# Objects are rebuilt only when their source, a header they include, or the flags changed; ccache
# is used when installed. Run the fuzzer, e.g.:
#   build-fuzz/stream_parser_fuzzer -dict=tests/fuzz/stream_parser.dict CORPUS_DIR tests/fuzz/stream_parser
# Environment: CXX (default clang++-14), JOBS (parallel compiles, default 2), EXTRA_CXXFLAGS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-build-fuzz}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac

cxx="${CXX:-clang++-14}"
jobs="${JOBS:-2}"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "build-fuzzers: $cxx not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(ccache); fi

# -fsanitize=fuzzer-no-link for the library objects, the full fuzzer runtime only at link time.
common=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
        -fno-sanitize-recover=undefined -I"$root" ${EXTRA_CXXFLAGS:-})
cflags=("${common[@]}" -fsanitize=fuzzer-no-link)
ldflags=(-fsanitize=fuzzer,address,undefined)

obj="$out/obj"
mkdir -p "$obj"

# A change of compiler or flags rebuilds everything.
stamp="$obj/flags.stamp"
want="$("$cxx" --version | head -n1) | ${cflags[*]} | ${ldflags[*]}"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  rm -f "$obj"/*.o "$obj"/*.d
  printf '%s' "$want" >"$stamp"
fi

# True when $1 (an object) is missing or older than its source or any dependency in its .d file.
stale() {
  local o="$1" src="$2" d="${1%.o}.d" dep
  [[ -f "$o" && -f "$d" ]] || return 0
  [[ "$src" -nt "$o" ]] && return 0
  # The .d file: "target: dep dep \" lines; every dependency is a word after the first colon.
  for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$d"); do
    [[ -e "$dep" && ! "$dep" -nt "$o" ]] || return 0
  done
  return 1
}

# build NAME LIBS SOURCE...: compiles the sources (only what is stale) and links OUTDIR/NAME.
build() {
  local name="$1" libs="$2"
  shift 2
  local src rel o pid
  local objects=() pids=() status=0
  for src in "$@"; do
    rel="${src#"$root"/}"
    o="$obj/${rel//\//_}"
    o="${o%.cpp}.o"
    objects+=("$o")
    if stale "$o" "$src"; then
      echo "build-fuzzers: compiling $rel"
      "${launcher[@]}" "$cxx" "${cflags[@]}" -MMD -MF "${o%.o}.d" -c "$src" -o "$o" &
      pids+=($!)
      if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
      fi
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  if ((status != 0)); then
    echo "build-fuzzers: compilation failed" >&2
    exit 1
  fi

  local bin="$out/$name" relink=0
  [[ -x "$bin" && "$stamp" -ot "$bin" ]] || relink=1
  for o in "${objects[@]}"; do [[ "$o" -nt "$bin" ]] && relink=1; done
  # An object of a source that has since been deleted must not be linked: link exactly $objects.
  if ((relink)); then
    echo "build-fuzzers: linking ${bin#"$root"/}"
    # shellcheck disable=SC2086  # libs is a list of -l flags
    "$cxx" "${ldflags[@]}" "${objects[@]}" $libs -o "$bin.tmp"
    mv "$bin.tmp" "$bin"
  else
    echo "build-fuzzers: ${bin#"$root"/} is up to date"
  fi
}

build stream_parser_fuzzer "-lpugixml" "$root"/xml/*.cpp "$root"/tests/fuzz/stream_parser_fuzz.cpp
build tls13_records_fuzzer "-lcrypto" "$root"/core/tls/tls13_records.cpp \
  "$root"/tests/fuzz/tls13_records_fuzz.cpp
