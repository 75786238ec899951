#!/usr/bin/env bash
# Builds and runs the whole test suite, as CI does:
#   1. ci:   Release, warnings as errors, every test (ctest), the tokenizer's against its reference
#            implementation from the npm registry among them. Where nvcc is found (/usr/local/cuda
#            or PATH) this step also compiles the CUDA backend's tests and benchmarks (sm_90); its
#            tests run only where a CUDA device is present and are reported as skipped otherwise;
#   2. asan: AddressSanitizer + UndefinedBehaviorSanitizer (-O1): samba_tests and the samba-cli
#            tests again;
#   3. tsan: ThreadSanitizer (-O1): the tests that run one model or stack on several threads;
#   4. fuzz: each libFuzzer target for SAMBA_FUZZ_TIME seconds (default 60; scripts/run-fuzz.sh).
# Each step prints its duration; the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh cmake make g++ libeigen3-dev nlohmann-json3-dev libcli11-dev catch2 \
  libbenchmark-dev clang-format clang libclang-rt-14-dev pkg-config libonig-dev libutf8proc-dev
# The tokenizer's check against the reference implementation (tests/text/run-reference.sh) runs
# it with node and installs it with npm: Debian's, unless the machine has both already.
command -v node >/dev/null && command -v npm >/dev/null || bash scripts/install-deps.sh nodejs npm

start=$(date +%s)
step() {  # step <name> <command...>
  local name="$1" t0
  shift
  t0=$(date +%s)
  echo "== $name" >&2
  "$@"
  echo "== $name: $(( $(date +%s) - t0 )) s" >&2
}
tsan() {
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan
  TSAN_OPTIONS="halt_on_error=1" build/tsan/tests/samba_tests "[threads]"
}

step ci cmake --workflow --preset ci
step asan cmake --workflow --preset asan
step tsan tsan
step fuzz bash scripts/run-fuzz.sh
echo "== all tests passed in $(( $(date +%s) - start )) s" >&2
