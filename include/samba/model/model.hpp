// Model<Stack, W>: a language model around a HybridStack,
//
//   tokens → embedding rows (· embedding_scale) → Stack → final norm → LM head → logits
//   (→ cap · tanh(logits / cap) with a logit soft cap)
//
// The LM head is its own [n_logits, d_model] matrix or, when tied, the embedding itself. n_logits
// may exceed the vocabulary (Samba pads its head to padded_vocab_size); token ids must lie in
// [0, vocab_size). Weights are immutable and shared; the per-sequence State is the stack's.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/core/tensor.hpp"
#include "samba/layers/common.hpp"
#include "samba/layers/rmsnorm.hpp"

namespace samba {

// What some families do around the stack (RecurrentGemma scales its embeddings by √d_model and
// soft-caps its logits).
struct ModelOptions {
  float embedding_scale = 1.0f;  // each embedding row is multiplied by it
  float logit_soft_cap = 0.0f;   // > 0: logits ← cap · tanh(logits / cap); 0: none

  void validate() const {
    detail::check(std::isfinite(embedding_scale) && embedding_scale != 0.0f,
                  "Model: embedding_scale must be finite and non-zero, got ", embedding_scale);
    detail::check(std::isfinite(logit_soft_cap) && logit_soft_cap >= 0.0f,
                  "Model: logit_soft_cap must be finite and >= 0 (0: none), got ", logit_soft_cap);
  }
};

// Which positions get logits: every token of the batch, or only each sequence's last.
enum class LogitsFor { every_token, last_token };

// The primitives a backend supplies for Model (cpu/model.hpp, cuda/model.cuh); the steps are
// Model::forward_batch's:
//   embed(model, tokens, x)        x[t] = the embedding row of tokens[t], as f32, times
//                                  options().embedding_scale
//   gather_rows(src, rows, out)    out[i] = src[rows[i]]
//   head(model, normed, logits)    logits = normed · headᵀ, into the caller's logits (host memory,
//                                  or device memory on CUDA), soft-capped where
//                                  options().logit_soft_cap > 0, complete when head returns
template <class B, StorageType W>
struct ModelKernel {
  static_assert(detail::dependent_false<B>,
                "Model: no kernel for this backend (include samba/samba.hpp for samba::cpu, "
                "samba/cuda.cuh for samba::cuda)");
};

// FinalNorm: RMSNorm unless the model says otherwise (Phi-4-mini-flash ends with a LayerNorm).
template <class Stack, StorageType W = float,
          class FinalNorm = RMSNorm<typename Stack::backend_type>>
class Model {
 public:
  using stack_type = Stack;
  using backend_type = typename Stack::backend_type;
  using weight_type = W;
  using final_norm_type = FinalNorm;
  using State = typename Stack::State;
  using Resident = detail::resident_t<backend_type, ModelKernel<backend_type, W>>;

  // lm_head empty: tied to the embedding.
  Model(Stack stack, index_t vocab_size, Tensor<W> embedding, FinalNorm final_norm,
        Tensor<W> lm_head = {}, ModelOptions options = {})
      : stack_(std::move(stack)),
        vocab_size_(vocab_size),
        embedding_(std::move(embedding)),
        final_norm_(std::move(final_norm)),
        lm_head_(std::move(lm_head)),
        options_(options) {
    options_.validate();
    const index_t d = stack_.d_model();
    detail::check(vocab_size_ > 0, "Model: vocab_size must be > 0, got ", vocab_size_);
    detail::check(embedding_.shape().rank() == 2 && embedding_.shape()[1] == d &&
                      embedding_.shape()[0] >= vocab_size_,
                  "Model: tensor 'embedding' has shape ", embedding_.shape(),
                  ", expected [>= ", vocab_size_, ", ", d, "]");
    detail::check(final_norm_.d_model() == d, "Model: final norm has d_model ",
                  final_norm_.d_model(), ", the stack has ", d);
    if (!lm_head_.empty())
      detail::check(lm_head_.shape().rank() == 2 && lm_head_.shape()[1] == d &&
                        lm_head_.shape()[0] >= vocab_size_,
                    "Model: tensor 'lm_head' has shape ", lm_head_.shape(),
                    ", expected [>= ", vocab_size_, ", ", d, "]");
    resident_ = detail::make_resident<Resident>(*this);
  }

