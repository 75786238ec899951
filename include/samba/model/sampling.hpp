// Sampling the next token from a row of logits.
//
// In order: repetition penalty on recently seen tokens (CTRL's rule: a positive logit is divided by
// the penalty, a negative one multiplied), then greedy argmax if temperature is 0; otherwise
// top-k, softmax at the temperature, top-p (the smallest set of most likely tokens whose mass
// reaches p), min-p (drop tokens below min_p × the top probability), and a draw from what is left,
// with the sampler's own seeded generator. NaN logits count as −∞; a row with nothing finite is an
// error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "samba/core/error.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"

namespace samba {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy
  index_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off
  std::uint64_t seed = 0;

  void validate() const {
    detail::check(std::isfinite(temperature) && temperature >= 0.0f,
                  "sampling: temperature must be finite and >= 0, got ", temperature);
    detail::check(top_k >= 0, "sampling: top_k must be >= 0, got ", top_k);
    detail::check(top_p > 0.0f && top_p <= 1.0f, "sampling: top_p must be in (0, 1], got ", top_p);
    detail::check(min_p >= 0.0f && min_p <= 1.0f, "sampling: min_p must be in [0, 1], got ", min_p);
    detail::check(std::isfinite(repetition_penalty) && repetition_penalty > 0.0f,
                  "sampling: repetition_penalty must be finite and > 0, got ", repetition_penalty);
  }
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
    params_.validate();
  }

  const SamplingParams& params() const { return params_; }

  // `recent`: tokens the repetition penalty applies to (each counted once).
  std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> recent = {}) {
    detail::check(!logits.empty(), "sampling: empty logits row");
    const auto n = static_cast<index_t>(logits.size());
    scores_.assign(logits.begin(), logits.end());
    for (float& s : scores_)
      if (std::isnan(s)) s = -std::numeric_limits<float>::infinity();
    if (params_.repetition_penalty != 1.0f)
      for (std::int32_t t : recent)
        if (t >= 0 && t < n) {
          float& s = scores_[static_cast<std::size_t>(t)];
          s = s > 0.0f ? s / params_.repetition_penalty : s * params_.repetition_penalty;
        }
    const auto best = std::max_element(scores_.begin(), scores_.end());
    detail::check(std::isfinite(*best) || *best == std::numeric_limits<float>::infinity(),
                  "sampling: no finite logit in the row");
    if (params_.temperature == 0.0f || *best == std::numeric_limits<float>::infinity())
      return static_cast<std::int32_t>(best - scores_.begin());

    // Candidates sorted by score, best first (only the top k when top_k is set).
    order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), 0);
    const index_t k = params_.top_k > 0 ? std::min(params_.top_k, n) : n;
    auto by_score = [&](std::int32_t a, std::int32_t b) {
      return scores_[static_cast<std::size_t>(a)] > scores_[static_cast<std::size_t>(b)];
    };
    std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), by_score);
    order_.resize(static_cast<std::size_t>(k));

    // Softmax at the temperature, in double, relative to the best score (so exp never overflows).
    probs_.resize(order_.size());
    const double top = scores_[static_cast<std::size_t>(order_[0])];
    double sum = 0.0;
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const double z = (scores_[static_cast<std::size_t>(order_[i])] - top) / params_.temperature;
      sum += probs_[i] = std::exp(z);  // exp(−∞) = 0
    }
    std::size_t keep = order_.size();
    if (params_.top_p < 1.0f) {
      double mass = 0.0;
      for (std::size_t i = 0; i < keep; ++i) {
        mass += probs_[i] / sum;
        if (mass >= params_.top_p) {
          keep = i + 1;
          break;
        }
      }
    }
    if (params_.min_p > 0.0f) {
      const double floor = params_.min_p * probs_[0];  // probs_[0] is the largest (= 1 before norm)
      while (keep > 1 && probs_[keep - 1] < floor) --keep;
    }
    double kept = 0.0;
    for (std::size_t i = 0; i < keep; ++i) kept += probs_[i];
    double u = static_cast<double>(rng_.uniform()) * kept;
    for (std::size_t i = 0; i < keep; ++i) {
      u -= probs_[i];
      if (u < 0.0) return order_[i];
    }
    return order_[keep - 1];
  }

 private:
  SamplingParams params_;
  Random rng_;
  std::vector<float> scores_;
  std::vector<std::int32_t> order_;
  std::vector<double> probs_;
};

}  // namespace samba
