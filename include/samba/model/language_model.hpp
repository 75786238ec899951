// LanguageModel: the runtime face of a Model whose layer pattern and weight dtype were chosen when
// a checkpoint was read (samba::load_model). A virtual interface over Model<Stack, W>; sequences
// carry a SequenceState that only the model that made it accepts.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "samba/core/dtype.hpp"
#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"
#include "samba/model/model.hpp"

namespace samba {

// What `samba-cli info` prints.
struct ModelInfo {
  std::string family;   // "mamba", "llama", "mistral", "samba", or a user's name
  std::string pattern;  // e.g. "[Mamba, MLP, SWA, MLP]"
  std::string dims;     // human-readable dimensions
  index_t d_model = 0, n_blocks = 0, vocab_size = 0, n_logits = 0;
  dtype weight_dtype = dtype::f32;
  std::size_t parameters = 0;
  bool tied_embeddings = false;
  bool bounded_state = false;  // per-sequence state stops growing (no full-attention block)
};

// The per-sequence state of a LanguageModel.
class SequenceState {
 public:
  virtual ~SequenceState() = default;
  virtual index_t position() const = 0;                      // tokens seen
  virtual std::size_t bytes() const = 0;                     // memory held
  virtual std::unique_ptr<SequenceState> clone() const = 0;  // a snapshot
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelInfo& info() const = 0;
  virtual std::unique_ptr<SequenceState> make_state() const = 0;
  // See Model::forward_batch.
  virtual void forward_batch(std::span<SequenceState* const> states,
                             std::span<const index_t> lengths, std::span<const std::int32_t> tokens,
                             MatrixView<float> logits, LogitsFor which) const = 0;
  // The same state's bytes right after make_state(), for reporting.
  std::size_t fresh_state_bytes() const { return make_state()->bytes(); }
};

// The LanguageModel of a Model<Stack, W>.
template <class M>
class ModelAdapter final : public LanguageModel {
 public:
  ModelAdapter(M model, ModelInfo info) : model_(std::move(model)), info_(std::move(info)) {}

  const M& model() const { return model_; }
  const ModelInfo& info() const override { return info_; }

  std::unique_ptr<SequenceState> make_state() const override {
    return std::make_unique<State>(this, model_.make_state());
  }

  void forward_batch(std::span<SequenceState* const> states, std::span<const index_t> lengths,
                     std::span<const std::int32_t> tokens, MatrixView<float> logits,
                     LogitsFor which) const override {
    ScratchBuffer<typename M::State*> inner(static_cast<index_t>(states.size()));
    for (std::size_t i = 0; i < states.size(); ++i) {
      auto* s = dynamic_cast<State*>(states[i]);
      detail::check(s != nullptr && s->owner == this, "LanguageModel: the state of sequence ", i,
                    " was made by another model");
      inner[static_cast<index_t>(i)] = &s->inner;
    }
    model_.forward_batch(std::span<typename M::State* const>(inner.data(), states.size()), lengths,
                         tokens, logits, which);
  }

 private:
  struct State final : SequenceState {
    State(const ModelAdapter* o, typename M::State s) : owner(o), inner(std::move(s)) {}
    index_t position() const override { return inner.position; }
    std::size_t bytes() const override { return inner.bytes(); }
    std::unique_ptr<SequenceState> clone() const override { return std::make_unique<State>(*this); }
    const ModelAdapter* owner;
    typename M::State inner;
  };

  M model_;
  ModelInfo info_;
};

}  // namespace samba
