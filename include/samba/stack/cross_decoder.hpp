// CrossDecoder<B, W>: SambaY's cross-decoder half (Phi-4-mini-flash's layers N/2 … N−1) as one
// block of a HybridStack. Its layers pass data to each other within a forward — the memory Mamba
// layer's scan output to every GMU, the shared attention layer's KV cache to every cross-attention
// layer — so they live together in one block, which hands them what they read:
//
//   memory layer    h += Mamba(LN(h)),  m = its scan output before the gate;   h += MLP(h)
//   shared layer    h += DiffAttn_causal(LN(h)) (its KV cache is the shared one);  h += MLP(h)
//   n_pairs times   h += GMU(LN(h), m);                       h += MLP(h)
//                   h += DiffCrossAttn(LN(h), shared cache);  h += MLP(h)
//
// where MLP is PreNorm<SwiGLU, LayerNorm> and every LN a LayerNorm with bias. The State is the
// memory layer's (conv + SSM, constant size) and the shared layer's KV cache (growing: the one
// per-sequence quantity of the model that grows with the context); GMUs and cross-attention
// layers keep none. Chunks are exact: within a chunk the layers run in order, so the shared cache
// already holds the chunk's keys when the cross layers read it, and the memory is per position.
#pragma once

#include <span>
#include <utility>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/core/random.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/differential_attention.hpp"
#include "samba/layers/gated_memory.hpp"
#include "samba/layers/layer_norm.hpp"
#include "samba/layers/mamba.hpp"
#include "samba/layers/swiglu.hpp"
#include "samba/stack/batch.hpp"
#include "samba/stack/pre_norm.hpp"

namespace samba {

template <class B = cpu, StorageType W = float>
class CrossDecoder {
 public:
  using backend_type = B;
  using weight_type = W;
  using Norm = LayerNorm<B>;
  using MLP = PreNorm<SwiGLU<B, W>, Norm>;
  using Memory = MambaLayer<B, W>;
  using Shared = CausalDifferentialAttention<B, W>;
  using GMU = GatedMemoryUnit<B, W>;
  using Cross = DifferentialCrossAttention<B, W>;

  // One decoder layer: its mixer's norm, the mixer, and the MLP block after it.
  template <class L>
  struct Sub {
    Norm norm;
    L mixer;
    MLP mlp;
  };

  struct Config {
    MambaConfig memory;
    DiffAttentionConfig shared;  // causal; the cross layers have the same sizes
    index_t n_pairs = 0;         // (GMU, cross-attention) layer pairs after the shared layer
    SwiGLUConfig mlp;
    float norm_eps = 1e-5f;
  };

  struct State {
    typename Memory::State memory;
    typename Shared::State kv;
    std::size_t bytes() const { return memory.bytes() + kv.bytes(); }
  };

  CrossDecoder(Sub<Memory> memory, Sub<Shared> shared, std::vector<Sub<GMU>> gmus,
               std::vector<Sub<Cross>> cross)
      : memory_(std::move(memory)),
        shared_(std::move(shared)),
        gmus_(std::move(gmus)),
        cross_(std::move(cross)) {
    const index_t d = memory_.mixer.d_model();
    detail::check(gmus_.size() == cross_.size(), "CrossDecoder: ", gmus_.size(), " GMU layers and ",
                  cross_.size(), " cross-attention layers; they come in pairs");
    auto check_sub = [&](const auto& sub, std::string_view what, std::size_t i) {
      detail::check(sub.norm.d_model() == d && sub.mixer.d_model() == d && sub.mlp.d_model() == d,
                    "CrossDecoder: ", what, " ", i, " has d_model ", sub.mixer.d_model(), " (norm ",
                    sub.norm.d_model(), ", MLP ", sub.mlp.d_model(), "), the memory layer has ", d);
    };
    check_sub(memory_, "memory layer", 0);
    check_sub(shared_, "shared attention layer", 0);
    for (std::size_t i = 0; i < gmus_.size(); ++i) {
      check_sub(gmus_[i], "GMU", i);
      check_sub(cross_[i], "cross-attention layer", i);
      detail::check(gmus_[i].mixer.config().d_inner == memory_.mixer.config().d_inner(),
                    "CrossDecoder: GMU ", i, " has d_inner ", gmus_[i].mixer.config().d_inner,
                    ", the memory layer's scan has ", memory_.mixer.config().d_inner());
      detail::check(cross_[i].mixer.config().kv_dim() == shared_.mixer.config().kv_dim() &&
                        cross_[i].mixer.config().n_heads % shared_.mixer.config().n_kv_heads == 0,
                    "CrossDecoder: cross-attention layer ", i, " has kv_dim ",
                    cross_[i].mixer.config().kv_dim(), ", the shared layer's cache has ",
                    shared_.mixer.config().kv_dim());
    }
  }

