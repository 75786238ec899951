#!/usr/bin/python3
"""Tiny random-weight checkpoints of eleven model families, with reference logits.

What: for each case below this script draws random weights from a fixed torch.manual_seed,
stores them in the exact on-disk layout of the family's real checkpoints (safetensors, tensor
names, config.json keys), and computes the logits of every prompt position with an independent
float64 implementation of the published model definitions:

    "mamba"    Hugging Face MambaForCausalLM (modeling_mamba.py, slow path)
    "mamba2"   Hugging Face Mamba2ForCausalLM (modeling_mamba2.py, torch_forward)
    "nemotron_h"  NVIDIA Nemotron-H (transformers' modeling_nemotron_h.py), the layer order of
               hybrid_override_pattern
    "samba" (fla)  flash-linear-attention SambaForCausalLM (fla/models/samba; hidden_size keys,
               fla/layers/mamba.py and fla/layers/attn.py; samba_fla_* cases)
    "gla"      flash-linear-attention GLAForCausalLM (fla/models/gla, fla/layers/gla.py and
               fla/layers/attn.py at the layers of the config's attn dict)
    "retnet"   flash-linear-attention RetNetForCausalLM (fla/models/retnet,
               fla/layers/multiscale_retention.py; attention as for gla)
    "llama"    Hugging Face LlamaForCausalLM (modeling_llama.py)
    "mistral"  Hugging Face MistralForCausalLM (modeling_mistral.py), sliding window W:
               query i sees keys max(0, i − W + 1) … i (W keys, itself included)
    "recurrent_gemma"  Hugging Face RecurrentGemmaForCausalLM (modeling_recurrent_gemma.py),
               except the local attention's window, which follows google-deepmind/recurrentgemma
               (the code the models were trained with): query i sees keys i − W … i, W + 1 keys
    "phi4flash"  Microsoft Phi-4-mini-flash (SambaY; the model's remote code
               modeling_phi4flash.py and configuration_phi4flash.py): Mamba and sliding-window
               differential attention, then the memory Mamba layer, the shared full-attention
               layer, and GMU / cross-attention pairs; LayerNorm with bias; no RoPE
    "samba"    the lit-gpt layout of the official Samba training code (microsoft/Samba,
               lit_gpt/model.py): blocks i % mb_per_layer == 0 are Mamba (none when
               mb_per_layer is 0), the others sliding-window attention, or attention exactly
               at the indices of attn_layer_pos; every block is followed by a SwiGLU MLP
               unless "mlp" is false

The C++ tests load each checkpoint with samba's model loader, run the prompt and compare with
the reference logits. Nothing here calls or ports samba's C++ code.

How to run (from the repository root; needs torch and numpy, which /usr/bin/python3 has):

    /usr/bin/python3 tests/model/generate.py

The output is deterministic: re-running rewrites byte-identical files (weights come from
torch's CPU generator in float32; the float64 math runs on one thread).

Precision. Weights are drawn in float32 and then stored as the case's dtype (bf16 and f16 rounded
to nearest even by torch). The references are computed in float64 from the weights AS STORED
(each bf16/f16/f32 value converted exactly to float64), so they are exact for every dtype up to
float64 rounding; only the final logits are rounded to float32.

File layout, one directory per case, tests/model/data/<case>/:

    config.json                  the family's config (see below); all dims are baked in here
    model.safetensors            one file, or for the *_sharded cases:
    model-0000k-of-0000n.safetensors + model.safetensors.index.json
                                 HF sharded layout; the index is
                                 {"metadata": {"total_size": <bytes of tensor data>},
                                  "weight_map": {<tensor name>: <shard file name>}}
    prompt.txt                   the prompt's token ids, comma-separated on one line (then "\\n")
    logits.f32                   reference logits, little-endian float32, row-major [T, V]:
                                 one row per prompt position; V = vocab_size, or
                                 padded_vocab_size for samba

safetensors: 8-byte little-endian u64 header length N, then N bytes of JSON
{"__metadata__": {"format": "pt"}, <name>: {"dtype": "F32"|"BF16"|"F16", "shape": [...],
"data_offsets": [begin, end]}, ...} padded with spaces to a multiple of 8, then the raw
little-endian tensor data (offsets relative to the end of the header). Every tensor of a case
has the case's dtype, except in phi4flash, whose A_log and λ vectors stay F32 (as released). Tensor names and shapes (d = hidden size; "absent when tied" means that
lm_head.weight is not stored when tie_word_embeddings is true and the head is the embedding):

  mamba    backbone.embeddings.weight [vocab, d]; per layer i, backbone.layers.{i}.:
           norm.weight [d], mixer.in_proj.weight [2·d_inner, d],
           mixer.conv1d.weight [d_inner, 1, conv_kernel], mixer.conv1d.bias [d_inner],
           mixer.x_proj.weight [dt_rank + 2·state_size, d_inner], mixer.dt_proj.weight
           [d_inner, dt_rank], mixer.dt_proj.bias [d_inner], mixer.A_log [d_inner, state_size],
           mixer.D [d_inner], mixer.out_proj.weight [d, d_inner];
           backbone.norm_f.weight [d]; lm_head.weight [vocab, d] (absent when tied).
           d_inner = expand·d; dt_rank = time_step_rank, "auto" = ceil(d / 16).
           Block: x + mixer(RMSNorm(x)); then norm_f; logits = lm_head(h).
  mamba2   backbone.embeddings.weight [vocab, d]; per layer i, backbone.layers.{i}.:
           norm.weight [d], mixer.in_proj.weight [d_inner + conv_dim + num_heads, d] (rows:
           z, xBC, dt), mixer.conv1d.weight [conv_dim, 1, conv_kernel], mixer.conv1d.bias
           [conv_dim], mixer.dt_bias [H], mixer.A_log [H], mixer.D [H], mixer.norm.weight
           [d_inner], mixer.out_proj.weight [d, d_inner]; backbone.norm_f.weight [d];
           lm_head.weight [vocab, d] (absent when tied). d_inner = expand·d = num_heads·head_dim,
           conv_dim = d_inner + 2·n_groups·state_size. Mixer: conv + SiLU over xBC; split into
           u, B, C; Δ = clamp(softplus(dt + dt_bias), time_step_limit); head h reads group
           h // (H / n_groups) of B and C; S_t = exp(Δ A) S_{t−1} + B_t (Δ u_t)ᵀ,
           y = S_tᵀ C_t + D u_t; RMSNorm(y ⊙ silu(z)) over the whole d_inner; out_proj.
  nemotron_h  backbone.* (the released checkpoints) or model.*: embeddings.weight; per layer i,
           layers.{i}.norm.weight and layers.{i}.mixer.*: Mamba-2's tensors as in mamba2 (inner
           width mamba_num_heads·mamba_head_dim, gated norm per group of inner/n_groups),
           attention's {q,k,v,o}_proj.weight (no RoPE), the MLP's up_proj and down_proj
           (down(relu(up x)²)); norm_f.weight; lm_head.weight (absent when tied).
  samba (fla)  backbone.embeddings.weight; per layer i, backbone.layers.{i}.: mixer_norm.weight,
           mixer.* (Mamba-1 with HF names, or attention's {q,k,v,o}_proj at the attn layers),
           mlp_norm.weight, mlp.{gate,up,down}_proj.weight; backbone.norm_f.weight; lm_head.weight
           (absent when tied). MLP width from hidden_ratio (256-rounded), not intermediate_size.
  gla      model.embeddings.weight [vocab, d]; per layer i, model.layers.{i}.: attn_norm.weight,
           attn.* (GLA: q_proj [key_dim, d], k_proj [kv·K, d], v_proj [kv·V, d], g_proj
           [value_dim, d] (with the output gate), {q,k,v}_conv1d.weight [rows, 1, conv_size]
           (with the short conv, no bias), gk_proj.0.weight [16, d], gk_proj.1.weight
           [kv·K, 16], gk_proj.1.bias, o_proj [d, value_dim], g_norm_swish_gate.weight [V]
           (fused norm and gate) or g_norm.weight; attention layers: q_proj, k_proj, v_proj,
           o_proj), mlp_norm.weight, mlp.{gate,up,down}_proj.weight; model.norm.weight;
           lm_head.weight (absent when tied). key_dim = int(d·expand_k), K = key_dim / heads.
           GLA: α = logsigmoid(gk_proj(x)) / 16 (clamped), S_t = diag(exp α_t) S + k_t v_tᵀ,
           o_t = S_tᵀ q_t / √K, per-head RMSNorm · weight · swish(g_proj x), o_proj.
  retnet   as gla, without gk_proj and the short conv; key_dim = round(d·expand_k). Retention:
           RoPE (rotate-half, base 10000) over each head's K dims of q and k, S_t = γ_h S + k v ᵀ
           with γ_h = 1 − 2^(−5−h), then as GLA.
  llama,   model.embed_tokens.weight [vocab, d]; per layer, model.layers.{i}.:
  mistral  input_layernorm.weight, self_attn.{q,k,v,o}_proj.weight, post_attention_layernorm.weight,
           mlp.{gate,up,down}_proj.weight; model.norm.weight; lm_head.weight (absent when tied).
           head_dim = config head_dim, or hidden_size / num_attention_heads when absent.
  samba    transformer.wte.weight [padded_vocab_size, d] (lit-gpt's nn.Embedding is
           padded_vocab_size rows); per block i, transformer.h.{i}.: norm_1.weight,
           attn.* (Mamba blocks: HF mixer names in_proj.weight, conv1d.weight, conv1d.bias,
           x_proj.weight, dt_proj.weight, dt_proj.bias, A_log, D, out_proj.weight, with
           dt_rank = ceil(n_embd / 16); attention blocks: attn.weight
           [(n_head + 2·n_query_groups)·head_size, d] = fused QKV in lit-gpt's grouped layout,
           for each group g: its n_head/n_query_groups query heads, then its key head, then its
           value head, head_size rows each; proj.weight [d, n_head·head_size]), norm_2.weight,
           mlp.swiglu.{w1,w2,w3}.weight computing w3(silu(w1·x) ⊙ w2·x);
           transformer.ln_f.weight; lm_head.weight [padded_vocab_size, d] (absent when tied).
           Block: x = x + attn(norm_1(x)); x = x + mlp(norm_2(x)). RoPE (rotate-half, base
           rope_base) on the first rotary_percentage·head_size dims of each q and k head;
           query i sees keys max(0, i − local_window + 1) … i.

  phi4flash  model.embed_tokens.weight; per layer i, model.layers.{i}.: input_layernorm.{weight,
           bias}, attn.* (Mamba: HF mixer names; differential attention: Wqkv.{weight,bias}
           [(H + 2·KV)·hd, d] (cross-attention: q only), out_proj.{weight,bias},
           inner_cross_attn.{lambda_q1,lambda_k1,lambda_q2,lambda_k2} [hd],
           inner_cross_attn.subln.weight [2·hd]; GMU: in_proj.weight [d_inner, d], out_proj.weight
           [d, d_inner]), post_attention_layernorm.{weight,bias}, mlp.fc1.weight [2·I, d] (gate
           rows, then up), mlp.fc2.weight [d, I]; model.final_layernorm.{weight,bias};
           lm_head.weight (absent when tied). Differential attention: heads split by parity,
           four softmax attentions, RMSNorm(A1·V − λ·A2·V)·subln·(1 − λ_init), λ_init = 0.8 −
           0.6·exp(−0.3·layer); GMU: out_proj(silu(in_proj x) ⊙ m), m = layer N/2's scan output
           before its gate; cross-attention reads layer N/2 + 1's keys and values.

Math (all families): RMSNorm x / sqrt(mean(x²) + eps) · w; RoPE at absolute position t with
inv_freq = base^(−arange(0, rd, 2) / rd), dim j paired with dim j + rd/2 (rotate-half);
attention scale 1/sqrt(head_dim); query head h reads kv head h // (n_heads / n_kv_heads);
MLP down(silu(gate·x) ⊙ up·x); Mamba-1 as in docs/math.md (softplus with threshold 20).

Self-checks run on every generation: the Mamba-2 SSM twice (recurrence and the quadratic
masked form); the Mamba scan is computed twice (sequential recurrence and
a closed-form quadratic sum over the decays) and the causal conv twice (explicit taps and
torch's conv1d); the attention twice (masked matrix softmax, whose rows must sum to 1 with
exactly min(i+1, W) non-zero weights, and an explicit per-query loop over the window); RoPE
twice (rotate-half and complex multiplication); samba's grouped QKV split twice (lit-gpt's
view/split and explicit row indices); every logit must be finite and the stored bytes must
read back to the weights the reference used.
"""

