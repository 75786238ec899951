#!/usr/bin/env bash
# Builds and runs the CPU benchmark suite (bench/cpu/), then prints the table against this run's
# ceilings (and ggml's, with --ggml) and draws the plots into docs/bench/ (bench/report.py).
#
#   bash scripts/run-bench.sh [--full] [--threads N] [--filter REGEX] [--min-time S]
#                             [--repetitions N] [--ggml DIR]
#
# Default: the short set (Samba-421M dims; T 1, 512, 2048; decode contexts 4K/16K/64K), a few
# minutes on a 2-core machine. --full: both model dims, T up to 8192, batch 8 at every context
# (far longer). --threads N: Eigen/OpenMP threads (default 1). --filter: a regex over benchmark
# names (bench/cpu/common.hpp). Each benchmark runs --repetitions times (default 3; report.py takes
# the median), each for at least --min-time seconds (default 0.1). --ggml DIR: also builds the ggml
# peer (bench/peers/ggml.cpp) against the ggml source tree DIR, in build/peers-ggml, and runs it
# after our layers and after our blocks, same flags, same results directory: the table then has a
# samba ÷ ggml column from this run.
# Results: build/release/bench-results/*.json and table.md there; plots: docs/bench/*.png (with
# --filter: build/release/bench-results/plots/).
set -euo pipefail
origin=$PWD  # --ggml DIR is relative to where the script was called from
cd "$(dirname "$0")/.."

full=()
threads=1
filter=""
min_time=0.1
repetitions=3
ggml_dir=""
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
    --ggml) ggml_dir="$2"; shift ;;
    --ggml=*) ggml_dir="${1#*=}" ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run-bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$ggml_dir" ]; then
  case "$ggml_dir" in /*) ;; *) ggml_dir="$origin/$ggml_dir" ;; esac
  if [ ! -f "$ggml_dir/include/ggml.h" ] || [ ! -f "$ggml_dir/CMakeLists.txt" ]; then
    echo "run-bench.sh: --ggml $ggml_dir is not a ggml source tree (no include/ggml.h)" >&2
    exit 2
  fi
  ggml_dir=$(cd "$ggml_dir" && pwd)
fi

bash scripts/install-deps.sh cmake make g++ libeigen3-dev nlohmann-json3-dev libcli11-dev catch2 \
  libbenchmark-dev python3 python3-matplotlib
cmake --preset release >/dev/null
cmake --build --preset release --target samba_bench_ceilings samba_bench_layers samba_bench_blocks \
  samba_bench_paper samba_bench_sambay
bin=build/release/bench

# The ggml peer: Release and -march=native as ours; ggml's own build logs its warnings to a file.
if [ -n "$ggml_dir" ]; then
  cmake -S . -B build/peers-ggml -DCMAKE_BUILD_TYPE=Release -DSAMBA_GGML_DIR="$ggml_dir" \
    -DSAMBA_BUILD_TESTS=OFF -DSAMBA_BUILD_EXAMPLES=OFF -DSAMBA_BUILD_TOOLS=OFF -DSAMBA_CUDA=OFF \
    >/dev/null
  echo "== building samba_bench_ggml against $ggml_dir (log: build/peers-ggml/build.log)" >&2
  if ! cmake --build build/peers-ggml --target samba_bench_ggml -j2 >build/peers-ggml/build.log 2>&1
  then
    grep -E "error|Error" build/peers-ggml/build.log | head -20 >&2
    echo "run-bench.sh: building samba_bench_ggml failed (build/peers-ggml/build.log)" >&2
    exit 1
  fi
  # Its graphs against samba's forward at small dims (a fraction of a second): a ggml tree whose
  # ops mean something else stops the run here.
  if ! check=$(build/peers-ggml/bench/peers/samba_bench_ggml --check); then
    echo "$check" >&2
    echo "run-bench.sh: samba_bench_ggml --check failed: ggml's graphs differ from samba" >&2
    exit 1
  fi
fi

out=build/release/bench-results
mkdir -p "$out"
rm -f "$out"/*.json
export SAMBA_BENCH_THREADS="$threads"
start=$(date +%s)

run() {  # run <program> <json name> [flags...]
  local program="$1" name="$2" path="$bin/samba_bench_$1"
  shift 2
  [ "$program" != ggml ] || path=build/peers-ggml/bench/peers/samba_bench_ggml
  echo "== $program ($name)" >&2
  "$path" "${full[@]}" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
}

# The ceilings run before and after the workloads; report.py keeps the best of each.
run ceilings ceilings-before
workload_flags=(--benchmark_min_time="$min_time" --benchmark_repetitions="$repetitions"
  --benchmark_display_aggregates_only=true ${filter:+--benchmark_filter="$filter"})
# With --ggml, the peer runs the same workloads right after each of our programs.
run layers layers "${workload_flags[@]}"
[ -z "$ggml_dir" ] || run ggml ggml-layers --set=layers "${workload_flags[@]}"
run blocks blocks "${workload_flags[@]}"
[ -z "$ggml_dir" ] || run ggml ggml-blocks --set=blocks "${workload_flags[@]}"
# Phi-4-mini-flash (SambaY) at its released dims: no ggml counterpart (llama.cpp has none).
run sambay sambay "${workload_flags[@]}"
# Samba vs the same-size Llama up to long prompts: a long prefill is one call per repetition.
run paper paper --benchmark_min_time="$min_time" --benchmark_repetitions=1 \
  ${filter:+--benchmark_filter="$filter"}
run ceilings ceilings-after

echo "== benchmarks took $(( $(date +%s) - start )) s" >&2
# A filtered run draws its (partial) plots beside its results, not over docs/bench/.
plots=docs/bench
[ -z "$filter" ] || plots="$out/plots"
/usr/bin/python3 bench/report.py "$out"/*.json --plots "$plots" --markdown "$out/table.md"
