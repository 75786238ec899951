// The layer patterns of the paper and of the models Samba is compared with, and a way to fill in
// their configs from one set of model dimensions.
//
//   Samba         [Mamba, MLP, SWA, MLP]   the paper's hybrid (arXiv 2406.07522)
//   MambaSWAMLP   [Mamba, SWA, MLP]        the paper's Mamba-SWA-MLP ablation
//   MambaMLP      [Mamba, MLP]             the paper's Mamba-MLP ablation
//   MambaOnly     [Mamba]                  Mamba-1 / Hugging Face MambaForCausalLM blocks
//   Llama         [attention, MLP]         the Transformer baseline (full causal attention, GQA)
//   LlamaSWA      [SWA, MLP]               Mistral-style sliding-window Transformer
//   SlidingGLA    [GLA, MLP, SWA, MLP]     the paper's Sliding GLA: Samba with Gated Linear
//                                          Attention in place of Mamba
//   SlidingRetNet [RetNet, MLP, SWA, MLP]  the paper's Sliding RetNet: Multi-Scale Retention in
//                                          place of Mamba
//   Mamba2        [Mamba-2]                Hugging Face Mamba2ForCausalLM blocks
//   Mamba2Hybrid  [Mamba-2, MLP, attention]  Mamba-2 with SwiGLU MLPs and full attention, in
//                                          any order (set it as data)
//   NemotronH     [Mamba-2, MLP, attention]  NVIDIA Nemotron-H's block types (its M, -, *): the
//                                          MLP is FeedForward (relu²), attention has no RoPE
//   Griffin       [RG-LRU, MLP, RG-LRU, MLP, SWA, MLP]  Griffin / RecurrentGemma (De et al. 2024):
//                                          two recurrent layers, then one local-attention layer,
//                                          each with its MLP (GeGLU in RecurrentGemma: set
//                                          ModelDims' mlp_activation, mlp_bias and
//                                          attention_output_bias as its family loader does)
//   SambaY        [Mamba, MLP, SWA differential attention, cross-decoder]  Phi-4-mini-flash
//                                          (SambaY): the self-decoder's blocks with LayerNorm,
//                                          then one CrossDecoder block (stack/cross_decoder.hpp)
//                                          holding the other half of the layers; built by the
//                                          phi4flash loader or by hand (each attention layer's
//                                          config holds its own depth)
//
// Every block is PreNorm: y = x + layer(RMSNorm(x)) (LayerNorm in SambaY).
#pragma once

#include <tuple>
#include <type_traits>

#include "samba/core/backend.hpp"
#include "samba/layers/attention.hpp"
#include "samba/layers/differential_attention.hpp"
#include "samba/layers/feed_forward.hpp"
#include "samba/layers/gla.hpp"
#include "samba/layers/mamba.hpp"
#include "samba/layers/mamba2.hpp"
#include "samba/layers/retention.hpp"
#include "samba/layers/rglru.hpp"
#include "samba/layers/swiglu.hpp"
#include "samba/stack/cross_decoder.hpp"
#include "samba/stack/hybrid_stack.hpp"
#include "samba/stack/pre_norm.hpp"