import json
import math
import pathlib
import struct

import numpy as np
import torch
import torch.nn.functional as F

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"

TORCH_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
CONFIG_DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
TRANSFORMERS_VERSION = "4.44.2"

# x_proj is drawn 8x wider than nn.Linear's default: larger B and C put about 30 % of the scan
# output y (by norm) in the SSM term C·h, against about 6 % at 4x, so the references test the
# recurrence, not just the D skip connection.
XPROJ_SCALE = 8.0


# --- random weights: float32 draws ------------------------------------------------------------


def linear(out_features, in_features, scale=1.0):
    """U(±scale/sqrt(in_features)); scale 1 is nn.Linear's default initialisation."""
    bound = scale / math.sqrt(in_features)
    return torch.empty(out_features, in_features, dtype=torch.float32).uniform_(-bound, bound)


def norm_weight(d):
    return 1.0 + 0.1 * torch.randn(d, dtype=torch.float32)


def embedding(rows, d):
    return torch.randn(rows, d, dtype=torch.float32)


def mamba_mixer_weights(d_model, d_state, d_conv, expand, dt_rank):
    """Mamba-1 mixer with HF / mamba_simple parameter names, initialised as mamba_simple does,
    except: noise on A_log and D, and x_proj XPROJ_SCALE times wider than nn.Linear's default."""
    d_inner = expand * d_model
    w = {}
    w["in_proj.weight"] = linear(2 * d_inner, d_model)
    conv_bound = 1.0 / math.sqrt(d_conv)
    w["conv1d.weight"] = torch.empty(d_inner, 1, d_conv).uniform_(-conv_bound, conv_bound)
    w["conv1d.bias"] = torch.empty(d_inner).uniform_(-conv_bound, conv_bound)
    w["x_proj.weight"] = linear(dt_rank + 2 * d_state, d_inner, scale=XPROJ_SCALE)
    w["dt_proj.weight"] = linear(d_inner, dt_rank)
    # Δ log-uniform in [1e-3, 1e-1]; dt_bias = softplus⁻¹(Δ), as in mamba_simple.
    dt = torch.exp(torch.rand(d_inner) * (math.log(1e-1) - math.log(1e-3)) + math.log(1e-3))
    w["dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))
    # S4D-real A = −(1, …, d_state), perturbed so that no two channels are alike.
    a_log = torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1)
    w["A_log"] = a_log + 0.1 * torch.randn(d_inner, d_state)
    w["D"] = 1.0 + 0.5 * torch.randn(d_inner)
    w["out_proj.weight"] = linear(d_model, d_inner)
    return w


def mamba2_mixer_weights(d_model, d_inner, n_heads, n_groups, d_state, d_conv):
    """Mamba-2 mixer with HF Mamba2Mixer parameter names, initialised as mamba_ssm's Mamba2 does
    (A_h uniform in [1, 16], Δ log-uniform in [1e-3, 1e-1] through dt_bias), except: noise on D
    and the norm weight, and the B and C rows of in_proj XPROJ_SCALE times wider, so that the SSM
    term carries weight in y."""
    conv_dim = d_inner + 2 * n_groups * d_state
    w = {}
    in_proj = linear(d_inner + conv_dim + n_heads, d_model)
    in_proj[2 * d_inner:d_inner + conv_dim] *= XPROJ_SCALE
    w["in_proj.weight"] = in_proj
    conv_bound = 1.0 / math.sqrt(d_conv)
    w["conv1d.weight"] = torch.empty(conv_dim, 1, d_conv).uniform_(-conv_bound, conv_bound)
    w["conv1d.bias"] = torch.empty(conv_dim).uniform_(-conv_bound, conv_bound)
    dt = torch.exp(torch.rand(n_heads) * (math.log(1e-1) - math.log(1e-3)) + math.log(1e-3))
    w["dt_bias"] = dt + torch.log(-torch.expm1(-dt))
    w["A_log"] = torch.log(torch.empty(n_heads).uniform_(1.0, 16.0))
    w["D"] = 1.0 + 0.5 * torch.randn(n_heads)
    w["norm.weight"] = norm_weight(d_inner)
    w["out_proj.weight"] = linear(d_model, d_inner)
    return w


def prompt_tokens(T, vocab_size):
    """Random ids, with the first and last id of the vocabulary at fixed places."""
    tokens = torch.randint(0, vocab_size, (T,)).tolist()
    tokens[3] = 0
    tokens[T - 5] = vocab_size - 1
    return tokens


# --- storage ----------------------------------------------------------------------------------


def to_storage(weights_f32, dtype):
    """float32 draws → stored tensors of the case's dtype (round to nearest even)."""
    return {k: v.to(TORCH_DTYPES[dtype]).contiguous() for k, v in weights_f32.items()}


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().astype("<i2")
    elif t.dtype == torch.float16:
        raw = t.numpy().astype("<f2")
    else:
        assert t.dtype == torch.float32
        raw = t.numpy().astype("<f4")
    return raw.tobytes()


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def safetensors_bytes(tensors, dtype):
    """tensors: name → stored tensor, laid out in name order. Each tensor's header dtype is its
    own (a case's dtype, except where a checkpoint keeps some tensors in float32)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        data = tensor_bytes(tensors[name])
        header[name] = {"dtype": SAFETENSORS_DTYPES[tensors[name].dtype],
                        "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(path):
    """Reader used only to check what was written: name → float64 tensor."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    assert n % 8 == 0 and header.pop("__metadata__") == {"format": "pt"}
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        chunk = body[b:e]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32).astype(np.float64)
        elif info["dtype"] == "F16":
            values = np.frombuffer(chunk, dtype="<f2").astype(np.float64)
        else:
            values = np.frombuffer(chunk, dtype="<f4").astype(np.float64)
        out[name] = torch.from_numpy(values.copy()).reshape(info["shape"])
    return out


