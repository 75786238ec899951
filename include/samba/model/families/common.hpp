// Pieces shared by the checkpoint families: options, dtype dispatch, blocks built from named
// tensors.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "samba/core/dtype.hpp"
// The loaders are templates over the backend: they build a model for load_model<B>, whose call site
// must see B's kernels (samba/samba.hpp for the CPU, samba/cuda.cuh for CUDA).
#include "samba/layers/mamba.hpp"
#include "samba/layers/rmsnorm.hpp"
#include "samba/model/config.hpp"
#include "samba/model/language_model.hpp"
#include "samba/model/safetensors.hpp"

namespace samba {

struct LoadOptions {
  // Tensors in the checkpoint that the model does not use are an error unless this is set.
  bool allow_unused_tensors = false;
  // Storage type of the big weight matrices; by default the checkpoint's own (bf16 stays bf16).
  std::optional<dtype> weight_dtype;
};

namespace detail {

// Calls f.template operator()<W>() with the storage type W named by t.
template <class F>
decltype(auto) with_storage_type(dtype t, F&& f) {
  switch (t) {
    case dtype::bf16:
      return f.template operator()<bf16>();
    case dtype::f16:
      return f.template operator()<f16>();
    case dtype::f32:
      break;
  }
  return f.template operator()<float>();
}

template <class B>
RMSNorm<B> load_norm(SafeTensors& st, const std::string& name, index_t d, float eps) {
  return RMSNorm<B>(RMSNormConfig{d, eps}, RMSNormWeights{st.load<float>(name, {d})});
}

// A Mamba mixer under Hugging Face's parameter names (also used by Samba's lit-gpt checkpoints).
template <class B, StorageType W>
MambaLayer<B, W> load_mamba_mixer(SafeTensors& st, const std::string& prefix, const MambaConfig& c,
                                  bool conv_bias) {
  c.validate();
  const index_t d = c.d_model, di = c.d_inner(), n = c.d_state, r = c.resolved_dt_rank(),
                k = c.d_conv;
  MambaWeights<W> w;
  w.in_proj = st.load<W>(prefix + "in_proj.weight", {2 * di, d});
  w.conv_weight = st.load<float>(prefix + "conv1d.weight", {di, 1, k}).reshaped({di, k});
  if (conv_bias) {
    w.conv_bias = st.load<float>(prefix + "conv1d.bias", {di});
  } else {
    w.conv_bias = Tensor<float>(Shape{di}, HostBuffer<float>(di));
  }
  w.x_proj = st.load<W>(prefix + "x_proj.weight", {r + 2 * n, di});
  w.dt_proj = st.load<W>(prefix + "dt_proj.weight", {di, r});
  w.dt_bias = st.load<float>(prefix + "dt_proj.bias", {di});
  w.A_log = st.load<float>(prefix + "A_log", {di, n});
  w.D = st.load<float>(prefix + "D", {di});
  w.out_proj = st.load<W>(prefix + "out_proj.weight", {d, di});
  return MambaLayer<B, W>(c, std::move(w));
}

// One [Σ rows, d] matrix from the named [rows, d] projections, stacked in order (an in_proj); with
// d = 0, one vector from the named [rows] vectors (their biases).
template <StorageType W>
Tensor<W> stack_rows(SafeTensors& st, const std::vector<std::pair<std::string, index_t>>& parts,
                     index_t d) {
  index_t rows = 0;
  for (const auto& [name, r] : parts) rows += r;
  HostBuffer<W> out(rows * std::max<index_t>(d, 1));
  W* o = out.data();
  for (const auto& [name, r] : parts)
    o = d > 0 ? std::copy_n(st.load<W>(name, {r, d}).data(), r * d, o)
              : std::copy_n(st.load<W>(name, {r}).data(), r, o);
  return d > 0 ? Tensor<W>(Shape{rows, d}, std::move(out)) : Tensor<W>(Shape{rows}, std::move(out));
}

// The finished model: unused tensors checked, wrapped for runtime use.
template <class M>
std::shared_ptr<const LanguageModel> finish(M model, ModelInfo info, SafeTensors& st,
                                            const LoadOptions& options) {
  if (!options.allow_unused_tensors) st.check_all_used();
  info.d_model = model.d_model();
  info.n_blocks = model.stack().n_blocks();
  info.vocab_size = model.vocab_size();
  info.n_logits = model.n_logits();
  info.weight_dtype = dtype_of_v<typename M::weight_type>;
  info.parameters = model.parameter_count();
  info.tied_embeddings = model.tied();
  return std::make_shared<ModelAdapter<M>>(std::move(model), std::move(info));
}

}  // namespace detail
}  // namespace samba
