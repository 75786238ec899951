#!/usr/bin/env bash
# Installs the reference tokenizer and the real vocabularies into WORK_DIR with npm (the versions
# tests/text/package-lock.json pins), unless they are there already; prints nothing on success.
#
#   bash tests/text/install-reference.sh WORK_DIR
#
# Exit status 3 when node or npm is missing, 4 when npm cannot install (no registry).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
command -v node >/dev/null && command -v npm >/dev/null || exit 3
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/.installed-lock" ||
   [ ! -d "$work/node_modules/@huggingface/tokenizers" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error) || exit 4
  cp "$here/package-lock.json" "$work/.installed-lock"
fi