def write_checkpoint(case_dir, stored, order, dtype, n_shards):
    """order: tensor names in module order (how HF fills shards)."""
    assert sorted(order) == sorted(stored)
    for old in case_dir.glob("model*.safetensors*"):
        old.unlink()
    if n_shards == 1:
        (case_dir / "model.safetensors").write_bytes(safetensors_bytes(stored, dtype))
        return
    sizes = [len(tensor_bytes(stored[name])) for name in order]
    total = sum(sizes)
    shards = [[] for _ in range(n_shards)]
    done = 0
    for name, size in zip(order, sizes):
        # Fill shard k until it holds about (k + 1)/n of the bytes.
        k = min(n_shards - 1, (done * n_shards) // total)
        shards[k].append(name)
        done += size
    assert all(shards), "a shard came out empty"
    weight_map = {}
    for k, names in enumerate(shards):
        file_name = f"model-{k + 1:05d}-of-{n_shards:05d}.safetensors"
        (case_dir / file_name).write_bytes(
            safetensors_bytes({name: stored[name] for name in names}, dtype))
        weight_map.update({name: file_name for name in names})
    index = {"metadata": {"total_size": total},
             "weight_map": {name: weight_map[name] for name in sorted(weight_map)}}
    (case_dir / "model.safetensors.index.json").write_text(
        json.dumps(index, indent=2) + "\n", encoding="utf-8")


def read_checkpoint(case_dir):
    index = case_dir / "model.safetensors.index.json"
    if not index.exists():
        return read_safetensors(case_dir / "model.safetensors")
    weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    out = {}
    for file_name in sorted(set(weight_map.values())):
        part = read_safetensors(case_dir / file_name)
        assert all(weight_map[name] == file_name for name in part)
        out.update(part)
    assert sorted(out) == sorted(weight_map)
    return out


def write_case(name, config, stored, order, dtype, n_shards, tokens, logits):
    case_dir = DATA_DIR / name
    case_dir.mkdir(parents=True, exist_ok=True)
    (case_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
    write_checkpoint(case_dir, stored, order, dtype, n_shards)
    (case_dir / "prompt.txt").write_text(",".join(str(t) for t in tokens) + "\n",
                                         encoding="utf-8")
    logits32 = logits.numpy().astype("<f4")
    assert np.isfinite(logits32).all(), f"{name}: non-finite logit"
    (case_dir / "logits.f32").write_bytes(logits32.tobytes())

    # Read everything back: the bytes must be the weights the reference used.
    back = read_checkpoint(case_dir)
    assert sorted(back) == sorted(stored), f"{name}: tensor names differ on read-back"
    for key, t in stored.items():
        assert torch.equal(back[key], t.double()), f"{name}: {key} differs on read-back"
    size = sum(p.stat().st_size for p in case_dir.iterdir())
    std = logits.std(dim=-1).mean().item()
    argmaxes = len(set(logits.argmax(dim=-1).tolist()))
    print(f"{name:18s} {len(tokens)} tokens, logits [{logits.shape[0]}, {logits.shape[1]}], "
          f"mean row std {std:.3f}, {argmaxes} distinct argmaxes, {size} bytes")
    assert std > 0.1 and argmaxes > 3, f"{name}: logits look trivial"


# --- the math, in float64 ---------------------------------------------------------------------


def rmsnorm(x, weight, eps):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def silu(x):
    return x * torch.sigmoid(x)


def softplus(x):
    # PyTorch's softplus, beta 1, threshold 20.
    return torch.where(x > 20.0, x, torch.log1p(torch.exp(torch.clamp(x, max=20.0))))


def swiglu(x, gate, up, down):
    return (silu(x @ gate.t()) * (x @ up.t())) @ down.t()


def causal_depthwise_conv(u, weight, bias):
    """u [T, C], weight [C, K]: out[t, c] = bias[c] + Σ_k weight[c, k] · u[t − (K−1) + k, c],
    zero before the start. Checked against torch's conv1d."""
    T, C = u.shape
    K = weight.shape[1]
    padded = torch.cat((torch.zeros(K - 1, C, dtype=u.dtype), u), dim=0)
    out = bias.unsqueeze(0).repeat(T, 1)
    for k in range(K):
        out = out + weight[:, k].unsqueeze(0) * padded[k:k + T]
    check = F.conv1d(u.t().unsqueeze(0), weight.unsqueeze(1), bias, padding=K - 1,
                     groups=C)[0, :, :T].t()
    assert torch.allclose(out, check, rtol=1e-12, atol=1e-12), "conv: two forms disagree"
    return out


def selective_scan(u, delta, A, B, C, D):
    """u, delta [T, Di]; A [Di, N]; B, C [T, N]; D [Di]. Sequential recurrence
    h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t, y_t = C_t · h_t + D ⊙ u_t, checked against the
    closed form y_t = Σ_{s≤t} C_t · exp((S_t − S_s)) ⊙ Δ_s B_s u_s with S_t = Σ_{r≤t} Δ_r A."""
    T, Di = u.shape
    N = A.shape[1]
    h = torch.zeros(Di, N, dtype=torch.float64)
    ys = []
    for t in range(T):
        h = torch.exp(delta[t].unsqueeze(1) * A) * h \
            + delta[t].unsqueeze(1) * B[t].unsqueeze(0) * u[t].unsqueeze(1)
        ys.append(h @ C[t])
    y = torch.stack(ys) + D * u

    S = torch.cumsum(delta.unsqueeze(2) * A.unsqueeze(0), dim=0)          # [T, Di, N]
    diff = S.unsqueeze(1) - S.unsqueeze(0)                                 # [t, s, Di, N]
    causal = (torch.arange(T).unsqueeze(1) >= torch.arange(T).unsqueeze(0))
    diff = diff.masked_fill(~causal[:, :, None, None], float("-inf"))
    decay = torch.exp(diff)
    inputs = delta.unsqueeze(2) * B.unsqueeze(1) * u.unsqueeze(2)         # [s, Di, N]
    y2 = torch.einsum("tn,tsdn,sdn->td", C, decay, inputs) + D * u
    scale = y.abs().max().item()
    assert torch.allclose(y, y2, rtol=1e-9, atol=1e-11 * scale), "scan: two forms disagree"
    return y


def mamba_mixer(x, w, d_state, dt_rank, memory=None):
    """w: float64 weights under HF's mixer names (no prefix). memory (a list): gets the scan's
    output before the gate, y = C·h + D ⊙ u (Phi-4-mini-flash's GMU memory)."""
    d_inner = w["D"].shape[0]
    xz = x @ w["in_proj.weight"].t()
    u, z = xz[:, :d_inner], xz[:, d_inner:]
    u = silu(causal_depthwise_conv(u, w["conv1d.weight"][:, 0, :], w["conv1d.bias"]))
    x_dbl = u @ w["x_proj.weight"].t()
    dlt, B, C = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
    delta = softplus(dlt @ w["dt_proj.weight"].t() + w["dt_proj.bias"])
    A = -torch.exp(w["A_log"])
    y = selective_scan(u, delta, A, B, C, w["D"])
    if memory is not None:
        memory.append(y)
    return (y * silu(z)) @ w["out_proj.weight"].t()


def ssd(u, dt, A, B, C, D):
    """Mamba-2's SSM. u [T, H, P]; dt [T, H] (after softplus and clamp); A [H]; B, C [T, H, N]
    (each head's group already picked); D [H]. Sequential recurrence
    S_t = exp(Δ_t A) S_{t−1} + B_t (Δ_t u_t)ᵀ, y_t = S_tᵀ C_t + D u_t, checked against the
    quadratic form y_t = Σ_{s≤t} (C_t · B_s) exp(Σ_{s<r≤t} Δ_r A) Δ_s u_s + D u_t
    (mamba_ssm's ssd_minimal without the chunks)."""
    T, H, P = u.shape
    N = B.shape[2]
    S = torch.zeros(H, N, P, dtype=torch.float64)
    ys = []
    for t in range(T):
        decay = torch.exp(dt[t] * A)                                   # [H]
        S = decay[:, None, None] * S + B[t][:, :, None] * (dt[t][:, None] * u[t])[:, None, :]
        ys.append(torch.einsum("hnp,hn->hp", S, C[t]))
    y = torch.stack(ys) + D[None, :, None] * u

    cum = torch.cumsum(dt * A, dim=0)                                  # [T, H]
    seg = cum[:, None, :] - cum[None, :, :]                            # [t, s, H]
    causal = (torch.arange(T)[:, None] >= torch.arange(T)[None, :])
    L = torch.exp(seg.masked_fill(~causal[:, :, None], float("-inf")))
    scores = torch.einsum("thn,shn->tsh", C, B) * L
    y2 = torch.einsum("tsh,sh,shp->thp", scores, dt, u) + D[None, :, None] * u
    scale = y.abs().max().item()
    assert torch.allclose(y, y2, rtol=1e-9, atol=1e-11 * scale), "ssd: two forms disagree"
    return y


def gated_rmsnorm(y, z, weight, group, eps):
    """HF MambaRMSNormGated over groups of `group` channels: normalise y ⊙ silu(z) per group."""
    g = y * silu(z)
    T, Di = g.shape
    g = g.reshape(T, Di // group, group)
    g = g / torch.sqrt(g.pow(2).mean(-1, keepdim=True) + eps)
    return g.reshape(T, Di) * weight


def mamba2_mixer(x, w, n_heads, head_dim, n_groups, d_state, dt_limit, norm_group, eps):
    """HF Mamba2Mixer.torch_forward, one sequence from an empty cache. w: float64 weights under
    the mixer's names (no prefix)."""
    d_inner = n_heads * head_dim
    conv_dim = d_inner + 2 * n_groups * d_state
    proj = x @ w["in_proj.weight"].t()
    z, xBC, dt = torch.split(proj, [d_inner, conv_dim, n_heads], dim=-1)
    xBC = silu(causal_depthwise_conv(xBC, w["conv1d.weight"][:, 0, :], w["conv1d.bias"]))
    u, B, C = torch.split(xBC, [d_inner, n_groups * d_state, n_groups * d_state], dim=-1)
    T = x.shape[0]
    dt = torch.clamp(softplus(dt + w["dt_bias"]), dt_limit[0], dt_limit[1])
    per_group = n_heads // n_groups
    B = B.reshape(T, n_groups, d_state).repeat_interleave(per_group, dim=1)
    C = C.reshape(T, n_groups, d_state).repeat_interleave(per_group, dim=1)
    A = -torch.exp(w["A_log"])
    y = ssd(u.reshape(T, n_heads, head_dim), dt, A, B, C, w["D"]).reshape(T, d_inner)
    y = gated_rmsnorm(y, z, w["norm.weight"], norm_group, eps)
    return y @ w["out_proj.weight"].t()


def gla_recurrence(q, k, v, gk):
    """q, k, gk [T, H, K], v [T, H, V] (q already scaled, gk the log decay ≤ 0). Sequential
    S_t = diag(exp(gk_t)) S_{t−1} + k_t v_tᵀ, o_t = S_tᵀ q_t, checked against the parallel form
    o_t = Σ_{s≤t} Σ_c q_t[c] k_s[c] exp(b_t[c] − b_s[c]) v_s with b the cumulative log decay."""
    T, H, K = q.shape
    V = v.shape[2]
    S = torch.zeros(H, K, V, dtype=torch.float64)
    outs = []
    for t in range(T):
        S = torch.exp(gk[t])[:, :, None] * S + k[t][:, :, None] * v[t][:, None, :]
        outs.append(torch.einsum("hk,hkv->hv", q[t], S))
    o = torch.stack(outs)

    b = torch.cumsum(gk, dim=0)                                        # [T, H, K]
    expo = b[:, None] - b[None, :]                                     # [t, s, H, K]
    causal = (torch.arange(T)[:, None] >= torch.arange(T)[None, :])
    decay = torch.exp(expo.masked_fill(~causal[:, :, None, None], float("-inf")))
    scores = torch.einsum("thk,shk,tshk->tsh", q, k, decay)
    o2 = torch.einsum("tsh,shv->thv", scores, v)
    scale = o.abs().max().item()
    assert torch.allclose(o, o2, rtol=1e-9, atol=1e-11 * scale), "gla: two forms disagree"
    return o


def gla_mixer(x, w, n_heads, n_kv_heads, head_k, head_v, conv, output_gate, clamp_min, eps,
              norm_name):
    """fla's GatedLinearAttention.forward (fla/layers/gla.py) from an empty cache; w: float64
    weights under the layer's names (no prefix)."""
    T = x.shape[0]
    q, k, v = x @ w["q_proj.weight"].t(), x @ w["k_proj.weight"].t(), x @ w["v_proj.weight"].t()
    if conv:  # ShortConvolution, SiLU, no bias (GLABlock's default)
        q, k, v = (silu(causal_depthwise_conv(a, w[f"{n}_conv1d.weight"][:, 0, :],
                                              torch.zeros(a.shape[1], dtype=torch.float64)))
                   for a, n in ((q, "q"), (k, "k"), (v, "v")))
    gk = (x @ w["gk_proj.0.weight"].t()) @ w["gk_proj.1.weight"].t() + w["gk_proj.1.bias"]
    group = n_heads // n_kv_heads
    q = q.reshape(T, n_heads, head_k)
    # einops '... (h d) -> ... (h g) d': head h reads kv head h // group.
    k = k.reshape(T, n_kv_heads, head_k).repeat_interleave(group, dim=1)
    gk = gk.reshape(T, n_kv_heads, head_k).repeat_interleave(group, dim=1)
    v = v.reshape(T, n_kv_heads, head_v).repeat_interleave(group, dim=1)
    gk = F.logsigmoid(gk) / 16.0  # gate_logit_normalizer
    if clamp_min is not None:
        gk = torch.clamp_min(gk, clamp_min)
    o = gla_recurrence(q * head_k ** -0.5, k, v, gk)                  # chunk_gla's default scale
    o = o / torch.sqrt(o.pow(2).mean(-1, keepdim=True) + eps) * w[norm_name]
    if output_gate:
        o = o * silu((x @ w["g_proj.weight"].t()).reshape(T, n_heads, head_v))
    return o.reshape(T, n_heads * head_v) @ w["o_proj.weight"].t()


def retention_mixer(x, w, n_heads, n_kv_heads, head_k, head_v, output_gate, eps, norm_name):
    """fla's MultiScaleRetention.forward (fla/layers/multiscale_retention.py) from an empty cache,
    no short conv (RetNetBlock passes none); w: float64 weights under the layer's names."""
    T = x.shape[0]
    q = (x @ w["q_proj.weight"].t()).reshape(T, n_heads, head_k)
    k = (x @ w["k_proj.weight"].t()).reshape(T, n_kv_heads, head_k)
    v = (x @ w["v_proj.weight"].t()).reshape(T, n_kv_heads, head_v)
    q, k = rope(q, head_k, 10000.0), rope(k, head_k, 10000.0)      # RotaryEmbedding(head_k_dim)
    group = n_heads // n_kv_heads
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    # chunk_retention: per-head log decay log(1 − 2^(−5−h)), the same for every step.
    g = torch.log(1 - torch.pow(2.0, -5.0 - torch.arange(n_heads, dtype=torch.float64)))
    gk = g[None, :, None].expand(T, n_heads, head_k)
    o = gla_recurrence(q * head_k ** -0.5, k, v, gk)
    o = o / torch.sqrt(o.pow(2).mean(-1, keepdim=True) + eps) * w[norm_name]
    if output_gate:
        o = o * silu((x @ w["g_proj.weight"].t()).reshape(T, n_heads, head_v))
    return o.reshape(T, n_heads * head_v) @ w["o_proj.weight"].t()


def rope(x, rotary_dims, base):
    """x [T, heads, head_dim]; rotate-half RoPE on the first rotary_dims dims at position t = row
    t: dim j pairs with j + rotary_dims/2. Checked against a complex-number rotation."""
    if rotary_dims == 0:
        return x
    T = x.shape[0]
    r = rotary_dims // 2
    inv_freq = base ** (-torch.arange(0, rotary_dims, 2, dtype=torch.float64) / rotary_dims)
    theta = torch.arange(T, dtype=torch.float64).unsqueeze(1) * inv_freq.unsqueeze(0)  # [T, r]
    cos, sin = torch.cos(theta).unsqueeze(1), torch.sin(theta).unsqueeze(1)
    x1, x2, rest = x[..., :r], x[..., r:rotary_dims], x[..., rotary_dims:]
    out = torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest), dim=-1)

    z = torch.complex(x1, x2) * torch.exp(1j * theta.to(torch.complex128)).unsqueeze(1)
    check = torch.cat((z.real, z.imag, rest), dim=-1)
    assert torch.allclose(out, check, rtol=1e-12, atol=1e-12), "rope: two forms disagree"
    return out


def attention_core(q, k, v, window):
    """q [T, H, hd], k, v [T, KV, hd] (after RoPE). Query i, head h sees keys j of kv head
    h // (H / KV) with max(0, i − window + 1) ≤ j ≤ i (window None: causal). Returns [T, H·hd]."""
    T, H, hd = q.shape
    KV = k.shape[1]
    group = H // KV
    kh = k.repeat_interleave(group, dim=1)  # head h → kv head h // group
    vh = v.repeat_interleave(group, dim=1)
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    visible = j <= i
    if window is not None:
        visible &= j >= i - window + 1
    scores = torch.einsum("ihd,jhd->hij", q, kh) / math.sqrt(hd)
    scores = scores.masked_fill(~visible.unsqueeze(0), float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    assert torch.allclose(probs.sum(-1), torch.ones(H, T, dtype=torch.float64), atol=1e-12)
    expected = torch.clamp(torch.arange(T) + 1, max=window if window is not None else T)
    assert torch.equal((probs > 0).sum(-1), expected.unsqueeze(0).expand(H, T)), "mask"
    out = torch.einsum("hij,jhd->ihd", probs, vh)

    # The same, one query at a time over its explicit window.
    check = torch.empty_like(out)
    for t in range(T):
        lo = 0 if window is None else max(0, t - window + 1)
        for h in range(H):
            g = h // group
            s = [float(q[t, h] @ k[jj, g]) / math.sqrt(hd) for jj in range(lo, t + 1)]
            m = max(s)
            e = [math.exp(a - m) for a in s]
            total = sum(e)
            check[t, h] = sum((e[n] / total) * v[lo + n, g] for n in range(len(e)))
    assert torch.allclose(out, check, rtol=1e-10, atol=1e-12), "attention: two forms disagree"
    return out.reshape(T, H * hd)


def gqa_attention(x, wq, wk, wv, wo, n_heads, n_kv, head_dim, rotary_dims, base, window):
    T = x.shape[0]
    q = (x @ wq.t()).view(T, n_heads, head_dim)
    k = (x @ wk.t()).view(T, n_kv, head_dim)
    v = (x @ wv.t()).view(T, n_kv, head_dim)
    q, k = rope(q, rotary_dims, base), rope(k, rotary_dims, base)
    return attention_core(q, k, v, window) @ wo.t()


def split_lit_qkv(qkv_weight, n_head, n_query_groups, head_size):
    """lit-gpt's grouped fused QKV → (wq, wk, wv) in HF's head order, two ways."""
    q_per_kv = n_head // n_query_groups
    d = qkv_weight.shape[1]
    # As lit-gpt's CausalSelfAttention.forward does on the output: view, then split.
    grouped = qkv_weight.view(n_query_groups, q_per_kv + 2, head_size, d)
    wq = grouped[:, :q_per_kv].reshape(n_head * head_size, d)
    wk = grouped[:, q_per_kv].reshape(n_query_groups * head_size, d)
    wv = grouped[:, q_per_kv + 1].reshape(n_query_groups * head_size, d)
    # Explicit row indices: group g starts at row g·(q_per_kv + 2)·head_size.
    rows_q, rows_k, rows_v = [], [], []
    for g in range(n_query_groups):
        base = g * (q_per_kv + 2) * head_size
        for j in range(q_per_kv):
            rows_q += range(base + j * head_size, base + (j + 1) * head_size)
        rows_k += range(base + q_per_kv * head_size, base + (q_per_kv + 1) * head_size)
        rows_v += range(base + (q_per_kv + 1) * head_size, base + (q_per_kv + 2) * head_size)
    assert torch.equal(wq, qkv_weight[rows_q]) and torch.equal(wk, qkv_weight[rows_k]) \
        and torch.equal(wv, qkv_weight[rows_v]), "qkv split: two forms disagree"
    return wq, wk, wv


# --- the families -----------------------------------------------------------------------------


def mamba_case(name, seed, dtype, n_shards, d, n_layers, state_size, expand, conv_kernel,
               time_step_rank, vocab, tied, eps, T):
    torch.manual_seed(seed)
    dt_rank = math.ceil(d / 16) if time_step_rank == "auto" else time_step_rank
    d_inner = expand * d
    w = {"backbone.embeddings.weight": embedding(vocab, d)}
    for i in range(n_layers):
        p = f"backbone.layers.{i}."
        w[p + "norm.weight"] = norm_weight(d)
        for k, v in mamba_mixer_weights(d, state_size, conv_kernel, expand, dt_rank).items():
            w[p + "mixer." + k] = v
    w["backbone.norm_f.weight"] = norm_weight(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    h = W["backbone.embeddings.weight"][tokens]
    for i in range(n_layers):
        p = f"backbone.layers.{i}."
        mixer = {k[len(p + "mixer."):]: v for k, v in W.items() if k.startswith(p + "mixer.")}
        h = h + mamba_mixer(rmsnorm(h, W[p + "norm.weight"], eps), mixer, state_size, dt_rank)
    h = rmsnorm(h, W["backbone.norm_f.weight"], eps)
    head = W["backbone.embeddings.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    config = {
        "architectures": ["MambaForCausalLM"],
        "bos_token_id": 0,
        "conv_kernel": conv_kernel,
        "eos_token_id": 0,
        "expand": expand,
        "fused_add_norm": True,
        "hidden_act": "silu",
        "hidden_size": d,
        "initializer_range": 0.1,
        "intermediate_size": d_inner,
        "layer_norm_epsilon": eps,
        "model_type": "mamba",
        "n_layer": n_layers,
        "num_hidden_layers": n_layers,
        "pad_token_id": 0,
        "pad_vocab_size_multiple": 8,
        "rescale_prenorm_residual": False,
        "residual_in_fp32": True,
        "rms_norm": True,
        "state_size": state_size,
        "tie_word_embeddings": tied,
        "time_step_floor": 0.0001,
        "time_step_init_scheme": "random",
        "time_step_max": 0.1,
        "time_step_min": 0.001,
        "time_step_rank": time_step_rank,
        "time_step_scale": 1.0,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_bias": False,
        "use_cache": True,
        "use_conv_bias": True,
        "vocab_size": vocab,
    }
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def mamba2_case(name, seed, dtype, n_shards, d, n_layers, state_size, expand, conv_kernel,
                head_dim, n_groups, vocab, tied, eps, T, time_step_limit=None):
    torch.manual_seed(seed)
    d_inner = expand * d
    n_heads = d_inner // head_dim
    w = {"backbone.embeddings.weight": embedding(vocab, d)}
    for i in range(n_layers):
        p = f"backbone.layers.{i}."
        w[p + "norm.weight"] = norm_weight(d)
        for k, v in mamba2_mixer_weights(d, d_inner, n_heads, n_groups, state_size,
                                         conv_kernel).items():
            w[p + "mixer." + k] = v
    w["backbone.norm_f.weight"] = norm_weight(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    limit = time_step_limit if time_step_limit is not None else (0.0, math.inf)
    h = W["backbone.embeddings.weight"][tokens]
    for i in range(n_layers):
        p = f"backbone.layers.{i}."
        mixer = {k[len(p + "mixer."):]: v for k, v in W.items() if k.startswith(p + "mixer.")}
        # HF's MambaRMSNormGated normalises the whole inner width, whatever n_groups is.
        h = h + mamba2_mixer(rmsnorm(h, W[p + "norm.weight"], eps), mixer, n_heads, head_dim,
                             n_groups, state_size, limit, d_inner, eps)
    h = rmsnorm(h, W["backbone.norm_f.weight"], eps)
    head = W["backbone.embeddings.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    config = {
        "architectures": ["Mamba2ForCausalLM"],
        "bos_token_id": 0,
        "chunk_size": 256,
        "conv_kernel": conv_kernel,
        "eos_token_id": 0,
        "expand": expand,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": d,
        "initializer_range": 0.1,
        "layer_norm_epsilon": eps,
        "model_type": "mamba2",
        "n_groups": n_groups,
        "num_heads": n_heads,
        "num_hidden_layers": n_layers,
        "pad_token_id": 0,
        "rescale_prenorm_residual": False,
        "residual_in_fp32": True,
        "rms_norm": True,
        "state_size": state_size,
        "tie_word_embeddings": tied,
        "time_step_floor": 0.0001,
        "time_step_max": 0.1,
        "time_step_min": 0.001,
        "time_step_rank": "auto",
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_bias": False,
        "use_cache": True,
        "use_conv_bias": True,
        "vocab_size": vocab,
    }
    # As released configs hold it: [0.0, Infinity], a bare Infinity in the JSON.
    config["time_step_limit"] = list(limit)
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def nemotron_h_case(name, seed, dtype, n_shards, d, pattern, mamba_num_heads, mamba_head_dim,
                    state_size, n_groups, conv_kernel, n_heads, n_kv, intermediate, vocab, tied,
                    eps, T, root="backbone.", legacy_keys=False, time_step_limit=None):
    """NVIDIA Nemotron-H (transformers' NemotronHForCausalLM): one block per pattern letter,
    x + mixer(norm(x)); M the Mamba-2 mixer with inner width heads·head_dim and its gated norm
    over groups of inner / n_groups; * attention without positional encoding; - up, relu², down."""
    torch.manual_seed(seed)
    d_inner = mamba_num_heads * mamba_head_dim
    head_dim = d // n_heads
    w = {root + "embeddings.weight": embedding(vocab, d)}
    for i, kind in enumerate(pattern):
        p = f"{root}layers.{i}."
        w[p + "norm.weight"] = norm_weight(d)
        if kind == "M":
            for k, v in mamba2_mixer_weights(d, d_inner, mamba_num_heads, n_groups, state_size,
                                             conv_kernel).items():
                w[p + "mixer." + k] = v
        elif kind == "*":
            w[p + "mixer.q_proj.weight"] = linear(n_heads * head_dim, d)
            w[p + "mixer.k_proj.weight"] = linear(n_kv * head_dim, d)
            w[p + "mixer.v_proj.weight"] = linear(n_kv * head_dim, d)
            w[p + "mixer.o_proj.weight"] = linear(d, n_heads * head_dim)
        else:
            assert kind == "-"
            w[p + "mixer.up_proj.weight"] = linear(intermediate, d)
            w[p + "mixer.down_proj.weight"] = linear(d, intermediate)
    w[root + "norm_f.weight"] = norm_weight(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    limit = time_step_limit if time_step_limit is not None else (0.0, math.inf)
    h = W[root + "embeddings.weight"][tokens]
    for i, kind in enumerate(pattern):
        p = f"{root}layers.{i}."
        a = rmsnorm(h, W[p + "norm.weight"], eps)
        m = {k[len(p + "mixer."):]: v for k, v in W.items() if k.startswith(p + "mixer.")}
        if kind == "M":
            out = mamba2_mixer(a, m, mamba_num_heads, mamba_head_dim, n_groups, state_size, limit,
                               d_inner // n_groups, eps)
        elif kind == "*":
            out = gqa_attention(a, m["q_proj.weight"], m["k_proj.weight"], m["v_proj.weight"],
                                m["o_proj.weight"], n_heads, n_kv, head_dim, 0, 10000.0, None)
        else:
            out = torch.relu(a @ m["up_proj.weight"].t()).pow(2) @ m["down_proj.weight"].t()
        h = h + out
    h = rmsnorm(h, W[root + "norm_f.weight"], eps)
    head = W[root + "embeddings.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    config = {
        "architectures": ["NemotronHForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "chunk_size": 128,
        "eos_token_id": 2,
        "head_dim": head_dim,
        "hidden_dropout": 0.0,
        "hidden_size": d,
        "hybrid_override_pattern": pattern,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "layer_norm_epsilon": eps,
        "mamba_head_dim": mamba_head_dim,
        "mamba_hidden_act": "silu",
        "mamba_num_heads": mamba_num_heads,
        "mamba_proj_bias": False,
        "max_position_embeddings": 8192,
        "mlp_bias": False,
        "mlp_hidden_act": "relu2",
        "model_type": "nemotron_h",
        "num_attention_heads": n_heads,
        "num_hidden_layers": len(pattern),
        "num_key_value_heads": n_kv,
        "pad_token_id": 0,
        "rescale_prenorm_residual": True,
        "residual_in_fp32": False,
        "ssm_state_size": state_size,
        "tie_word_embeddings": tied,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_bias": False,
        "use_cache": True,
    }
    # The released configs' older key names (NemotronHConfig still reads them), or the current ones.
    if legacy_keys:
        config.update({"mamba_n_groups": n_groups, "mamba_d_conv": conv_kernel,
                       "mamba_conv_bias": True, "mamba_dt_limit": list(limit)})
    else:
        config.update({"n_groups": n_groups, "conv_kernel": conv_kernel, "use_conv_bias": True,
                       "time_step_limit": list(limit)})
    config["vocab_size"] = vocab
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def fla_samba_case(name, seed, dtype, n_shards, d, n_layers, state_size, conv_kernel, expand,
                   vocab, tied, eps, T, hidden_ratio=4, attn=None):
    """fla's SambaForCausalLM (fla/models/samba): per layer x + mixer(mixer_norm(x)), then
    x + mlp(mlp_norm(x)); the mixer fla's attention at the attn dict's layers (SambaConfig's
    default dict when attn is None), else fla's Mamba (HF names, conv bias). The MLP's width comes
    from hidden_ratio only (SambaBlock does not pass intermediate_size)."""
    torch.manual_seed(seed)
    dt_rank = math.ceil(d / 16)
    d_inner = expand * d
    cfg_attn = attn
    if attn is None:  # SambaConfig's default
        attn = {"layers": [1, 3, 5, 7, 9, 11, 13, 15, 17], "num_heads": 18, "num_kv_heads": 18,
                "qkv_bias": False, "window_size": 2048, "rope_theta": 10000.0}
    attn = {"num_kv_heads": attn["num_heads"], "qkv_bias": False, "window_size": None,
            "rope_theta": 10000.0, **attn}
    heads, kv = attn["num_heads"], attn["num_kv_heads"]
    inter = int(d * hidden_ratio * 2 / 3)
    inter = 256 * ((inter + 256 - 1) // 256)
    w = {"backbone.embeddings.weight": embedding(vocab, d)}
    for i in range(n_layers):
        p = f"backbone.layers.{i}."
        w[p + "mixer_norm.weight"] = norm_weight(d)
        if i in attn["layers"]:
            hd = d // heads
            w[p + "mixer.q_proj.weight"] = linear(d, d)
            w[p + "mixer.k_proj.weight"] = linear(kv * hd, d)
            w[p + "mixer.v_proj.weight"] = linear(kv * hd, d)
            w[p + "mixer.o_proj.weight"] = linear(d, d)
        else:
            for k, v in mamba_mixer_weights(d, state_size, conv_kernel, expand, dt_rank).items():
                w[p + "mixer." + k] = v
        w[p + "mlp_norm.weight"] = norm_weight(d)
        w[p + "mlp.gate_proj.weight"] = linear(inter, d)
        w[p + "mlp.up_proj.weight"] = linear(inter, d)
        w[p + "mlp.down_proj.weight"] = linear(d, inter)
    w["backbone.norm_f.weight"] = norm_weight(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    h = W["backbone.embeddings.weight"][tokens]
    for i in range(n_layers):
        p = f"backbone.layers.{i}."
        a = rmsnorm(h, W[p + "mixer_norm.weight"], eps)
        m = {k[len(p + "mixer."):]: v for k, v in W.items() if k.startswith(p + "mixer.")}
        if i in attn["layers"]:
            hd = d // heads
            h = h + gqa_attention(a, m["q_proj.weight"], m["k_proj.weight"], m["v_proj.weight"],
                                  m["o_proj.weight"], heads, kv, hd, hd, attn["rope_theta"],
                                  attn["window_size"])
        else:
            h = h + mamba_mixer(a, m, state_size, dt_rank)
        mm = rmsnorm(h, W[p + "mlp_norm.weight"], eps)
        h = h + swiglu(mm, W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"],
                       W[p + "mlp.down_proj.weight"])
    h = rmsnorm(h, W["backbone.norm_f.weight"], eps)
    head = W["backbone.embeddings.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    config = {
        "architectures": ["SambaForCausalLM"],
        "bos_token_id": 1,
        "conv_kernel": conv_kernel,
        "eos_token_id": 2,
        "expand": expand,
        "fuse_cross_entropy": True,
        "fuse_norm": True,
        "fuse_swiglu": True,
        "hidden_act": "swish",
        "hidden_ratio": hidden_ratio,
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": d_inner,
        "max_position_embeddings": 2048,
        "model_type": "samba",
        "norm_eps": eps,
        "num_hidden_layers": n_layers,
        "pad_token_id": 0,
        "rescale_prenorm_residual": False,
        "residual_in_fp32": False,
        "state_size": state_size,
        "tie_word_embeddings": tied,
        "time_step_floor": 0.0001,
        "time_step_init_scheme": "random",
        "time_step_max": 0.1,
        "time_step_min": 0.001,
        "time_step_rank": dt_rank,
        "time_step_scale": 1.0,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_bias": False,
        "use_cache": True,
        "use_conv_bias": True,
        "vocab_size": vocab,
    }
    if cfg_attn is not None:
        config["attn"] = attn
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def fla_case(name, seed, family, dtype, n_shards, d, n_layers, num_heads, num_kv_heads, expand_k,
             expand_v, vocab, tied, eps, T, intermediate_size=None, hidden_ratio=4,
             use_short_conv=False, conv_size=4, use_output_gate=True, clamp_min=None,
             fuse_norm=True, attn=None):
    """fla's GLAForCausalLM (family "gla") or RetNetForCausalLM ("retnet")."""
    torch.manual_seed(seed)
    gla = family == "gla"
    if gla:
        key_dim, value_dim = int(d * expand_k), int(d * expand_v)
    else:
        key_dim, value_dim = round(d * expand_k), round(d * expand_v)
        assert not use_short_conv and clamp_min is None
    head_k, head_v = key_dim // num_heads, value_dim // num_heads
    kv = num_kv_heads or num_heads
    kvk, kvv = kv * head_k, kv * head_v
    if intermediate_size is None:  # fla's GatedMLP default
        inter = int(d * hidden_ratio * 2 / 3)
        inter = 256 * ((inter + 256 - 1) // 256)
    else:
        inter = intermediate_size
    attn_layers = set(attn["layers"]) if attn else set()
    attn_heads = attn["num_heads"] if attn else 0
    attn_kv = attn.get("num_kv_heads", attn_heads) if attn else 0
    norm_name = "g_norm_swish_gate.weight" if (use_output_gate and fuse_norm) else "g_norm.weight"
    w = {"model.embeddings.weight": embedding(vocab, d)}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        w[p + "attn_norm.weight"] = norm_weight(d)
        if i in attn_layers:
            hd = d // attn_heads
            w[p + "attn.q_proj.weight"] = linear(d, d)
            w[p + "attn.k_proj.weight"] = linear(attn_kv * hd, d)
            w[p + "attn.v_proj.weight"] = linear(attn_kv * hd, d)
            w[p + "attn.o_proj.weight"] = linear(d, d)
        else:
            w[p + "attn.q_proj.weight"] = linear(key_dim, d)
            w[p + "attn.k_proj.weight"] = linear(kvk, d)
            w[p + "attn.v_proj.weight"] = linear(kvv, d)
            if use_output_gate:
                w[p + "attn.g_proj.weight"] = linear(value_dim, d)
            if use_short_conv:
                bound = 1.0 / math.sqrt(conv_size)
                for n, rows in (("q", key_dim), ("k", kvk), ("v", kvv)):
                    w[p + f"attn.{n}_conv1d.weight"] = \
                        torch.empty(rows, 1, conv_size).uniform_(-bound, bound)
            if gla:
                w[p + "attn.gk_proj.0.weight"] = linear(16, d)
                gk1 = torch.nn.Linear(16, kvk)
                w[p + "attn.gk_proj.1.weight"] = gk1.weight.detach().clone()
                w[p + "attn.gk_proj.1.bias"] = gk1.bias.detach().clone()
            w[p + "attn.o_proj.weight"] = linear(d, value_dim)
            w[p + "attn." + norm_name] = norm_weight(head_v)
        w[p + "mlp_norm.weight"] = norm_weight(d)
        w[p + "mlp.gate_proj.weight"] = linear(inter, d)
        w[p + "mlp.up_proj.weight"] = linear(inter, d)
        w[p + "mlp.down_proj.weight"] = linear(d, inter)
    w["model.norm.weight"] = norm_weight(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    h = W["model.embeddings.weight"][tokens]
    for i in range(n_layers):
        p = f"model.layers.{i}."
        a = rmsnorm(h, W[p + "attn_norm.weight"], eps)
        mixer = {k[len(p + "attn."):]: v for k, v in W.items() if k.startswith(p + "attn.")}
        if i in attn_layers:  # fla/layers/attn.py: RoPE over the whole head, flash-attn window
            hd = d // attn_heads
            h = h + gqa_attention(a, mixer["q_proj.weight"], mixer["k_proj.weight"],
                                  mixer["v_proj.weight"], mixer["o_proj.weight"], attn_heads,
                                  attn_kv, hd, hd, attn.get("rope_theta", 10000.0),
                                  attn.get("window_size"))
        elif gla:
            h = h + gla_mixer(a, mixer, num_heads, kv, head_k, head_v, use_short_conv,
                              use_output_gate, clamp_min, eps, norm_name)
        else:
            h = h + retention_mixer(a, mixer, num_heads, kv, head_k, head_v, use_output_gate, eps,
                                    norm_name)
        m = rmsnorm(h, W[p + "mlp_norm.weight"], eps)
        h = h + swiglu(m, W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"],
                       W[p + "mlp.down_proj.weight"])
    h = rmsnorm(h, W["model.norm.weight"], eps)
    head = W["model.embeddings.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    if attn is not None:  # as GLAConfig.__init__ completes it before saving
        attn = {"num_kv_heads": attn_heads, "qkv_bias": False, "window_size": None,
                "rope_theta": 10000.0, **attn}
    config = {
        "architectures": ["GLAForCausalLM" if gla else "RetNetForCausalLM"],
        "attn": attn,
        "attn_mode": "chunk",
        "bos_token_id": 1,
        "conv_size": conv_size,
        "elementwise_affine": True,
        "eos_token_id": 2,
        "expand_k": expand_k,
        "expand_v": expand_v,
        "feature_map": None,
        "fuse_cross_entropy": True,
        "fuse_norm": fuse_norm,
        "fuse_swiglu": True,
        "hidden_act": "swish",
        "hidden_ratio": hidden_ratio,
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "max_position_embeddings": 2048,
        "model_type": family,
        "norm_eps": eps,
        "num_heads": num_heads,
        "num_hidden_layers": n_layers,
        "num_kv_heads": num_kv_heads,
        "tie_word_embeddings": tied,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "use_output_gate": use_output_gate,
        "use_short_conv": use_short_conv,
        "vocab_size": vocab,
    }
    if gla:
        config.update({"clamp_min": clamp_min, "use_gk": True, "use_gv": False})
    else:
        config.update({"fuse_linear_cross_entropy": False, "use_l2warp": False})
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def gelu_tanh(x):
    """GeLU, tanh approximation (HF's "gelu_pytorch_tanh"); checked against torch's."""
    out = 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))
    assert torch.allclose(out, F.gelu(x, approximate="tanh"), rtol=1e-12, atol=1e-12)
    return out


def gemma_rmsnorm(x, weight, eps):
    """Gemma's RMSNorm: the normalised x times (1 + weight)."""
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + weight)


def rg_lru(x, w, n_heads):
    """RecurrentGemmaRglru from position 0. x [T, width] (after the conv). Per block h of the
    width: input gate i and recurrence gate r from x's block times [bw, bw] matrices; log a =
    −8 · r · softplus(Λ); h_t = a_t h_{t−1} + √(1 − a_t²) · i_t · x_t, with a = 0 and the
    multiplier 1 at position 0 (the reset)."""
    T, width = x.shape
    bw = width // n_heads
    xb = x.view(T, n_heads, bw)
    gi = torch.sigmoid(torch.einsum("thk,hkj->thj", xb, w["rg_lru.input_gate_weight"])
                       + w["rg_lru.input_gate_bias"]).reshape(T, width)
    gr = torch.sigmoid(torch.einsum("thk,hkj->thj", xb, w["rg_lru.recurrent_gate_weight"])
                       + w["rg_lru.recurrent_gate_bias"]).reshape(T, width)
    log_a = -8.0 * gr * softplus(w["rg_lru.recurrent_param"])
    a = torch.exp(log_a)
    mult = torch.sqrt(1.0 - torch.exp(2.0 * log_a))
    mult[0] = 1.0
    normed = x * gi * mult
    h = torch.zeros(width, dtype=x.dtype)
    out = torch.empty_like(x)
    for t in range(T):
        h = (a[t] if t > 0 else 0.0) * h + normed[t]
        out[t] = h
    return out


def recurrent_gemma_case(name, seed, dtype, n_shards, d, n_layers, block_types, n_heads, n_kv,
                         lru_width, conv_width, intermediate, window, soft_cap, vocab, tied, eps,
                         T, nested_rope=False):
    """RecurrentGemmaForCausalLM: embeddings times bf16(√d); per layer x + temporal(norm(x)), then
    x + MLP(norm(x)), Gemma norms (1 + w); temporal "recurrent" (linear_y → GeLU gate; linear_x →
    causal conv → RG-LRU; their product → linear_out) or "attention" (MQA/GQA, RoPE on the first
    half of each head, o_proj with bias, the window of W + 1 keys); the MLP GeGLU with biases,
    intermediate_size / 2 wide; the final norm; the head (tied unless given); the soft cap."""
    torch.manual_seed(seed)
    head_dim = d // n_heads
    f = intermediate // 2
    bw = lru_width // n_heads
    kinds = (block_types * 100)[:n_layers]

    def bias(n):
        return torch.empty(n, dtype=torch.float32).uniform_(-0.3, 0.3)

    w = {"model.embed_tokens.weight": embedding(vocab, d)}
    for i, kind in enumerate(kinds):
        p = f"model.layers.{i}."
        w[p + "temporal_pre_norm.weight"] = 0.1 * torch.randn(d, dtype=torch.float32)
        t = p + "temporal_block."
        if kind == "recurrent":
            w[t + "linear_y.weight"] = linear(lru_width, d)
            w[t + "linear_y.bias"] = bias(lru_width)
            w[t + "linear_x.weight"] = linear(lru_width, d)
            w[t + "linear_x.bias"] = bias(lru_width)
            w[t + "linear_out.weight"] = linear(d, lru_width)
            w[t + "linear_out.bias"] = bias(d)
            w[t + "conv_1d.weight"] = linear(lru_width, conv_width).unsqueeze(1)
            w[t + "conv_1d.bias"] = bias(lru_width)
            bound = 1.0 / math.sqrt(bw)
            for g in ("input_gate", "recurrent_gate"):
                w[t + f"rg_lru.{g}_weight"] = torch.empty(n_heads, bw, bw).uniform_(-bound, bound)
                w[t + f"rg_lru.{g}_bias"] = torch.empty(n_heads, bw).uniform_(-bound, bound)
            # RecurrentGemma's initialisation of Λ: a² (at r = 1, c = 1) uniform in [0.81, 0.998]
            u = torch.empty(lru_width, dtype=torch.float32).uniform_(0.81, 0.998)
            w[t + "rg_lru.recurrent_param"] = torch.log(torch.exp(-0.5 * torch.log(u)) - 1.0)
        else:
            w[t + "q_proj.weight"] = linear(n_heads * head_dim, d)
            w[t + "k_proj.weight"] = linear(n_kv * head_dim, d)
            w[t + "v_proj.weight"] = linear(n_kv * head_dim, d)
            w[t + "o_proj.weight"] = linear(d, n_heads * head_dim)
            w[t + "o_proj.bias"] = bias(d)
        w[p + "channel_pre_norm.weight"] = 0.1 * torch.randn(d, dtype=torch.float32)
        m = p + "mlp_block."
        w[m + "gate_proj.weight"] = linear(f, d)
        w[m + "gate_proj.bias"] = bias(f)
        w[m + "up_proj.weight"] = linear(f, d)
        w[m + "up_proj.bias"] = bias(f)
        w[m + "down_proj.weight"] = linear(d, f)
        w[m + "down_proj.bias"] = bias(d)
    w["model.final_norm.weight"] = 0.1 * torch.randn(d, dtype=torch.float32)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    normalizer = torch.tensor(d ** 0.5, dtype=torch.bfloat16).double()
    h = W["model.embed_tokens.weight"][tokens] * normalizer
    for i, kind in enumerate(kinds):
        p = f"model.layers.{i}."
        a = gemma_rmsnorm(h, W[p + "temporal_pre_norm.weight"], eps)
        t = {k[len(p + "temporal_block."):]: v for k, v in W.items()
             if k.startswith(p + "temporal_block.")}
        if kind == "recurrent":
            y = gelu_tanh(a @ t["linear_y.weight"].t() + t["linear_y.bias"])
            x = a @ t["linear_x.weight"].t() + t["linear_x.bias"]
            x = causal_depthwise_conv(x, t["conv_1d.weight"][:, 0, :], t["conv_1d.bias"])
            out = (rg_lru(x, t, n_heads) * y) @ t["linear_out.weight"].t() + t["linear_out.bias"]
        else:
            out = gqa_attention(a, t["q_proj.weight"], t["k_proj.weight"], t["v_proj.weight"],
                                t["o_proj.weight"], n_heads, n_kv, head_dim, head_dim // 2,
                                10000.0, window + 1) + t["o_proj.bias"]
        h = h + out
        m = gemma_rmsnorm(h, W[p + "channel_pre_norm.weight"], eps)
        mp = p + "mlp_block."
        g = gelu_tanh(m @ W[mp + "gate_proj.weight"].t() + W[mp + "gate_proj.bias"])
        u = m @ W[mp + "up_proj.weight"].t() + W[mp + "up_proj.bias"]
        h = h + (g * u) @ W[mp + "down_proj.weight"].t() + W[mp + "down_proj.bias"]
    h = gemma_rmsnorm(h, W["model.final_norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()
    capped = torch.tanh(logits / soft_cap) * soft_cap
    # The cap must do something here, or it is not tested.
    assert (capped - logits).abs().max() > 0.05 * logits.abs().max(), f"{name}: cap is idle"

    config = {
        "architectures": ["RecurrentGemmaForCausalLM"],
        "attention_bias": False,
        "attention_window_size": window,
        "block_types": block_types,
        "bos_token_id": 2,
        "conv1d_width": conv_width,
        "embeddings_scale_by_sqrt_dim": True,
        "eos_token_id": 1,
        "final_w_init_variance_scale": 2.0 / n_layers,
        "head_dim": head_dim,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": d,
        "intermediate_size": intermediate,
        "logits_soft_cap": soft_cap,
        "lru_width": lru_width,
        "model_type": "recurrent_gemma",
        "num_attention_heads": n_heads,
        "num_hidden_layers": n_layers,
        "num_key_value_heads": n_kv,
        "pad_token_id": 0,
        "rms_norm_eps": eps,
        "tie_word_embeddings": tied,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": vocab,
        "w_init_variance_scale": 0.01,
    }
    # transformers' newer configs nest the RoPE keys.
    rope = {"rope_theta": 10000.0, "partial_rotary_factor": 0.5}
    if nested_rope:
        config["rope_parameters"] = dict(rope, rope_type="default")
    else:
        config.update(rope)
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, capped)


def llama_case(name, seed, family, dtype, n_shards, d, n_layers, n_heads, n_kv, head_dim,
               write_head_dim, intermediate, vocab, tied, eps, rope_theta, T,
               sliding_window=None):
    torch.manual_seed(seed)
    assert write_head_dim or head_dim == d // n_heads
    w = {"model.embed_tokens.weight": embedding(vocab, d)}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "self_attn.q_proj.weight"] = linear(n_heads * head_dim, d)
        w[p + "self_attn.k_proj.weight"] = linear(n_kv * head_dim, d)
        w[p + "self_attn.v_proj.weight"] = linear(n_kv * head_dim, d)
        w[p + "self_attn.o_proj.weight"] = linear(d, n_heads * head_dim)
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        w[p + "mlp.gate_proj.weight"] = linear(intermediate, d)
        w[p + "mlp.up_proj.weight"] = linear(intermediate, d)
        w[p + "mlp.down_proj.weight"] = linear(d, intermediate)
    w["model.norm.weight"] = norm_weight(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    h = W["model.embed_tokens.weight"][tokens]
    for i in range(n_layers):
        p = f"model.layers.{i}."
        a = rmsnorm(h, W[p + "input_layernorm.weight"], eps)
        h = h + gqa_attention(a, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.k_proj.weight"],
                              W[p + "self_attn.v_proj.weight"], W[p + "self_attn.o_proj.weight"],
                              n_heads, n_kv, head_dim, head_dim, rope_theta, sliding_window)
        m = rmsnorm(h, W[p + "post_attention_layernorm.weight"], eps)
        h = h + swiglu(m, W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"],
                       W[p + "mlp.down_proj.weight"])
    h = rmsnorm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    config = {
        "architectures": ["LlamaForCausalLM" if family == "llama" else "MistralForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": 4096 if family == "llama" else 32768,
        "model_type": family,
        "num_attention_heads": n_heads,
        "num_hidden_layers": n_layers,
        "num_key_value_heads": n_kv,
        "rms_norm_eps": eps,
        "rope_theta": rope_theta,
        "tie_word_embeddings": tied,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": vocab,
    }
    if family == "llama":
        config.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1,
                       "rope_scaling": None})
    else:
        assert sliding_window is not None
        config["sliding_window"] = sliding_window
    if write_head_dim:
        config["head_dim"] = head_dim
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def samba_case(name, seed, dtype, n_shards, n_embd, n_layer, n_head, n_query_groups,
               intermediate, vocab, padded_vocab, local_window, rotary_percentage, rope_base,
               d_state, d_conv, expand, tied, eps, T, mb_per_layer=2, attn_layer_pos=None,
               mlp=True):
    torch.manual_seed(seed)

    def use_mamba(i):  # lit_gpt/model.py, Block.__init__
        if attn_layer_pos is not None:
            return i not in eval(attn_layer_pos)
        return i % mb_per_layer == 0 if mb_per_layer > 0 else False

    head_size = n_embd // n_head  # lit-gpt: head_size = n_embd // n_head, proj is [d, d]
    rotary_dims = int(rotary_percentage * head_size)
    assert rotary_dims % 2 == 0
    dt_rank = math.ceil(n_embd / 16)
    w = {"transformer.wte.weight": embedding(padded_vocab, n_embd)}
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        w[p + "norm_1.weight"] = norm_weight(n_embd)
        if use_mamba(i):
            for k, v in mamba_mixer_weights(n_embd, d_state, d_conv, expand, dt_rank).items():
                w[p + "attn." + k] = v
        else:
            w[p + "attn.attn.weight"] = linear((n_head + 2 * n_query_groups) * head_size, n_embd)
            w[p + "attn.proj.weight"] = linear(n_embd, n_head * head_size)
        if mlp:
            w[p + "norm_2.weight"] = norm_weight(n_embd)
            w[p + "mlp.swiglu.w1.weight"] = linear(intermediate, n_embd)
            w[p + "mlp.swiglu.w2.weight"] = linear(intermediate, n_embd)
            w[p + "mlp.swiglu.w3.weight"] = linear(n_embd, intermediate)
    w["transformer.ln_f.weight"] = norm_weight(n_embd)
    if not tied:
        w["lm_head.weight"] = linear(padded_vocab, n_embd)
    tokens = prompt_tokens(T, vocab)
    stored = to_storage(w, dtype)
    W = {k: v.double() for k, v in stored.items()}

    x = W["transformer.wte.weight"][tokens]
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        a = rmsnorm(x, W[p + "norm_1.weight"], eps)
        if use_mamba(i):
            mixer = {k[len(p + "attn."):]: v for k, v in W.items() if k.startswith(p + "attn.")}
            x = x + mamba_mixer(a, mixer, d_state, dt_rank)
        else:
            wq, wk, wv = split_lit_qkv(W[p + "attn.attn.weight"], n_head, n_query_groups,
                                       head_size)
            x = x + gqa_attention(a, wq, wk, wv, W[p + "attn.proj.weight"], n_head,
                                  n_query_groups, head_size, rotary_dims, rope_base, local_window)
        if mlp:
            m = rmsnorm(x, W[p + "norm_2.weight"], eps)
            # xformers SwiGLU: w3(silu(w1 x) ⊙ w2 x)
            x = x + swiglu(m, W[p + "mlp.swiglu.w1.weight"], W[p + "mlp.swiglu.w2.weight"],
                           W[p + "mlp.swiglu.w3.weight"])
    x = rmsnorm(x, W["transformer.ln_f.weight"], eps)
    head = W["transformer.wte.weight"] if tied else W["lm_head.weight"]
    logits = x @ head.t()

    config = {
        "model_type": "samba",
        "name": "Samba_tiny",
        "vocab_size": vocab,
        "padded_vocab_size": padded_vocab,
        "padding_multiple": 16,
        "block_size": 4096,
        "n_layer": n_layer,
        "mb_per_layer": mb_per_layer,
        "n_embd": n_embd,
        "n_head": n_head,
        "n_query_groups": n_query_groups,
        "head_size": head_size,
        "intermediate_size": intermediate,
        "local_window": local_window,
        "rope_base": rope_base,
        "rotary_percentage": rotary_percentage,
        "norm_eps": eps,
        "mamba_d_state": d_state,
        "mamba_d_conv": d_conv,
        "mamba_expand": expand,
        "tie_word_embeddings": tied,
        "bias": False,
        "parallel_residual": False,
        "_norm_class": "FusedRMSNorm",
        "_mlp_class": "LLaMAMLP",
    }
    if attn_layer_pos is not None:
        config["attn_layer_pos"] = attn_layer_pos
    if not mlp:
        config["mlp"] = False
    assert padded_vocab > vocab and padded_vocab % config["padding_multiple"] == 0
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


# --- cases ------------------------------------------------------------------------------------


def layer_norm(x, weight, bias, eps):
    """nn.LayerNorm over the last dim (biased variance); checked against torch's."""
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)
    out = (x - mean) / torch.sqrt(var + eps) * weight + bias
    check = F.layer_norm(x, (x.shape[-1],), weight, bias, eps)
    assert torch.allclose(out, check, rtol=1e-12, atol=1e-12), "layer norm: two forms disagree"
    return out


def phi4flash_kinds(n_layers, mb_per_layer):
    """The published layer rules (SambaYDecoderLayer / Phi4FlashDecoderLayer): Mamba where
    i % mb_per_layer == 0; from N/2 on the Mamba layer yields the memory; from N/2 + 2 on, Mamba
    layers are GMUs and attention layers cross-attention; attention below N/2 at odd i has the
    sliding window; attention from N/2 + 1 on has none."""
    kinds = []
    for i in range(n_layers):
        mamba = mb_per_layer > 0 and i % mb_per_layer == 0
        cross = i >= n_layers // 2 + 2
        if mamba:
            kinds.append("gmu" if cross else "memory" if i >= n_layers // 2 else "mamba")
        else:
            kinds.append("cross" if cross else "full" if i >= n_layers // 2 + 1
                         else "sliding" if i % 2 == 1 else "full")
    return kinds


def diff_attention(x, w, n_heads, n_kv, head_dim, layer_idx, window, shared_kv=None):
    """Phi-4-mini-flash's differential attention as its remote code computes it: heads split by
    parity (q1 = even heads, q2 = odd ones; likewise k and v), four ordinary softmax attentions
    (q1·k1 and q2·k2, each applied to v1 and to v2; FlashAttention's default scale 1/√head_dim),
    attn_i = [A_i v1 ‖ A_i v2], λ = exp(Σ λq1 λk1) − exp(Σ λq2 λk2) + λ_init,
    RMSNorm(attn1 − λ attn2) · subln · (1 − λ_init), pairs back to heads in order, out_proj.
    No positional encoding. shared_kv: (k, v) of the shared layer (cross-attention, q only).
    Returns the output and this layer's (k, v)."""
    T = x.shape[0]
    qkv = x @ w["Wqkv.weight"].t() + w["Wqkv.bias"]
    q_dim, kv_dim = n_heads * head_dim, n_kv * head_dim
    if shared_kv is None:
        q, k, v = torch.split(qkv, [q_dim, kv_dim, kv_dim], dim=-1)
    else:
        assert qkv.shape[1] == q_dim
        q, (k, v) = qkv, shared_kv
    qh, kh, vh = q.view(T, n_heads, head_dim), k.view(T, n_kv, head_dim), v.view(T, n_kv, head_dim)
    q1, q2 = qh[:, 0::2], qh[:, 1::2]
    k1, k2 = kh[:, 0::2], kh[:, 1::2]
    v1, v2 = vh[:, 0::2], vh[:, 1::2]
    pairs = n_heads // 2

    def attend(qq, kk, vv):
        return attention_core(qq, kk, vv, window).view(T, pairs, head_dim)

    attn1 = torch.cat((attend(q1, k1, v1), attend(q1, k1, v2)), dim=-1)  # [T, pairs, 2·hd]
    attn2 = torch.cat((attend(q2, k2, v1), attend(q2, k2, v2)), dim=-1)
    lambda_init = 0.8 - 0.6 * math.exp(-0.3 * layer_idx)
    lambda_full = torch.exp(torch.sum(w["inner_cross_attn.lambda_q1"] * w["inner_cross_attn.lambda_k1"])) \
        - torch.exp(torch.sum(w["inner_cross_attn.lambda_q2"] * w["inner_cross_attn.lambda_k2"])) \
        + lambda_init
    attn = rmsnorm(attn1 - lambda_full * attn2, w["inner_cross_attn.subln.weight"], 1e-5)
    attn = attn * (1.0 - lambda_init)
    out = attn.reshape(T, q_dim) @ w["out_proj.weight"].t() + w["out_proj.bias"]
    return out, (k, v)


def diff_attention_weights(d, n_heads, n_kv, head_dim, cross):
    rows = n_heads * head_dim + (0 if cross else 2 * n_kv * head_dim)
    w = {"Wqkv.weight": linear(rows, d), "Wqkv.bias": 0.1 * torch.randn(rows),
         "out_proj.weight": linear(d, n_heads * head_dim), "out_proj.bias": 0.1 * torch.randn(d)}
    for name in ("lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2"):
        w["inner_cross_attn." + name] = 0.3 * torch.randn(head_dim)
    w["inner_cross_attn.subln.weight"] = norm_weight(2 * head_dim)
    return w


def phi4flash_case(name, seed, dtype, n_shards, d, n_layers, n_heads, n_kv, intermediate, window,
                   vocab, tied, eps, T, mamba=None, window_as_list=False):
    """mamba: None (the config leaves the mamba_* keys out: the config class's defaults), or
    (d_state, d_conv, expand, dt_rank) written into the config."""
    torch.manual_seed(seed)
    head_dim = d // n_heads
    d_state, d_conv, expand, dt_rank = mamba or (16, 4, 2, math.ceil(d / 16))
    d_inner = expand * d
    kinds = phi4flash_kinds(n_layers, 2)
    w = {"model.embed_tokens.weight": embedding(vocab, d)}
    for i, kind in enumerate(kinds):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm_weight(d)
        w[p + "input_layernorm.bias"] = 0.1 * torch.randn(d)
        if kind in ("mamba", "memory"):
            mixer = mamba_mixer_weights(d, d_state, d_conv, expand, dt_rank)
        elif kind == "gmu":
            mixer = {"in_proj.weight": linear(d_inner, d), "out_proj.weight": linear(d, d_inner)}
        else:
            mixer = diff_attention_weights(d, n_heads, n_kv, head_dim, kind == "cross")
        for k, v in mixer.items():
            w[p + "attn." + k] = v
        w[p + "post_attention_layernorm.weight"] = norm_weight(d)
        w[p + "post_attention_layernorm.bias"] = 0.1 * torch.randn(d)
        w[p + "mlp.fc1.weight"] = linear(2 * intermediate, d)
        w[p + "mlp.fc2.weight"] = linear(d, intermediate)
    w["model.final_layernorm.weight"] = norm_weight(d)
    w["model.final_layernorm.bias"] = 0.1 * torch.randn(d)
    if not tied:
        w["lm_head.weight"] = linear(vocab, d)
    tokens = prompt_tokens(T, vocab)
    # As the released checkpoint: A_log and the λ vectors stay float32 in a bf16 checkpoint.
    stored = {k: (v.contiguous() if k.endswith(("A_log", "lambda_q1", "lambda_k1", "lambda_q2",
                                                 "lambda_k2")) else
                  v.to(TORCH_DTYPES[dtype]).contiguous()) for k, v in w.items()}
    W = {k: v.double() for k, v in stored.items()}

    h = W["model.embed_tokens.weight"][tokens]
    memory, shared_kv = None, None
    for i, kind in enumerate(kinds):
        p = f"model.layers.{i}."
        mixer = {k[len(p + "attn."):]: v for k, v in W.items() if k.startswith(p + "attn.")}
        x = layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
        if kind in ("mamba", "memory"):
            ys = []
            a = mamba_mixer(x, mixer, d_state, dt_rank, memory=ys)
            if kind == "memory":
                memory = ys[0]
        elif kind == "gmu":
            a = (silu(x @ mixer["in_proj.weight"].t()) * memory) @ mixer["out_proj.weight"].t()
        elif kind == "cross":
            a, _ = diff_attention(x, mixer, n_heads, n_kv, head_dim, i, None, shared_kv)
        else:
            a, kv = diff_attention(x, mixer, n_heads, n_kv, head_dim, i,
                                   window if kind == "sliding" else None)
            shared_kv = kv  # the last self-attention layer's (layer N/2 + 1) is what cross reads
        h = h + a
        fc1 = W[p + "mlp.fc1.weight"]
        gate, up = fc1[:intermediate], fc1[intermediate:]
        h = h + swiglu(layer_norm(h, W[p + "post_attention_layernorm.weight"],
                                  W[p + "post_attention_layernorm.bias"], eps),
                       gate, up, W[p + "mlp.fc2.weight"])
    h = layer_norm(h, W["model.final_layernorm.weight"], W["model.final_layernorm.bias"], eps)
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    logits = h @ head.t()

    config = {
        "_attn_implementation": "flash_attention_2",
        "architectures": ["Phi4FlashForCausalLM"],
        "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_phi4flash.Phi4FlashConfig",
                     "AutoModelForCausalLM": "modeling_phi4flash.Phi4FlashForCausalLM"},
        "bos_token_id": vocab - 1,
        "embd_pdrop": 0.0,
        "eos_token_id": vocab - 1,
        "hidden_act": "silu",
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "layer_norm_eps": eps,
        "lm_head_bias": False,
        "max_position_embeddings": 262144,
        "mb_per_layer": 2,
        "mlp_bias": False,
        "model_type": "phi4flash",
        "num_attention_heads": n_heads,
        "num_hidden_layers": n_layers,
        "num_key_value_heads": n_kv,
        "pad_token_id": vocab - 1,
        "resid_pdrop": 0.0,
        "rope_theta": 10000.0,
        "sliding_window": ([window if k == "sliding" else None for k in kinds] if window_as_list
                           else window),
        "tie_word_embeddings": tied,
        "torch_dtype": CONFIG_DTYPES[dtype],
        "transformers_version": "4.46.1",
        "use_cache": True,
        "vocab_size": vocab,
    }
    if mamba is not None:
        config.update({"mamba_d_state": d_state, "mamba_d_conv": d_conv,
                       "mamba_expand": expand, "mamba_dt_rank": dt_rank})
    write_case(name, config, stored, list(w), dtype, n_shards, tokens, logits)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # the same float64 sums on every run
    DATA_DIR.mkdir(parents=True, exist_ok=True)

    mamba_case("mamba_f32", 2001, "F32", 1, d=24, n_layers=3, state_size=16, expand=2,
               conv_kernel=4, time_step_rank="auto", vocab=80, tied=False, eps=1e-5, T=44)
    mamba_case("mamba_bf16", 2002, "BF16", 1, d=16, n_layers=2, state_size=8, expand=2,
               conv_kernel=4, time_step_rank=3, vocab=72, tied=True, eps=1e-5, T=40)
    mamba_case("mamba_f16_sharded", 2003, "F16", 2, d=20, n_layers=3, state_size=12, expand=2,
               conv_kernel=3, time_step_rank=2, vocab=64, tied=False, eps=1e-6, T=46)

    # Prompts past the CPU's 64-step recurrence chunk; n_groups 1, 2 and 4; HF's default time
    # step limit [0, ∞) and a finite one that clamps.
    mamba2_case("mamba2_f32", 2401, "F32", 1, d=16, n_layers=3, state_size=8, expand=2,
                conv_kernel=4, head_dim=8, n_groups=2, vocab=80, tied=False, eps=1e-5, T=72)
    mamba2_case("mamba2_bf16_tied", 2402, "BF16", 1, d=16, n_layers=2, state_size=16, expand=2,
                conv_kernel=4, head_dim=4, n_groups=4, vocab=64, tied=True, eps=1e-5, T=70,
                time_step_limit=(0.0, 0.05))
    mamba2_case("mamba2_f16_sharded", 2403, "F16", 2, d=24, n_layers=2, state_size=8, expand=2,
                conv_kernel=3, head_dim=12, n_groups=1, vocab=72, tied=False, eps=1e-6, T=68,
                time_step_limit=(0.002, math.inf))

    # fla's GLA: Sliding GLA (sliding-window attention at layer 1, as the attn dict gives it),
    # shared kv heads with the short conv and the default MLP width, and full attention with no
    # output gate and a clamped decay; prompts past the 64-step chunk and the window.
    fla_case("gla_f32", 2501, "gla", "F32", 1, d=16, n_layers=3, num_heads=2, num_kv_heads=None,
             expand_k=0.5, expand_v=1, vocab=80, tied=False, eps=1e-6, T=72,
             intermediate_size=24, fuse_norm=False,
             attn={"layers": [1], "num_heads": 4, "num_kv_heads": 2, "window_size": 6})
    fla_case("gla_bf16_tied", 2502, "gla", "BF16", 1, d=16, n_layers=2, num_heads=4, num_kv_heads=2,
             expand_k=1, expand_v=1, vocab=64, tied=True, eps=1e-6, T=70, use_short_conv=True)
    fla_case("gla_f16_sharded", 2503, "gla", "F16", 2, d=24, n_layers=3, num_heads=3, num_kv_heads=None,
             expand_k=0.5, expand_v=1, vocab=72, tied=False, eps=1e-5, T=66,
             intermediate_size=32, use_output_gate=False, clamp_min=-0.05,
             attn={"layers": [0, 2], "num_heads": 4, "rope_theta": 500.0})

    # fla's RetNet: Sliding RetNet (sliding-window attention at layer 1), shared kv heads with
    # the default MLP width (hidden_ratio 2), no output gate with full attention.
    fla_case("retnet_f32", 2601, "retnet", "F32", 1, d=16, n_layers=3, num_heads=2,
             num_kv_heads=None, expand_k=1, expand_v=2, vocab=80, tied=False, eps=1e-6, T=72,
             intermediate_size=24, attn={"layers": [1], "num_heads": 4, "window_size": 5})
    fla_case("retnet_bf16_tied", 2602, "retnet", "BF16", 1, d=16, n_layers=2, num_heads=4,
             num_kv_heads=2, expand_k=1, expand_v=1, vocab=64, tied=True, eps=1e-6, T=70,
             hidden_ratio=2, fuse_norm=False)
    fla_case("retnet_f16_sharded", 2603, "retnet", "F16", 2, d=24, n_layers=3, num_heads=3,
             num_kv_heads=None, expand_k=0.5, expand_v=1, vocab=72, tied=False, eps=1e-5, T=66,
             intermediate_size=32, use_output_gate=False,
             attn={"layers": [0], "num_heads": 4, "num_kv_heads": 1, "rope_theta": 500.0})

    # NVIDIA Nemotron-H: M / - / * in a published kind of order, groups of the gated norm per
    # n_groups, attention without RoPE, relu² MLPs; backbone.* and model.* tensor names, the
    # released configs' older key names, a tied head.
    nemotron_h_case("nemotron_h_f32", 2701, "F32", 1, d=16, pattern="M-M*-M", mamba_num_heads=4,
                    mamba_head_dim=8, state_size=8, n_groups=2, conv_kernel=4, n_heads=4, n_kv=2,
                    intermediate=24, vocab=80, tied=False, eps=1e-5, T=72)
    nemotron_h_case("nemotron_h_bf16_tied", 2702, "BF16", 1, d=16, pattern="M*-M-", mamba_num_heads=8,
                    mamba_head_dim=4, state_size=8, n_groups=4, conv_kernel=4, n_heads=2, n_kv=1,
                    intermediate=32, vocab=64, tied=True, eps=1e-5, T=70, root="model.",
                    time_step_limit=(0.0, 0.05))
    nemotron_h_case("nemotron_h_f16_sharded", 2703, "F16", 2, d=24, pattern="*M-M", mamba_num_heads=3,
                    mamba_head_dim=12, state_size=8, n_groups=1, conv_kernel=3, n_heads=4, n_kv=4,
                    intermediate=40, vocab=72, tied=False, eps=1e-6, T=66, legacy_keys=True)

    # fla's Samba (flame's configs): attention with a window at the attn dict's layers; and a
    # config without attn, which gets SambaConfig's default (the odd layers, 18 heads).
    fla_samba_case("samba_fla_f32", 2801, "F32", 1, d=16, n_layers=4, state_size=8, conv_kernel=4,
                   expand=2, vocab=80, tied=False, eps=1e-5, T=44, hidden_ratio=1,
                   attn={"layers": [1, 3], "num_heads": 4, "num_kv_heads": 2, "window_size": 6})
    fla_samba_case("samba_fla_bf16_default_attn", 2802, "BF16", 1, d=36, n_layers=3, state_size=4,
                   conv_kernel=4, expand=2, vocab=64, tied=True, eps=1e-5, T=40, hidden_ratio=1)
    fla_samba_case("samba_fla_f16_sharded", 2803, "F16", 2, d=24, n_layers=3, state_size=8,
                   conv_kernel=3, expand=2, vocab=72, tied=False, eps=1e-5, T=70, hidden_ratio=1,
                   attn={"layers": [0, 2], "num_heads": 4, "num_kv_heads": 1, "window_size": 9,
                         "rope_theta": 500.0})

    # RecurrentGemma: the default block order (recurrent, recurrent, attention) and two others,
    # MQA / GQA / MHA, lru_width other than d, prompts past the window, a cap that bites.
    recurrent_gemma_case("recurrent_gemma_f32", 2901, "F32", 1, d=16, n_layers=4,
                         block_types=["recurrent", "recurrent", "attention"], n_heads=4, n_kv=1,
                         lru_width=16, conv_width=4, intermediate=48, window=5, soft_cap=4.0,
                         vocab=80, tied=True, eps=1e-6, T=40)
    recurrent_gemma_case("recurrent_gemma_bf16", 2902, "BF16", 1, d=16, n_layers=3,
                         block_types=["recurrent", "attention"], n_heads=2, n_kv=2, lru_width=24,
                         conv_width=3, intermediate=40, window=7, soft_cap=3.0, vocab=64,
                         tied=False, eps=1e-6, T=36, nested_rope=True)
    recurrent_gemma_case("recurrent_gemma_f16_sharded", 2903, "F16", 2, d=24, n_layers=3,
                         block_types=["attention", "recurrent", "recurrent"], n_heads=2, n_kv=1,
                         lru_width=24, conv_width=4, intermediate=64, window=8, soft_cap=5.0,
                         vocab=72, tied=True, eps=1e-6, T=44)

    llama_case("llama_f32", 2101, "llama", "F32", 1, d=24, n_layers=3, n_heads=4, n_kv=2,
               head_dim=6, write_head_dim=False, intermediate=40, vocab=96, tied=False,
               eps=1e-5, rope_theta=10000.0, T=42)
    llama_case("llama_bf16_tied", 2102, "llama", "BF16", 1, d=16, n_layers=2, n_heads=4,
               n_kv=4, head_dim=4, write_head_dim=True, intermediate=40, vocab=64, tied=True,
               eps=1e-6, rope_theta=500000.0, T=40)
    llama_case("llama_f16_sharded", 2103, "llama", "F16", 2, d=24, n_layers=4, n_heads=4,
               n_kv=1, head_dim=6, write_head_dim=False, intermediate=44, vocab=70, tied=False,
               eps=1e-5, rope_theta=10000.0, T=48)

    llama_case("mistral_f32", 2201, "mistral", "F32", 1, d=24, n_layers=3, n_heads=4, n_kv=2,
               head_dim=6, write_head_dim=False, intermediate=40, vocab=88, tied=False,
               eps=1e-5, rope_theta=1000000.0, T=44, sliding_window=8)
    llama_case("mistral_bf16", 2202, "mistral", "BF16", 1, d=16, n_layers=3, n_heads=4, n_kv=2,
               head_dim=8, write_head_dim=True, intermediate=36, vocab=60, tied=False,
               eps=1e-5, rope_theta=10000.0, T=40, sliding_window=5)

    samba_case("samba_f32", 2301, "F32", 1, n_embd=24, n_layer=4, n_head=4, n_query_groups=2,
               intermediate=40, vocab=90, padded_vocab=96, local_window=6,
               rotary_percentage=1.0, rope_base=10000.0, d_state=16, d_conv=4, expand=2,
               tied=False, eps=1e-5, T=44)
    samba_case("samba_bf16", 2302, "BF16", 1, n_embd=32, n_layer=4, n_head=4, n_query_groups=1,
               intermediate=40, vocab=75, padded_vocab=80, local_window=5,
               rotary_percentage=0.5, rope_base=10000.0, d_state=8, d_conv=4, expand=2,
               tied=True, eps=1e-5, T=40)
    samba_case("samba_f16_sharded", 2303, "F16", 3, n_embd=24, n_layer=4, n_head=4,
               n_query_groups=2, intermediate=40, vocab=60, padded_vocab=64, local_window=8,
               rotary_percentage=1.0, rope_base=10000.0, d_state=16, d_conv=4, expand=2,
               tied=False, eps=1e-5, T=48)

    # Other layer orders (lit-gpt's rule: Mamba where i % mb_per_layer == 0, none for 0; or
    # attention exactly at attn_layer_pos), five layers so that mb_per_layer 4 repeats.
    for mb, dtype in ((0, "F32"), (1, "BF16"), (3, "F32"), (4, "F16")):
        samba_case(f"samba_mb{mb}_{dtype.lower()}", 2310 + mb, dtype, 1, n_embd=16, n_layer=5,
                   n_head=4, n_query_groups=2, intermediate=24, vocab=40, padded_vocab=48,
                   local_window=4, rotary_percentage=1.0, rope_base=10000.0, d_state=4, d_conv=4,
                   expand=2, tied=True, eps=1e-5, T=20, mb_per_layer=mb)
    samba_case("samba_attn_pos_no_mlp_f32", 2320, "F32", 1, n_embd=16, n_layer=5, n_head=4,
               n_query_groups=1, intermediate=24, vocab=40, padded_vocab=48, local_window=4,
               rotary_percentage=0.5, rope_base=10000.0, d_state=4, d_conv=3, expand=2,
               tied=False, eps=1e-5, T=20, attn_layer_pos="[1, 2]", mlp=False)

    # Phi-4-mini-flash (SambaY): prompts past the window; N = 8 (one GMU / cross-attention pair)
    # and 12 (two); GQA ratios 2, 1 and 4 within the head pairs; the config class's Mamba
    # defaults and explicit mamba_* keys; sliding_window as a number and as the per-layer list
    # the config class makes of it; A_log and λ in float32 beside bf16 and f16 weights.
    phi4flash_case("phi4flash_f32", 3001, "F32", 1, d=16, n_layers=8, n_heads=4, n_kv=2,
                   intermediate=24, window=6, vocab=80, tied=True, eps=1e-5, T=44)
    phi4flash_case("phi4flash_bf16", 3002, "BF16", 1, d=16, n_layers=8, n_heads=4, n_kv=4,
                   intermediate=32, window=5, vocab=64, tied=True, eps=1e-5, T=40,
                   mamba=(8, 4, 2, 2))
    phi4flash_case("phi4flash_f16_sharded", 3003, "F16", 2, d=24, n_layers=12, n_heads=8, n_kv=2,
                   intermediate=40, window=7, vocab=72, tied=False, eps=1e-5, T=46,
                   mamba=(8, 3, 2, 3), window_as_list=True)

    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    print(f"total {total} bytes in {DATA_DIR}")


if __name__ == "__main__":
    main()
