// The model dimensions the benchmarks run at, shared by the CPU programs (bench/cpu/common.hpp)
// and the CUDA one (bench/cuda/cuda.cu): plain C++, no Eigen.
#pragma once

#include <cmath>
#include <string>

#include <samba/core/backend.hpp>
#include <samba/stack/presets.hpp>

namespace samba_bench {

using namespace samba;

struct Dims {
  std::string name;
  ModelDims model;
};

// The paper's Samba-421M and Samba-1.3B (PEERS.md "Shapes"); n_blocks 4 is one block pair of the
// Samba preset [Mamba, MLP, SWA, MLP] and two of Llama's [attention, MLP].
inline Dims samba_421m() {
  ModelDims d;
  d.d_model = 1536;
  d.n_blocks = 4;
  d.n_heads = 12;
  d.n_kv_heads = 4;
  d.head_dim = 128;
  d.window = 2048;
  d.d_ff = 4096;
  d.d_state = 16;
  d.d_conv = 4;
  d.expand = 2;  // d_inner 3072
  d.dt_rank = 96;
  return {"421M", d};
}

inline Dims samba_1_3b() {
  ModelDims d = samba_421m().model;
  d.d_model = 2304;
  d.n_heads = 18;
  d.n_kv_heads = 6;
  d.d_ff = 6144;  // d_inner 4608
  d.dt_rank = 144;
  return {"1.3B", d};
}

// RecurrentGemma-2B (google/recurrentgemma-2b's config): n_blocks 6 is one Griffin triple, two
// recurrent layers and one local-attention layer, each with its GeGLU MLP.
inline Dims griffin_2b() {
  ModelDims d;
  d.d_model = 2560;
  d.n_blocks = 6;
  d.n_heads = 10;
  d.n_kv_heads = 1;
  d.head_dim = 256;
  d.window = 2049;  // attention_window_size 2048: W + 1 keys (models.md)
  d.rotary_dims = 128;
  d.attention_output_bias = true;
  d.d_ff = 7680;  // intermediate_size 15360 / 2
  d.mlp_activation = GateActivation::gelu_tanh;
  d.mlp_bias = true;
  d.lru_width = 2560;
  d.d_conv = 4;
  d.norm_eps = 1e-6f;
  return {"2B", d};
}

// Llama's dims with the d_ff that matches Samba's parameter count (to a multiple of 64): the two
// stacks differ in one Mamba + one SWA against two attentions, made up by the two MLPs
// (3 · d_model parameters per unit of d_ff). Counted on host-side stacks (no kernels run).
inline ModelDims llama_dims(const ModelDims& samba) {
  using Samba = presets::Samba<cpu, float>;
  using Llama = presets::Llama<cpu, float>;
  const auto s = Samba::random(make_config<Samba>(samba), 1).parameter_count();
  const auto l = Llama::random(make_config<Llama>(samba), 1).parameter_count();
  ModelDims d = samba;
  const double extra = (static_cast<double>(s) - static_cast<double>(l)) / (2.0 * 3 * d.d_model);
  d.d_ff = samba.d_ff + static_cast<index_t>(std::lround(extra / 64)) * 64;
  return d;
}

}  // namespace samba_bench
