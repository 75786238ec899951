#!/usr/bin/env bash
# Builds and runs the demo: a Samba stack against a same-size Llama stack (examples/demo.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh cmake make g++ libeigen3-dev nlohmann-json3-dev libcli11-dev catch2 libbenchmark-dev
cmake --preset release >/dev/null
cmake --build --preset demo
./build/release/examples/samba_demo "$@"
