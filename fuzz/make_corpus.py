#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into fuzz/corpus/<target>/ (committed; rerun after
changing the checkpoints in tests/model/data or the edge cases below).

  safetensors/  byte 0 = mode (0: a .safetensors file, 1: an index.json beside the shards of
                llama_f16_sharded), then the file: the small checkpoints, their index files, and
                hand-made edge cases of the format.
  config/       every config.json in tests/model/data, and edge cases.
  cli_args/     samba-cli command lines, arguments separated by NUL bytes.
"""
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "model" / "data"
OUT = ROOT / "fuzz" / "corpus"


def safetensors(header, data=b"", length=None, pad_to=None):
    """A .safetensors file: header (a dict, or raw JSON text), then data."""
    text = header if isinstance(header, (bytes, str)) else json.dumps(header)
    text = text.encode() if isinstance(text, str) else text
    if pad_to is not None:
        text += b" " * (-len(text) % pad_to)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def f32(*values):
    return struct.pack(f"<{len(values)}f", *values)


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def safetensors_cases():
    cases = {}
    for path in sorted(DATA.glob("*/*.safetensors")):
        if path.stat().st_size <= 30000:  # the f32 checkpoints add size, not structure
            cases[f"{path.parent.name}-{path.name}"] = b"\0" + path.read_bytes()
    for path in sorted(DATA.glob("*/model.safetensors.index.json")):
        cases[f"{path.parent.name}-index"] = b"\1" + path.read_bytes()
    six = f32(1, 2, 3, 4, 5, 6)
    edge = {
        "empty": b"",
        "short": b"\x01\x00",
        "header-length-zero": safetensors(b""),
        "header-empty-object": safetensors({}),
        "header-not-object": safetensors([1, 2]),
        "header-length-huge": safetensors({}, length=2**64 - 1),
        "header-length-past-end": safetensors({}, length=1000),
        "metadata-only": safetensors({"__metadata__": {"format": "pt"}}),
        "metadata-not-strings": safetensors({"__metadata__": {"format": 1}}),
        "one-f32": safetensors({"w": tensor("F32", [2, 3], 0, 24)}, six, pad_to=8),
        "one-bf16-misaligned": safetensors({"w": tensor("BF16", [3], 0, 6)}, b"\x80\x3f" * 3),
        "one-f16": safetensors({"w": tensor("F16", [2, 2], 0, 8)}, b"\x00\x3c" * 4, pad_to=8),
        "scalar": safetensors({"s": tensor("F32", [], 0, 4)}, f32(7), pad_to=8),
        "zero-size": safetensors({"z": tensor("F32", [0, 5], 0, 0)}),
        "zero-size-huge-dim": safetensors({"z": tensor("F32", [0, 2**62], 0, 0)}),
        "rank-5": safetensors({"r": tensor("F32", [1, 1, 1, 1, 1], 0, 4)}, f32(1)),
        "f64": safetensors({"d": tensor("F64", [1], 0, 8)}, b"\0" * 8),
        "shape-overflow": safetensors({"o": tensor("F32", [2**32, 2**32], 0, 4)}, f32(1)),
        "offsets-reversed": safetensors({"w": tensor("F32", [1], 4, 0)}, f32(1)),
        "offsets-past-end": safetensors({"w": tensor("F32", [1], 0, 4)}, b""),
        "offsets-mismatch": safetensors({"w": tensor("F32", [2], 0, 4)}, f32(1, 2)),
        "overlap": safetensors(
            {"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 4, 12)}, f32(1, 2, 3)),
        "two-tensors": safetensors(
            {"a": tensor("F32", [2], 0, 8), "b": tensor("BF16", [2], 8, 12)},
            f32(1, 2) + b"\x80\x3f" * 2, pad_to=8),
        "duplicate-key": safetensors(
            '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
            '"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(1)),
        "nul-in-header": safetensors(b'{"w"\0: 1}'),
        "negative-shape": safetensors({"w": tensor("F32", [-1], 0, 4)}, f32(1)),
        "float-shape": safetensors('{"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}',
                                   f32(1)),
        "missing-field": safetensors({"w": {"dtype": "F32", "shape": [1]}}, f32(1)),
    }
    for name, file in edge.items():
        cases[f"edge-{name}"] = b"\0" + file
    weight_map = json.loads((DATA / "llama_f16_sharded" / "model.safetensors.index.json").read_text())
    first = next(iter(weight_map["weight_map"]))
    index_edge = {
        "no-weight-map": {"metadata": {}},
        "weight-map-not-object": {"weight_map": []},
        "escapes": {"weight_map": {first: "../model-00001-of-00002.safetensors"}},
        "absolute": {"weight_map": {first: "/etc/passwd"}},
        "missing-shard": {"weight_map": {first: "model-00003-of-00002.safetensors"}},
        "partial": {"weight_map": {first: weight_map["weight_map"][first]}},
        "not-string": {"weight_map": {first: 3}},
    }
    for name, index in index_edge.items():
        cases[f"edge-index-{name}"] = b"\1" + json.dumps(index).encode()
    return cases


def config_cases():
    cases = {f"{p.parent.name}": p.read_bytes() for p in sorted(DATA.glob("*/config.json"))}
    mamba = json.loads((DATA / "mamba_f32" / "config.json").read_text())
    llama = json.loads((DATA / "llama_f32" / "config.json").read_text())
    mistral = json.loads((DATA / "mistral_f32" / "config.json").read_text())
    samba = json.loads((DATA / "samba_f32" / "config.json").read_text())
    edge = {
        "empty-object": {},
        "not-object": [1],
        "unknown-model-type": {"model_type": "gpt2"},
        "model-type-not-string": {"model_type": 3},
        "mamba-dt-rank-auto": {**mamba, "time_step_rank": "auto"},
        "mamba-dt-rank-bad": {**mamba, "time_step_rank": "big"},
        "mamba-huge-expand": {**mamba, "expand": 2**62},
        "mamba-untied": {**mamba, "tie_word_embeddings": False},
        "llama-no-head-dim": {k: v for k, v in llama.items() if k != "head_dim"},
        "llama-huge-layers": {**llama, "num_hidden_layers": 2**62},
        "llama-rope-scaling": {**llama, "rope_scaling": {"type": "linear", "factor": 2.0}},
        "llama-float-size": {**llama, "hidden_size": 24.0},
        "mistral-no-window": {**mistral, "sliding_window": None},
        "mistral-window-1": {**mistral, "sliding_window": 1},
        "samba-mb-1": {**samba, "mb_per_layer": 1},
        "samba-mb-3": {**samba, "mb_per_layer": 3},
        "samba-huge-heads": {**samba, "n_head": 2**40, "head_size": 2**40},
        "samba-rotary-half": {**samba, "rotary_percentage": 0.5},
        "samba-window-1": {**samba, "local_window": 1},
        "samba-padded-smaller": {**samba, "padded_vocab_size": 10},
    }
    for name, cfg in edge.items():
        cases[f"edge-{name}"] = json.dumps(cfg, indent=1).encode()
    cases["edge-not-json"] = b'{"model_type": "samba",'
    cases["edge-nan"] = b'{"model_type": "samba", "rope_base": NaN}'
    return cases


def cli_cases():
    m = ["--model", "tests/model/data/llama_f32"]
    lines = {
        "empty": [],
        "help": ["--help"],
        "version": ["--version"],
        "help-logits": ["logits", "--help"],
        "help-generate": ["generate", "--help"],
        "info": ["info", *m],
        "logits": ["logits", *m, "--tokens", "1,2,3", "--out", "x.f32"],
        "logits-chunk": ["logits", *m, "--tokens", "1, 2,3", "--out", "x", "--chunk", "2",
                         "--threads", "1"],
        "logits-file": ["logits", *m, "--tokens-file", "prompt.txt", "--out", "x"],
        "generate": ["generate", *m, "--tokens", "1,2,3", "-n", "4"],
        "generate-all": ["generate", *m, "--tokens=5", "-n", "4", "--temperature", "0.5",
                         "--top-k", "3", "--top-p", "0.9", "--min-p", "0.1",
                         "--repeat-penalty", "1.2", "--seed", "7", "--chunk", "3", "--batch", "2",
                         "--threads", "2"],
        "bad-tokens": ["generate", *m, "--tokens", "1,,x", "-n", "1"],
        "both-sources": ["logits", *m, "--tokens", "1", "--tokens-file", "f", "--out", "o"],
        "unknown": ["frobnicate"],
        "negative": ["generate", *m, "--tokens", "1", "-n", "-1", "--seed", "-3"],
    }
    return {name: b"\0".join(a.encode() for a in args) for name, args in lines.items()}


def main():
    for target, cases in [("safetensors", safetensors_cases()), ("config", config_cases()),
                          ("cli_args", cli_cases())]:
        out = OUT / target
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name, data in cases.items():
            (out / name).write_bytes(data)
        print(f"{out.relative_to(ROOT)}: {len(cases)} inputs")


if __name__ == "__main__":
    main()
