#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, ASan + UBSan) and runs each for a bounded time,
# starting from its committed seed corpus (fuzz/corpus/<target>/, read only: new inputs go to
# build/fuzz/runs/<target>/corpus/).
#
#   bash scripts/run-fuzz.sh [--time S] [TARGET...]
#
# --time S: seconds per target (default 60, or $SAMBA_FUZZ_TIME); the targets run side by side.
# TARGETs: safetensors, config, cli_args, tokenizer (default: all). Each run's log is
# build/fuzz/runs/<target>/log; its final statistics (executions, coverage) are printed. An input
# that crashes, leaks or hangs is saved under build/fuzz/runs/<target>/findings/ and the script
# fails: commit it to fuzz/regressions/<target>/ (tests/model/fuzz_inputs.cpp replays it) and fix
# the bug.
set -euo pipefail
cd "$(dirname "$0")/.."

time="${SAMBA_FUZZ_TIME:-60}"
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time="$2"; shift ;;
    --time=*) time="${1#*=}" ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "run-fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=(safetensors config cli_args tokenizer)

bash scripts/install-deps.sh cmake make clang libclang-rt-14-dev libeigen3-dev nlohmann-json3-dev \
  libcli11-dev pkg-config libonig-dev libutf8proc-dev
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/#/samba_fuzz_}"

# The targets run side by side, so the whole run takes about --time seconds.
pids=()
for target in "${targets[@]}"; do
  run="build/fuzz/runs/$target"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/findings"
  # -timeout: an input running over 10 s is a hang; -rss_limit_mb: over 2 GiB is a bug too.
  "build/fuzz/fuzz/samba_fuzz_$target" -max_total_time="$time" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$run/findings/" \
    "$run/corpus" "fuzz/corpus/$target" >"$run/log" 2>&1 &
  pids+=($!)
done
echo "== fuzzing ${targets[*]}: ${time} s each, side by side" >&2

status=0
for i in "${!targets[@]}"; do
  target="${targets[$i]}"
  run="build/fuzz/runs/$target"
  if wait "${pids[$i]}"; then
    echo "== fuzz $target: ok" >&2
  else
    status=1
    echo "== fuzz $target FAILED: see $run/log; inputs in $run/findings/" >&2
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$run/log" | head -20 >&2 || true
  fi
  # The seed corpus loaded, the last progress line, the final statistics.
  grep -E "INITED|DONE|^stat::" "$run/log" >&2 || tail -5 "$run/log" >&2
done
exit "$status"