  // Random weights; the cross layers' configs are the shared layer's at depths
  // shared.layer_index + 2, + 4, ... (the GMUs take the odd depths between).
  static CrossDecoder random(const Config& c, Random& rng) {
    const index_t d = c.memory.d_model;
    auto norm = [&] {
      const LayerNormConfig nc{d, c.norm_eps};
      return Norm(nc, LayerNormWeights::random(nc, rng));
    };
    auto mlp = [&] { return MLP::random({c.mlp, c.norm_eps}, rng); };
    Sub<Memory> memory{norm(), Memory::random(c.memory, rng), mlp()};
    Sub<Shared> shared{norm(), Shared::random(c.shared, rng), mlp()};
    std::vector<Sub<GMU>> gmus;
    std::vector<Sub<Cross>> cross;
    for (index_t i = 0; i < c.n_pairs; ++i) {
      gmus.push_back({norm(), GMU::random({d, c.memory.d_inner()}, rng), mlp()});
      DiffAttentionConfig cc = c.shared;
      cc.layer_index = c.shared.layer_index + 2 + 2 * i;
      cross.push_back({norm(), Cross::random(cc, rng), mlp()});
    }
    return CrossDecoder(std::move(memory), std::move(shared), std::move(gmus), std::move(cross));
  }

  const Sub<Memory>& memory() const { return memory_; }
  const Sub<Shared>& shared() const { return shared_; }
  const std::vector<Sub<GMU>>& gmus() const { return gmus_; }
  const std::vector<Sub<Cross>>& cross() const { return cross_; }
  index_t d_model() const { return memory_.mixer.d_model(); }
  // Decoder layers: the memory and shared layers and both of every pair.
  index_t n_layers() const { return 2 + 2 * static_cast<index_t>(gmus_.size()); }
  std::size_t parameter_count() const {
    std::size_t n = 0;
    auto add = [&](const auto& sub) {
      n += sub.norm.parameter_count() + sub.mixer.parameter_count() + sub.mlp.parameter_count();
    };
    add(memory_);
    add(shared_);
    for (const auto& g : gmus_) add(g);
    for (const auto& c : cross_) add(c);
    return n;
  }

  State make_state() const { return {memory_.mixer.make_state(), shared_.mixer.make_state()}; }

  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    using K = PreNormKernel<B>;
    detail::check_activations("CrossDecoder", x, d_model(), y, d_model());
    detail::check_batch("CrossDecoder", states, lengths, x.rows());
    K::check(x, y);
    const index_t T = x.rows(), d = d_model(), di = memory_.mixer.config().d_inner();
    if (T == 0) return;
    const auto n = static_cast<index_t>(states.size());
    ScratchBuffer<typename Memory::State*> memory_states(n);
    ScratchBuffer<typename Shared::State*> caches(n);
    ScratchBuffer<NoState> none(n);  // one per sequence: a batch never shares a state
    ScratchBuffer<NoState*> stateless(n);
    for (index_t s = 0; s < n; ++s) {
      memory_states[s] = &states[static_cast<std::size_t>(s)]->memory;
      caches[s] = &states[static_cast<std::size_t>(s)]->kv;
      stateless[s] = &none[s];
    }
    const auto count = static_cast<std::size_t>(n);
    const std::span<typename Memory::State* const> memory_span(memory_states.data(), count);
    const std::span<typename Shared::State* const> cache_span(caches.data(), count);
    const std::span<const typename Shared::State* const> source_span(caches.data(), count);
    const std::span<NoState* const> stateless_span(stateless.data(), count);

    auto tmp = detail::scratch<float, B>(T * d);
    auto normed = detail::scratch<float, B>(T * d);
    auto memory = detail::scratch<float, B>(T * di);
    const MatrixView<float> tmp_v = tmp.template view<2>({T, d});
    const MatrixView<float> normed_v = normed.template view<2>({T, d});
    const MatrixView<float> memory_v = memory.template view<2>({T, di});

    // The residual stream moves between tmp and y, one step at a time; there is an even number
    // of steps (two per decoder layer), so the last one writes y.
    ConstMatrixView<float> in = x;
    int step = 0;
    auto next = [&] { return step++ % 2 == 0 ? tmp_v : y; };
    auto mixer = [&](const Norm& norm, auto&& run) {
      const MatrixView<float> out = next();
      norm.forward(in, normed_v);
      run(ConstMatrixView<float>(normed_v), out);
      K::add_residual(in, out);
      in = out;
    };
    auto mlp = [&](const MLP& block) {
      const MatrixView<float> out = next();
      block.forward_batch(stateless_span, lengths, in, out);
      in = out;
    };

    mixer(memory_.norm, [&](ConstMatrixView<float> h, MatrixView<float> out) {
      memory_.mixer.forward_batch(memory_span, lengths, h, out, memory_v);
    });
    mlp(memory_.mlp);
    mixer(shared_.norm, [&](ConstMatrixView<float> h, MatrixView<float> out) {
      shared_.mixer.forward_batch(cache_span, lengths, h, out);
    });
    mlp(shared_.mlp);
    for (std::size_t i = 0; i < gmus_.size(); ++i) {
      mixer(gmus_[i].norm, [&](ConstMatrixView<float> h, MatrixView<float> out) {
        gmus_[i].mixer.forward(h, memory_v, out);
      });
      mlp(gmus_[i].mlp);
      mixer(cross_[i].norm, [&](ConstMatrixView<float> h, MatrixView<float> out) {
        cross_[i].mixer.forward_batch(source_span, lengths, h, out);
      });
      mlp(cross_[i].mlp);
    }
  }

 private:
  Sub<Memory> memory_;
  Sub<Shared> shared_;
  std::vector<Sub<GMU>> gmus_;
  std::vector<Sub<Cross>> cross_;
};

}  // namespace samba
