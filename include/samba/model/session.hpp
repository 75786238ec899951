// Session: one sequence being run through a LanguageModel.
//
// A session holds a shared reference to its model (so the model cannot disappear under it), the
// sequence state, the logits of the last token and the recent tokens the repetition penalty looks
// at (a bounded window, so memory stays constant however long the stream). Copying a session is a
// snapshot: prefill a shared prompt once, then fork it for each continuation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "samba/core/error.hpp"
#include "samba/core/scratch.hpp"
#include "samba/model/language_model.hpp"
#include "samba/model/sampling.hpp"

namespace samba {

class Session {
 public:
  // How many recent tokens the repetition penalty sees.
  static constexpr std::size_t default_history = 256;

  explicit Session(std::shared_ptr<const LanguageModel> model,
                   std::size_t history = default_history)
      : model_(std::move(model)), history_limit_(history) {
    detail::check(model_ != nullptr, "Session: no model");
    state_ = model_->make_state();
    recent_.reserve(2 * history_limit_);
  }
  Session(const Session& o)
      : model_(o.model_),
        state_(o.state_->clone()),
        logits_(o.logits_),
        recent_(o.recent_),
        history_limit_(o.history_limit_) {}
  Session& operator=(const Session& o) {
    if (this != &o) *this = Session(o);
    return *this;
  }
  Session(Session&&) noexcept = default;
  Session& operator=(Session&&) noexcept = default;

  const LanguageModel& model() const { return *model_; }
  const std::shared_ptr<const LanguageModel>& model_ptr() const { return model_; }
  index_t position() const { return state_->position(); }
  std::size_t state_bytes() const { return state_->bytes(); }
  // Logits of the last token fed (empty before the first).
  std::span<const float> logits() const { return logits_; }
  // The logits of real tokens only: the first vocab_size of the row (a padded head, like Samba's,
  // has more columns than the vocabulary). Sample from these.
  std::span<const float> vocab_logits() const {
    return std::span<const float>(logits_).first(
        std::min(logits_.size(), static_cast<std::size_t>(model_->info().vocab_size)));
  }
  // The last tokens fed, up to the history size given at construction, oldest first.
  std::span<const std::int32_t> recent_tokens() const {
    return std::span<const std::int32_t>(recent_).last(std::min(recent_.size(), history_limit_));
  }

  // A copy of this session (state, logits, recent tokens), sharing the model.
  Session fork() const { return *this; }
  // Rewinds this session to a snapshot of a session of the same model.
  void restore(const Session& snapshot) {
    detail::check(snapshot.model_ == model_, "Session: cannot restore a snapshot of another model");
    *this = snapshot;
  }

  // Feeds tokens in chunks of at most `chunk`; returns the last token's logits. on_progress(done,
  // total) is called after each chunk.
  std::span<const float> prefill(std::span<const std::int32_t> tokens, index_t chunk = 512,
                                 const std::function<void(index_t, index_t)>& on_progress = {}) {
    detail::check(chunk > 0, "Session: chunk size must be > 0, got ", chunk);
    const auto total = static_cast<index_t>(tokens.size());
    for (index_t t = 0; t < total; t += chunk) {
      const index_t n = std::min(chunk, total - t);
      run(tokens.subspan(static_cast<std::size_t>(t), static_cast<std::size_t>(n)));
      if (on_progress) on_progress(t + n, total);
    }
    return logits();
  }

  // Feeds one token; returns its logits.
  std::span<const float> decode(std::int32_t token) {
    run(std::span<const std::int32_t>(&token, 1));
    return logits();
  }

  // One decode step for several sessions of the same model at once (each at its own position):
  // session i is fed tokens[i]. Sessions may differ from call to call (join and leave freely).
  static void decode_batch(std::span<Session* const> sessions,
                           std::span<const std::int32_t> tokens) {
    detail::check(sessions.size() == tokens.size(), "Session: decode_batch of ", sessions.size(),
                  " sessions with ", tokens.size(), " tokens");
    if (sessions.empty()) return;
    detail::check(sessions[0] != nullptr, "Session: decode_batch session 0 is null");
    const LanguageModel& model = *sessions[0]->model_;
    const auto b = static_cast<index_t>(sessions.size());
    ScratchBuffer<SequenceState*> states(b);
    ScratchBuffer<index_t> lengths(b);
    for (index_t i = 0; i < b; ++i) {
      detail::check(sessions[i] != nullptr, "Session: decode_batch session ", i, " is null");
      detail::check(sessions[i]->model_.get() == &model, "Session: decode_batch session ", i,
                    " runs another model than session 0");
      states[i] = sessions[i]->state_.get();
      lengths[i] = 1;
    }
    const index_t n = model.info().n_logits;
    ScratchBuffer<float> logits(b * n);
    model.forward_batch(std::span<SequenceState* const>(states.data(), sessions.size()),
                        std::span<const index_t>(lengths.data(), sessions.size()), tokens,
                        logits.view<2>({b, n}), LogitsFor::last_token);
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      Session& s = *sessions[i];
      s.logits_.assign(logits.data() + static_cast<index_t>(i) * n,
                       logits.data() + static_cast<index_t>(i + 1) * n);
      s.remember(tokens.subspan(i, 1));
    }
  }

  // Samples and feeds up to n tokens, calling on_token(token) for each; stops early when
  // on_token returns false. Needs logits (a prefill or decode first). Memory stays constant for
  // models with bounded state, however large n is.
  void generate(Sampler& sampler, index_t n, const std::function<bool(std::int32_t)>& on_token) {
    detail::check(!logits_.empty(), "Session: generate needs a prompt first (prefill or decode)");
    for (index_t i = 0; i < n; ++i) {
      const std::int32_t token = sampler.sample(vocab_logits(), recent_tokens());
      if (!on_token(token)) return;
      decode(token);
    }
  }

 private:
  void run(std::span<const std::int32_t> tokens) {
    if (tokens.empty()) return;
    const index_t n = model_->info().n_logits;
    ScratchBuffer<float> row(n);
    SequenceState* states[] = {state_.get()};
    const index_t lengths[] = {static_cast<index_t>(tokens.size())};
    model_->forward_batch(states, lengths, tokens, row.view<2>({1, n}), LogitsFor::last_token);
    logits_.assign(row.begin(), row.end());
    remember(tokens);
  }

  // recent_ holds up to twice the history and drops its older part in place when full, so that
  // remembering allocates nothing once it has reached that size.
  void remember(std::span<const std::int32_t> tokens) {
    if (history_limit_ == 0) return;
    for (std::int32_t t : tokens) {
      if (recent_.size() >= 2 * history_limit_)
        recent_.erase(recent_.begin(),
                      recent_.end() - static_cast<std::ptrdiff_t>(history_limit_ - 1));
      recent_.push_back(t);
    }
  }

  std::shared_ptr<const LanguageModel> model_;
  std::unique_ptr<SequenceState> state_;
  std::vector<float> logits_;
  std::vector<std::int32_t> recent_;
  std::size_t history_limit_;
};

}  // namespace samba
