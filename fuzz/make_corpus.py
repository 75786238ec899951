#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into fuzz/corpus/<target>/ (committed; rerun after
changing the checkpoints in tests/model/data or the edge cases below).

  safetensors/  byte 0 = mode (0: a .safetensors file, 1: an index.json beside the shards of
                llama_f16_sharded), then the file: the small checkpoints, their index files, and
                hand-made edge cases of the format.
  config/       every config.json in tests/model/data, and edge cases.
  cli_args/     samba-cli command lines, arguments separated by NUL bytes.
  tokenizer/    byte 0 = mode (fuzz/tokenizer_harness.hpp): 0, tokenizer.json files (the tiny one
                of tests/text/data, a byte-level one, broken ones); 1, text for the tiny
                tokenizer; 2, text for a byte-level one; 3, little-endian 16-bit ids.

and fuzz/expected/<target>.json: for each seed of safetensors/ and config/, "ok" or a piece of the
error message the harness must end in.
"""
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "model" / "data"
OUT = ROOT / "fuzz" / "corpus"
EXPECTED = ROOT / "fuzz" / "expected"


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


# Each case is (bytes, outcome): "ok" when the harness must get through the input, else a piece of
# the samba::error message it must end in (tests/model/fuzz_inputs.cpp checks both, from
# fuzz/expected/<target>.json).
OK = "ok"


def safetensors_cases():
    cases = {}
    for path in sorted(DATA.glob("*/*.safetensors")):
        if path.stat().st_size <= 30000:  # the f32 checkpoints add size, not structure
            cases[f"{path.parent.name}-{path.name}"] = (b"\0" + path.read_bytes(), OK)
    # An index is read beside the shards of llama_f16_sharded: only its own index fits them.
    index_outcome = {"llama_f16_sharded": OK, "mamba_f16_sharded": "is not listed in the index",
                     "mamba2_f16_sharded": "is not listed in the index",
                     "gla_f16_sharded": "is not listed in the index",
                     "retnet_f16_sharded": "is not listed in the index",
                     "nemotron_h_f16_sharded": "is not listed in the index",
                     "recurrent_gemma_f16_sharded": "is not listed in the index",
                     "samba_fla_f16_sharded": "is not listed in the index",
                     "phi4flash_f16_sharded": "is not listed in the index",
                     "samba_f16_sharded": "listed in the weight_map does not exist"}
    for path in sorted(DATA.glob("*/model.safetensors.index.json")):
        cases[f"{path.parent.name}-index"] = (b"\1" + path.read_bytes(),
                                              index_outcome[path.parent.name])
    six = f32(1, 2, 3, 4, 5, 6)
    edge = {
        "empty": (b"", "shorter than the 8-byte header length"),
        "short": (b"\x01\x00", "shorter than the 8-byte header length"),
        "header-length-zero": (safetensors(b""), "header is not valid JSON"),
        "header-empty-object": (safetensors({}), OK),
        "header-not-object": (safetensors([1, 2]), "header is not a JSON object"),
        "header-length-huge": (safetensors({}, length=2**64 - 1), "exceeds the limit"),
        "header-length-past-end": (safetensors({}, length=1000),
                                   "exceeds the 2 bytes that follow the length field"),
        "metadata-only": (safetensors({"__metadata__": {"format": "pt"}}), OK),
        "metadata-not-strings": (safetensors({"__metadata__": {"format": 1}}),
                                 '"__metadata__" must be an object of strings'),
        "one-f32": (safetensors({"w": tensor("F32", [2, 3], 0, 24)}, six, pad_to=8), OK),
        "one-bf16-misaligned": (
            safetensors({"w": tensor("BF16", [3], 0, 6)}, b"\x80\x3f" * 3), OK),
        "one-f16": (safetensors({"w": tensor("F16", [2, 2], 0, 8)}, b"\x00\x3c" * 4, pad_to=8),
                    OK),
        "scalar": (safetensors({"s": tensor("F32", [], 0, 4)}, f32(7), pad_to=8), OK),
        "zero-size": (safetensors({"z": tensor("F32", [0, 5], 0, 0)}), OK),
        "zero-size-huge-dim": (safetensors({"z": tensor("F32", [0, 2**62], 0, 0)}), OK),
        "rank-5": (safetensors({"r": tensor("F32", [1, 1, 1, 1, 1], 0, 4)}, f32(1)),
                   "has rank 5 (samba supports at most 4)"),
        "f64": (safetensors({"d": tensor("F64", [1], 0, 8)}, b"\0" * 8),
                "unsupported dtype 'F64' for tensor 'd'"),
        "shape-overflow": (safetensors({"o": tensor("F32", [2**32, 2**32], 0, 4)}, f32(1)),
                           "overflows a 64-bit element count"),
        "offsets-reversed": (safetensors({"w": tensor("F32", [1], 4, 0)}, f32(1)),
                             "have begin > end"),
        "offsets-past-end": (safetensors({"w": tensor("F32", [1], 0, 4)}, b""),
                             "exceed the data region of 0 bytes"),
        "offsets-mismatch": (safetensors({"w": tensor("F32", [2], 0, 4)}, f32(1, 2)),
                             "needs 8 bytes, data_offsets [0, 4] hold 4"),
        "overlap": (safetensors(
            {"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 4, 12)}, f32(1, 2, 3)),
            "overlap"),
        "two-tensors": (safetensors(
            {"a": tensor("F32", [2], 0, 8), "b": tensor("BF16", [2], 8, 12)},
            f32(1, 2) + b"\x80\x3f" * 2, pad_to=8), OK),
        "duplicate-key": (safetensors(
            '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
            '"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(1)),
            "duplicate key 'w'"),
        "nul-in-header": (safetensors(b'{"w"\0: 1}'), "NUL byte at offset 4"),
        "negative-shape": (safetensors({"w": tensor("F32", [-1], 0, 4)}, f32(1)),
                           '"shape" must be an array of non-negative integers'),
        "float-shape": (safetensors(
            '{"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}', f32(1)),
            '"shape" must be an array of non-negative integers'),
        "missing-field": (safetensors({"w": {"dtype": "F32", "shape": [1]}}, f32(1)),
                          "has no \"data_offsets\""),
    }
    for name, (file, outcome) in edge.items():
        cases[f"edge-{name}"] = (b"\0" + file, outcome)
    weight_map = json.loads((DATA / "llama_f16_sharded" / "model.safetensors.index.json").read_text())
    first = next(iter(weight_map["weight_map"]))
    index_edge = {
        "no-weight-map": ({"metadata": {}}, 'index has no "weight_map" object'),
        "weight-map-not-object": ({"weight_map": []}, 'index has no "weight_map" object'),
        "escapes": ({"weight_map": {first: "../model-00001-of-00002.safetensors"}},
                    "escapes the checkpoint directory"),
        "absolute": ({"weight_map": {first: "/etc/passwd"}}, "escapes the checkpoint directory"),
        "missing-shard": ({"weight_map": {first: "model-00003-of-00002.safetensors"}},
                          "listed in the weight_map does not exist"),
        "partial": ({"weight_map": {first: weight_map["weight_map"][first]}},
                    "is not listed in the index's weight_map"),
        "not-string": ({"weight_map": {first: 3}}, "is not a string"),
    }
    for name, (index, outcome) in index_edge.items():
        cases[f"edge-index-{name}"] = (b"\1" + json.dumps(index).encode(), outcome)
    return cases


def config_cases():
    # A checkpoint's own config loads against the harness's checkpoint of its family
    # (<model_type>_f32) only when that is the same checkpoint; the others name a tensor that does
    # not fit.
    cases = {}
    for p in sorted(DATA.glob("*/config.json")):
        model_type = json.loads(p.read_text())["model_type"]
        fits = p.parent.name == f"{model_type}_f32"
        cases[p.parent.name] = (p.read_bytes(), OK if fits else "tensor '")
    mamba = json.loads((DATA / "mamba_f32" / "config.json").read_text())
    llama = json.loads((DATA / "llama_f32" / "config.json").read_text())
    mistral = json.loads((DATA / "mistral_f32" / "config.json").read_text())
    samba = json.loads((DATA / "samba_f32" / "config.json").read_text())
    mamba2 = json.loads((DATA / "mamba2_f32" / "config.json").read_text(), parse_constant=float)
    gla = json.loads((DATA / "gla_f32" / "config.json").read_text())
    retnet = json.loads((DATA / "retnet_f32" / "config.json").read_text())
    fla_samba = json.loads((DATA / "samba_fla_f32" / "config.json").read_text())
    nemotron = json.loads((DATA / "nemotron_h_f32" / "config.json").read_text(),
                          parse_constant=float)
    phi = json.loads((DATA / "phi4flash_f32" / "config.json").read_text())
    griffin = json.loads((DATA / "recurrent_gemma_f32" / "config.json").read_text())
    no_head_dim = {k: v for k, v in llama.items() if k != "head_dim"}
    hf_samba = {k: v for k, v in samba.items() if k != "n_embd"}
    edge = {
        "empty-object": ({}, "'model_type' is missing"),
        "not-object": ([1], "the config must be a JSON object"),
        "unknown-model-type": ({"model_type": "gpt2"}, 'model_type "gpt2" is not supported'),
        "model-type-not-string": ({"model_type": 3}, "'model_type' must be a string"),
        "mamba-dt-rank-auto": ({**mamba, "time_step_rank": "auto"}, OK),
        "mamba-dt-rank-bad": ({**mamba, "time_step_rank": "big"},
                              "'time_step_rank' must be an integer or \"auto\""),
        "mamba-huge-expand": ({**mamba, "expand": 2**62}, "'expand' must be <= 1073741824"),
        "mamba-untied": ({**mamba, "tie_word_embeddings": False}, OK),
        # mamba2_f32: hidden 16, expand 2, 4 heads of 8, 2 groups, state 8.
        "mamba2-heads-mismatch": ({**mamba2, "num_heads": 5},
                                  "'num_heads' (5) × 'head_dim' (8) is 40, not the mixer's inner "
                                  "width 32"),
        "mamba2-groups-not-dividing": ({**mamba2, "n_groups": 3},
                                       "'n_groups' (3) does not divide the heads (4)"),
        "mamba2-limit-not-pair": ({**mamba2, "time_step_limit": [0.0]},
                                  "'time_step_limit' must be a list [min, max]"),
        "mamba2-limit-reversed": ({**mamba2, "time_step_limit": [0.5, 0.1]},
                                  "is not an interval of non-negative values"),
        "mamba2-limit-nan": ({**mamba2, "time_step_limit": [0.0, float("nan")]},
                             "'time_step_limit[1]' must not be NaN"),
        "mamba2-finite-limit": ({**mamba2, "time_step_limit": [0.001, 0.1]}, OK),
        "mamba2-no-limit": ({k: v for k, v in mamba2.items() if k != "time_step_limit"}, OK),
        "mamba2-bias": ({**mamba2, "use_bias": True}, "'use_bias': true"),
        "mamba2-state-size": ({**mamba2, "state_size": 16}, "tensor '"),
        # gla_f32: hidden 16, 3 layers, GLA with 2 heads, sliding-window attention at layer 1.
        "gla-attn-layer-out-of-range": ({**gla, "attn": {**gla["attn"], "layers": [1, 3]}},
                                        "'attn' 'layers' holds 3, not a layer index in [0, 3)"),
        "gla-attn-kv-not-dividing": ({**gla, "attn": {**gla["attn"], "num_kv_heads": 3}},
                                     "num_kv_heads (3) does not divide num_heads (4)"),
        "gla-attn-no-layers": ({**gla, "attn": {"num_heads": 4}}, "'attn' must list its 'layers'"),
        "gla-attn-not-dict": ({**gla, "attn": [1]}, "'attn' must be a dict"),
        "gla-attn-qkv-bias": ({**gla, "attn": {**gla["attn"], "qkv_bias": True}},
                              "'qkv_bias': true is not supported"),
        "gla-heads-not-dividing": ({**gla, "num_heads": 3},
                                   "key dim 8 (hidden_size × expand_k) is not a positive multiple "
                                   "of num_heads (3)"),
        "gla-feature-map": ({**gla, "feature_map": "relu"}, "'feature_map' "),
        "gla-act": ({**gla, "hidden_act": "gelu"}, "'hidden_act' \"gelu\" is not supported"),
        "gla-clamp-positive": ({**gla, "clamp_min": 0.5}, "'clamp_min' must be <= 0"),
        "gla-short-conv": ({**gla, "use_short_conv": True}, "tensor '"),
        "gla-no-attn": ({**gla, "attn": None}, "tensor '"),
        # retnet_f32: hidden 16, 2 retention heads (key 16, value 32), attention at layer 1.
        "retnet-fractional-width": ({**retnet, "expand_k": 0.7},
                                    "must be whole numbers, got 11.2"),
        "retnet-odd-key-width": ({**retnet, "num_heads": 16, "expand_k": 1.0, "expand_v": 1.0},
                                 "key width (1) must be even"),
        "retnet-short-conv-ignored": ({**retnet, "use_short_conv": True}, OK),
        "retnet-no-gate": ({**retnet, "use_output_gate": False}, "tensor '"),
        # nemotron_h_f32: "M-M*-M", 4 Mamba-2 heads of 8 in 2 groups, attention 4 heads (2 kv).
        "nemotron-h-moe": ({**nemotron, "hybrid_override_pattern": "M-E*-M"},
                           "letter 2 ('E') is a mixture-of-experts layer"),
        "nemotron-h-bad-letter": ({**nemotron, "hybrid_override_pattern": "M-Mx-M"},
                                  "'hybrid_override_pattern' has 'x' at 3"),
        "nemotron-h-wrong-length": ({**nemotron, "hybrid_override_pattern": "M-M*-"},
                                    "'num_hidden_layers' (6) is not the 5 layers"),
        "nemotron-h-list": ({**{k: v for k, v in nemotron.items()
                                if k != "hybrid_override_pattern"},
                             "layers_block_type": ["mamba", "mlp", "linear_attention",
                                                   "full_attention", "mlp", "mamba"]}, OK),
        "nemotron-h-list-bad": ({**{k: v for k, v in nemotron.items()
                                    if k != "hybrid_override_pattern"},
                                 "layers_block_type": ["mamba", "conv"]},
                                "'layers_block_type'[1] is \"conv\""),
        "nemotron-h-no-order": ({k: v for k, v in nemotron.items()
                                 if k != "hybrid_override_pattern"},
                                "the layer order is missing"),
        "nemotron-h-groups": ({**nemotron, "n_groups": 3},
                              "'n_groups' (3) does not divide 'mamba_num_heads' (4)"),
        "nemotron-h-kv": ({**nemotron, "num_key_value_heads": 3},
                          "num_key_value_heads (3) does not divide num_attention_heads (4)"),
        "nemotron-h-act": ({**nemotron, "mlp_hidden_act": "silu"}, "'mlp_hidden_act' \"silu\""),
        "nemotron-h-window": ({**nemotron, "sliding_window": 8}, "'sliding_window' is not"),
        "nemotron-h-head-dim": ({**nemotron, "mamba_head_dim": 4}, "tensor '"),
        # recurrent_gemma_f32: hidden 16, 4 layers (recurrent, recurrent, attention), 4 heads
        # (1 kv), lru_width 16.
        "recurrent-gemma-unknown-block": ({**griffin, "block_types": ["recurrent", "mlstm"]},
                                          "'block_types'[1] is \"mlstm\""),
        "recurrent-gemma-no-blocks": ({**griffin, "block_types": []},
                                      "'block_types' must be a non-empty list"),
        "recurrent-gemma-heads": ({**griffin, "num_attention_heads": 3},
                                  "hidden_size (16) is not divisible by num_attention_heads (3)"),
        "recurrent-gemma-lru-width": ({**griffin, "lru_width": 18},
                                      "lru_width (18) is not divisible by num_attention_heads (4)"),
        "recurrent-gemma-kv": ({**griffin, "num_key_value_heads": 3},
                               "num_key_value_heads (3) does not divide num_attention_heads (4)"),
        "recurrent-gemma-rotary": ({**griffin, "partial_rotary_factor": 0.25},
                                   "'partial_rotary_factor' 0.25 is not supported"),
        "recurrent-gemma-act": ({**griffin, "hidden_activation": "gelu"},
                                "'hidden_activation' \"gelu\" is not supported"),
        "recurrent-gemma-attention-bias": ({**griffin, "attention_bias": True},
                                           "'attention_bias': true is not supported"),
        "recurrent-gemma-cap": ({**griffin, "logits_soft_cap": -1.0},
                                "'logits_soft_cap' must be > 0"),
        "recurrent-gemma-no-cap": ({**griffin, "logits_soft_cap": None}, OK),
        "recurrent-gemma-all-recurrent": ({**griffin, "block_types": ["recurrent"]},
                                          "tensor 'model.layers.2.temporal_block.linear_y.weight' "
                                          "not found"),
        "recurrent-gemma-fewer-layers": ({**griffin, "num_hidden_layers": 3},
                                         "tensors were never loaded"),
        "recurrent-gemma-missing-tensor": ({**griffin, "block_types": ["attention", "recurrent"]},
                                           "tensor 'model.layers.0.temporal_block.q_proj.weight' "
                                           "not found"),
        "recurrent-gemma-untied": ({**griffin, "tie_word_embeddings": False},
                                   "tensor 'lm_head.weight' not found"),
        # phi4flash_f32: hidden 16, 8 layers (Mamba / SWA × 2, memory Mamba, shared attention,
        # one GMU / cross-attention pair), 4 heads (2 kv), window 6.
        "phi4flash-layers-split": ({**phi, "num_hidden_layers": 6},
                                   "layer 3 is shared attention"),
        "phi4flash-layers-odd": ({**phi, "num_hidden_layers": 9}, "must be even and >= 4"),
        "phi4flash-mb-3": ({**phi, "mb_per_layer": 3}, "full attention in the self-decoder"),
        "phi4flash-kv": ({**phi, "num_key_value_heads": 3},
                         "is not divisible by 'num_key_value_heads' (3)"),
        "phi4flash-kv-default": ({k: v for k, v in phi.items() if k != "num_key_value_heads"},
                                 "tensor '"),
        "phi4flash-kv-null": ({**phi, "num_key_value_heads": None}, "tensor '"),
        "phi4flash-window-list": ({**phi, "sliding_window": [None, 6, None, 6] + [None] * 4}, OK),
        "phi4flash-window-list-bad": ({**phi, "sliding_window": [6] * 8},
                                      "'sliding_window' entry 0 is 6"),
        "phi4flash-untied": ({**phi, "tie_word_embeddings": False},
                             "tensor 'lm_head.weight' not found"),
        "phi4flash-proj-bias": ({**phi, "mamba_proj_bias": True}, "'mamba_proj_bias': true"),
        # samba_fla_f32: hidden 16, 4 layers, attention at 1 and 3 (window 6).
        "samba-fla-attn-out-of-range": ({**fla_samba, "attn": {**fla_samba["attn"],
                                                               "layers": [1, 4]}},
                                        "'attn' 'layers' holds 4, not a layer index in [0, 4)"),
        "samba-fla-default-attn": ({k: v for k, v in fla_samba.items() if k != "attn"},
                                   "hidden_size (16) is not divisible by num_heads (18)"),
        "samba-fla-intermediate": ({**fla_samba, "intermediate_size": 24},
                                   "'intermediate_size' (24) is not expand × hidden_size (32)"),
        "samba-fla-bias": ({**fla_samba, "use_bias": True}, "'use_bias': true"),
        "llama-no-head-dim": (no_head_dim, OK),
        "llama-huge-layers": ({**llama, "num_hidden_layers": 2**62},
                              "'num_hidden_layers' must be <= 1073741824"),
        "llama-rope-scaling": ({**llama, "rope_scaling": {"type": "linear", "factor": 2.0}},
                               "'rope_scaling' is not supported yet"),
        "llama-float-size": ({**llama, "hidden_size": 24.0}, "'hidden_size' must be an integer"),
        "mistral-no-window": ({**mistral, "sliding_window": None}, OK),
        "mistral-window-1": ({**mistral, "sliding_window": 1}, OK),
        # samba_f32 has 4 lit-gpt layers, Mamba in 0 and 2: other orders miss tensors.
        "samba-mb-1": ({**samba, "mb_per_layer": 1}, "tensor 'transformer.h.1.attn.in_proj"),
        "samba-mb-3": ({**samba, "mb_per_layer": 3}, "tensor 'transformer.h.2.attn.proj"),
        "samba-attn-pos": ({**samba, "attn_layer_pos": "[1, 3]"}, OK),
        "samba-attn-pos-bad": ({**samba, "attn_layer_pos": "[1, 9]"},
                               "'attn_layer_pos' holds 9, not a layer index in [0, 4)"),
        "samba-gla": ({**samba, "gla_per_layer": 2}, "'gla_per_layer' > 0"),
        # Without n_embd, a samba config is fla's layout: lit-gpt's keys do not fit it.
        "samba-hf-layout": (hf_samba, "'intermediate_size' (40) is not expand × hidden_size"),
        "samba-huge-heads": ({**samba, "n_head": 2**40, "head_size": 2**40},
                             "'n_head' must be <= 1073741824"),
        "samba-rotary-half": ({**samba, "rotary_percentage": 0.5},
                              "rotary_dims must be even"),
        "samba-window-1": ({**samba, "local_window": 1}, OK),
        "samba-padded-smaller": ({**samba, "padded_vocab_size": 10},
                                 "'padded_vocab_size' (10) is smaller than 'vocab_size'"),
    }
    for name, (cfg, outcome) in edge.items():
        cases[f"edge-{name}"] = (json.dumps(cfg, indent=1).encode(), outcome)
    cases["edge-not-json"] = (b'{"model_type": "samba",', "not valid JSON")
    # Python's json writes NaN and Infinity bare; samba reads them (config.hpp) and the typed
    # lookups refuse them where a finite number is needed.
    cases["edge-nan"] = (json.dumps({**samba, "rope_base": float("nan")}, indent=1).encode(),
                         "'rope_base' must be finite")
    cases["edge-infinity"] = (json.dumps({**samba, "rope_base": float("inf")}, indent=1).encode(),
                              "'rope_base' must be finite")
    cases["edge-infinity-word"] = (b'{"model_type": "samba", "rope_base": Infinite}',
                                   "not valid JSON")
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
        "generate-prompt": ["generate", *m, "--prompt", "the cat", "--tokenizer",
                            "tests/text/data/tiny", "-n", "2", "--ignore-eos"],
        "tokenize": ["tokenize", "--model", "tests/text/data/tiny", "--text", "the", "--ids"],
        "tokenize-file": ["tokenize", "--model", "d", "--file", "f", "--no-special"],
        "detokenize": ["detokenize", "--model", "tests/text/data/tiny", "--tokens", "1,34",
                       "--skip-special"],
    }
    return {name: b"\0".join(a.encode() for a in args) for name, args in lines.items()}


def tokenizer_cases():
    tiny = (ROOT / "tests" / "text" / "data" / "tiny" / "tokenizer.json").read_bytes()
    # A byte-level BPE tokenizer: GPT-2's byte characters, one merge, a Split pre-tokenizer.
    printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    chars, n = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    vocab = {c: b for b, c in chars.items()}
    vocab["\u0120t"] = 256
    byte_level = {
        "model": {"type": "BPE", "vocab": vocab, "merges": ["\u0120 t"], "ignore_merges": True},
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}| ?\\p{L}+|\\s+(?!\\S)|\\s+| ?[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel"},
        "decoder": {"type": "ByteLevel"},
        "added_tokens": [{"id": 257, "content": "<|end|>", "special": True}]}

    def variant(**changes):
        j = json.loads(tiny)
        for key, value in changes.items():
            j[key] = value
        return json.dumps(j).encode()

    def model_variant(**changes):
        j = json.loads(tiny)
        j["model"].update(changes)
        return json.dumps(j).encode()

    def ids(*values):
        return struct.pack(f"<{len(values)}H", *values)

    return {
        "tiny-json": (b"\0" + tiny, "ok"),
        "byte-level-json": (b"\0" + json.dumps(byte_level).encode(), "ok"),
        "not-json": (b"\0{\"model\": ", "not JSON"),
        "no-model": (b"\0{}", "no \"model\" object"),
        "lowercase": (b"\0" + variant(normalizer={"type": "Lowercase"}), "not supported"),
        "wordpiece": (b"\0" + model_variant(type="WordPiece"), "not supported"),
        "bad-merge": (b"\0" + model_variant(merges=[["x", "\u2581"]]), "merges[0]"),
        "bad-regex": (b"\0" + variant(pre_tokenizer={
            "type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}), "does not compile"),
        "bad-template": (b"\0" + variant(post_processor={
            "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<x>"}}],
            "special_tokens": {}}), "names \"<x>\""),
        "tiny-text": (b"\1the cat sat on the mat.", "ok"),
        "tiny-unknown": (b"\1Hello, World! 123 \xe2\x82\xac", "ok"),
        "tiny-specials": (b"\1<s>the</s> <unk>", "ok"),
        "tiny-invalid": (b"\1a\xff\xfe\xc0\xafb", "ok"),
        "byte-text": (b"\2The quick brown fox, don't you think? 12345", "ok"),
        "byte-unicode": ("\2中文 Ελληνικά 😀👨\u200d👩\u200d👧 e\u0301".encode(), "ok"),
        "byte-spaces": (b"\2  a \t\t b\n\n\r\n   ", "ok"),
        "byte-invalid": (b"\2\xff\xe2\x82 \xf0\x9f\x98 ok \xed\xa0\x80", "ok"),
        "ids": (b"\3" + ids(1, 34, 3, 6, 4, 23, 30, 2), "ok"),
        "ids-outside": (b"\3" + ids(1, 40), "is not in the vocabulary"),
    }


def main():
    for target, cases in [("safetensors", safetensors_cases()), ("config", config_cases()),
                          ("cli_args", cli_cases()), ("tokenizer", tokenizer_cases())]:
        out = OUT / target
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        expected = {}
        for name, case in cases.items():
            data, outcome = case if isinstance(case, tuple) else (case, None)
            (out / name).write_bytes(data)
            expected[name] = outcome
        if any(v is not None for v in expected.values()):
            EXPECTED.mkdir(exist_ok=True)
            (EXPECTED / f"{target}.json").write_text(
                json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{out.relative_to(ROOT)}: {len(cases)} inputs")


if __name__ == "__main__":
    main()