namespace samba {

namespace presets {

template <class B = cpu, StorageType W = float>
using Samba = HybridStack<PreNorm<MambaLayer<B, W>>, PreNorm<SwiGLU<B, W>>,
                          PreNorm<SlidingWindowAttention<B, W>>, PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using MambaSWAMLP = HybridStack<PreNorm<MambaLayer<B, W>>, PreNorm<SlidingWindowAttention<B, W>>,
                                PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using MambaMLP = HybridStack<PreNorm<MambaLayer<B, W>>, PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using MambaOnly = HybridStack<PreNorm<MambaLayer<B, W>>>;
template <class B = cpu, StorageType W = float>
using Llama = HybridStack<PreNorm<CausalAttention<B, W>>, PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using LlamaSWA = HybridStack<PreNorm<SlidingWindowAttention<B, W>>, PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using SlidingGLA = HybridStack<PreNorm<GatedLinearAttention<B, W>>, PreNorm<SwiGLU<B, W>>,
                               PreNorm<SlidingWindowAttention<B, W>>, PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using SlidingRetNet = HybridStack<PreNorm<MultiScaleRetention<B, W>>, PreNorm<SwiGLU<B, W>>,
                                  PreNorm<SlidingWindowAttention<B, W>>, PreNorm<SwiGLU<B, W>>>;
template <class B = cpu, StorageType W = float>
using Mamba2 = HybridStack<PreNorm<Mamba2Layer<B, W>>>;
template <class B = cpu, StorageType W = float>
using Mamba2Hybrid =
    HybridStack<PreNorm<Mamba2Layer<B, W>>, PreNorm<SwiGLU<B, W>>, PreNorm<CausalAttention<B, W>>>;

template <class B = cpu, StorageType W = float>
using NemotronH = HybridStack<PreNorm<Mamba2Layer<B, W>>, PreNorm<FeedForward<B, W>>,
                              PreNorm<CausalAttention<B, W>>>;
template <class B = cpu, StorageType W = float>
using Griffin = HybridStack<PreNorm<RGLRULayer<B, W>>, PreNorm<SwiGLU<B, W>>,
                            PreNorm<RGLRULayer<B, W>>, PreNorm<SwiGLU<B, W>>,
                            PreNorm<SlidingWindowAttention<B, W>>, PreNorm<SwiGLU<B, W>>>;

template <class B = cpu, StorageType W = float>
using SambaY =
    HybridStack<PreNorm<MambaLayer<B, W>, LayerNorm<B>>, PreNorm<SwiGLU<B, W>, LayerNorm<B>>,
                PreNorm<SlidingDifferentialAttention<B, W>, LayerNorm<B>>, CrossDecoder<B, W>>;

}  // namespace presets

// The dimensions of a whole model, from which each block's config is derived. Fields a pattern does
// not use are ignored (a MambaOnly stack never reads n_heads).
struct ModelDims {
  index_t d_model = 0;
  index_t n_blocks = 0;  // pre-norm blocks in the stack (a Samba "layer" pair is 2 blocks)
  float norm_eps = 1e-5f;
  // attention
  index_t n_heads = 0;
  index_t n_kv_heads = 0;  // 0: n_heads
  index_t head_dim = 0;    // 0: d_model / n_heads
  index_t window = 2048;
  double rope_base = 10000.0;
  index_t rotary_dims = -1;  // -1: head_dim
  bool attention_output_bias = false;
  // MLP
  index_t d_ff = 0;
  GateActivation mlp_activation = GateActivation::silu;
  bool mlp_bias = false;
  // Mamba
  index_t d_state = 16;
  index_t d_conv = 4;
  index_t expand = 2;
  index_t dt_rank = 0;  // 0: ceil(d_model / 16)
  // Mamba-2 (also d_state, d_conv, expand above)
  index_t ssm_head_dim = 64;
  index_t ssm_groups = 1;
  index_t ssm_norm_group = 0;  // 0: the whole d_inner
  // GLA (0: the layer's defaults, fla's: n_heads heads, key_dim d_model / 2, value_dim d_model)
  index_t gla_heads = 0;
  index_t gla_key_dim = 0;
  index_t gla_value_dim = 0;
  index_t gla_gate_rank = 16;
  // Multi-Scale Retention (0: fla's defaults: n_heads heads, key_dim d_model, value_dim 2·d_model)
  index_t retention_heads = 0;
  index_t retention_key_dim = 0;
  index_t retention_value_dim = 0;
  // RG-LRU (Griffin): its gate blocks are n_heads, its conv d_conv
  index_t lru_width = 0;  // 0: d_model
};

inline MambaConfig layer_config(const ModelDims& d, std::type_identity<MambaConfig>) {
  return {d.d_model, d.d_state, d.d_conv, d.expand, d.dt_rank};
}
inline Mamba2Config layer_config(const ModelDims& d, std::type_identity<Mamba2Config>) {
  Mamba2Config c;
  c.d_model = d.d_model;
  c.expand = d.expand;
  c.d_state = d.d_state;
  c.n_groups = d.ssm_groups;
  c.head_dim = d.ssm_head_dim;
  c.d_conv = d.d_conv;
  c.norm_group = d.ssm_norm_group;
  c.norm_eps = d.norm_eps;
  return c;
}
inline GLAConfig layer_config(const ModelDims& d, std::type_identity<GLAConfig>) {
  GLAConfig c;
  c.d_model = d.d_model;
  c.n_heads = d.gla_heads > 0 ? d.gla_heads : d.n_heads;
  c.key_dim = d.gla_key_dim;
  c.value_dim = d.gla_value_dim;
  c.gate_rank = d.gla_gate_rank;
  c.norm_eps = d.norm_eps;
  return c;
}
inline RetentionConfig layer_config(const ModelDims& d, std::type_identity<RetentionConfig>) {
  RetentionConfig c;
  c.d_model = d.d_model;
  c.n_heads = d.retention_heads > 0 ? d.retention_heads : d.n_heads;
  c.key_dim = d.retention_key_dim;
  c.value_dim = d.retention_value_dim;
  c.rope_base = d.rope_base;
  c.norm_eps = d.norm_eps;
  return c;
}
inline FeedForwardConfig layer_config(const ModelDims& d, std::type_identity<FeedForwardConfig>) {
  return {d.d_model, d.d_ff};
}
inline SwiGLUConfig layer_config(const ModelDims& d, std::type_identity<SwiGLUConfig>) {
  return {d.d_model, d.d_ff, d.mlp_activation, d.mlp_bias};
}
inline AttentionConfig layer_config(const ModelDims& d, std::type_identity<AttentionConfig>) {
  return {d.d_model, d.n_heads,   d.n_kv_heads,  d.head_dim,
          d.window,  d.rope_base, d.rotary_dims, d.attention_output_bias};
}
inline RGLRUConfig layer_config(const ModelDims& d, std::type_identity<RGLRUConfig>) {
  RGLRUConfig c;
  c.d_model = d.d_model;
  c.lru_width = d.lru_width;
  c.n_heads = d.n_heads;
  c.conv_width = d.d_conv;
  return c;
}

namespace detail {
template <class Block>
typename Block::Config block_config(const ModelDims& d) {
  using C = typename Block::Config;
  if constexpr (requires { layer_config(d, std::type_identity<C>{}); }) {
    return layer_config(d, std::type_identity<C>{});
  } else if constexpr (requires { typename Block::layer_type; }) {  // PreNorm<L>
    return C{block_config<typename Block::layer_type>(d), d.norm_eps};
  } else {
    static_assert(dependent_false<Block>,
                  "make_config: no layer_config(const ModelDims&, std::type_identity<Config>) "
                  "overload for this block's Config; write one next to your layer");
  }
}
}  // namespace detail

// The config of a stack (any pattern of library layers) from model dimensions.
template <class Stack>
typename Stack::Config make_config(const ModelDims& dims) {
  return [&]<class... Blocks>(std::type_identity<std::tuple<Blocks...>>) {
    return typename Stack::Config{dims.n_blocks, {detail::block_config<Blocks>(dims)...}};
  }(std::type_identity<typename Stack::Pattern>{});
}

}  // namespace samba