  const Stack& stack() const { return stack_; }
  const FinalNorm& final_norm() const { return final_norm_; }
  const Tensor<W>& embedding() const { return embedding_; }
  const Tensor<W>& head() const { return lm_head_.empty() ? embedding_ : lm_head_; }
  bool tied() const { return lm_head_.empty(); }
  const ModelOptions& options() const { return options_; }
  // The backend's own form of the embedding and head (device copies on samba::cuda).
  const Resident& resident() const { return resident_; }
  index_t d_model() const { return stack_.d_model(); }
  index_t vocab_size() const { return vocab_size_; }      // valid token ids: [0, vocab_size)
  index_t n_logits() const { return head().shape()[0]; }  // width of a logits row
  std::size_t parameter_count() const {
    return stack_.parameter_count() + final_norm_.parameter_count() +
           static_cast<std::size_t>(embedding_.numel() + (tied() ? 0 : lm_head_.numel()));
  }

  State make_state() const { return stack_.make_state(); }

  // One sequence: logits [T, n_logits] for every token.
  void forward(State& state, std::span<const std::int32_t> tokens, MatrixView<float> logits) const {
    State* states[] = {&state};
    const index_t lengths[] = {static_cast<index_t>(tokens.size())};
    forward_batch(states, lengths, tokens, logits, LogitsFor::every_token);
  }

  // A ragged batch: sequence s owns the next lengths[s] tokens. logits has one row per token
  // (every_token) or one row per sequence, its last token's (last_token: every length must be ≥ 1).
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     std::span<const std::int32_t> tokens, MatrixView<float> logits,
                     LogitsFor which) const {
    const auto T = static_cast<index_t>(tokens.size());
    detail::check_batch("Model", states, lengths, T);
    for (std::size_t i = 0; i < tokens.size(); ++i)
      detail::check(tokens[i] >= 0 && tokens[i] < vocab_size_, "Model: token id ", tokens[i],
                    " at index ", i, " is outside the vocabulary [0, ", vocab_size_, ")");
    const index_t rows = which == LogitsFor::every_token ? T : static_cast<index_t>(states.size());
    if (which == LogitsFor::last_token)
      for (std::size_t s = 0; s < lengths.size(); ++s)
        detail::check(lengths[s] > 0, "Model: sequence ", s,
                      " has no tokens, so no last-token logits");
    detail::check(logits.rows() == rows && logits.cols() == n_logits() &&
                      (rows == 0 || logits.stride(1) == 1),
                  "Model: logits buffer is ", logits.dyn_shape(), ", expected [", rows, ", ",
                  n_logits(), "] with contiguous rows");
    using K = ModelKernel<backend_type, W>;
    const index_t d = d_model();
    auto x = detail::scratch<float, backend_type>(T * d);
    auto h = detail::scratch<float, backend_type>(T * d);
    const MatrixView<float> h_v = h.template view<2>({T, d});
    K::embed(*this, tokens, x.template view<2>({T, d}));
    stack_.forward_batch(states, lengths, ConstMatrixView<float>(x.template view<2>({T, d})), h_v);
    // The rows that get logits: every token's, or each sequence's last.
    ConstMatrixView<float> selected = h_v;
    auto picked =
        detail::scratch<float, backend_type>(which == LogitsFor::last_token ? rows * d : 0);
    if (which == LogitsFor::last_token) {
      ScratchBuffer<index_t> last(rows);
      index_t end = 0;
      for (index_t s = 0; s < rows; ++s) last[s] = (end += lengths[s]) - 1;
      K::gather_rows(h_v, std::span<const index_t>(last.data(), static_cast<std::size_t>(rows)),
                     picked.template view<2>({rows, d}));
      selected = picked.template view<2>({rows, d});
    }
    auto normed = detail::scratch<float, backend_type>(rows * d);
    const MatrixView<float> normed_v = normed.template view<2>({rows, d});
    if (rows > 0) final_norm_.forward(selected, normed_v);
    K::head(*this, normed_v, logits);
  }

 private:
  Stack stack_;
  index_t vocab_size_;
  Tensor<W> embedding_;
  FinalNorm final_norm_;
  Tensor<W> lm_head_;
  ModelOptions options_;
  Resident resident_;
};

}  // namespace samba
