#!/usr/bin/env bash
# Builds and runs the whole test suite (warnings as errors), as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh cmake make g++ libeigen3-dev nlohmann-json3-dev libcli11-dev catch2 libbenchmark-dev clang-format
cmake --workflow --preset ci
