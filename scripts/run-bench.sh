#!/usr/bin/env bash
# Builds and runs the CPU benchmark suite (bench/cpu/), then prints the table against this run's
# ceilings and ggml's figures and draws the plots into docs/bench/ (bench/report.py).
#
#   bash scripts/run-bench.sh [--full] [--threads N] [--filter REGEX] [--min-time S]
#                             [--repetitions N]
#
# Default: the short set (Samba-421M dims; T 1, 512, 2048; decode contexts 4K/16K/64K), a few
# minutes on a 2-core machine. --full: both model dims, T up to 8192, batch 8 at every context
# (far longer). --threads N: Eigen/OpenMP threads (default 1). --filter: a regex over benchmark
# names (bench/cpu/common.hpp). Each benchmark runs --repetitions times (default 3; report.py takes
# the median), each for at least --min-time seconds (default 0.1).
# Results: build/release/bench-results/*.json and table.md there; plots: docs/bench/*.png (with
# --filter: build/release/bench-results/plots/).
set -euo pipefail
cd "$(dirname "$0")/.."

full=()
threads=1
filter=""
min_time=0.1
repetitions=3
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=(--full) ;;
    --threads) threads="$2"; shift ;;
    --threads=*) threads="${1#*=}" ;;
    --filter) filter="$2"; shift ;;
    --filter=*) filter="${1#*=}" ;;
    --min-time) min_time="$2"; shift ;;
    --min-time=*) min_time="${1#*=}" ;;
    --repetitions) repetitions="$2"; shift ;;
    --repetitions=*) repetitions="${1#*=}" ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run-bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/install-deps.sh cmake make g++ libeigen3-dev nlohmann-json3-dev libcli11-dev catch2 \
  libbenchmark-dev python3 python3-matplotlib
cmake --preset release >/dev/null
cmake --build --preset release --target samba_bench_ceilings samba_bench_layers samba_bench_blocks \
  samba_bench_paper

bin=build/release/bench
out=build/release/bench-results
mkdir -p "$out"
rm -f "$out"/*.json
export SAMBA_BENCH_THREADS="$threads"
start=$(date +%s)

run() {  # run <program> <json name> [benchmark flags...]
  local program="$1" name="$2"
  shift 2
  echo "== $program ($name)" >&2
  "$bin/samba_bench_$program" "${full[@]}" --benchmark_out="$out/$name.json" \
    --benchmark_out_format=json "$@"
}

# The ceilings run before and after the workloads; report.py keeps the best of each.
run ceilings ceilings-before
workload_flags=(--benchmark_min_time="$min_time" --benchmark_repetitions="$repetitions"
  --benchmark_display_aggregates_only=true ${filter:+--benchmark_filter="$filter"})
run layers layers "${workload_flags[@]}"
run blocks blocks "${workload_flags[@]}"
# Samba vs the same-size Llama up to long prompts: a long prefill is one call per repetition.
run paper paper --benchmark_min_time="$min_time" --benchmark_repetitions=1 \
  ${filter:+--benchmark_filter="$filter"}
run ceilings ceilings-after

echo "== benchmarks took $(( $(date +%s) - start )) s" >&2
# A filtered run draws its (partial) plots beside its results, not over docs/bench/.
plots=docs/bench
[ -z "$filter" ] || plots="$out/plots"
/usr/bin/python3 bench/report.py "$out"/*.json --plots "$plots" --markdown "$out/table.md"
