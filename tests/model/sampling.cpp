#include <cmath>
#include <limits>
#include <map>

#include <catch2/catch.hpp>
#include <samba/samba.hpp>

using namespace samba;

namespace {
SamplingParams params(float temperature, index_t top_k = 0, float top_p = 1.0f, float min_p = 0.0f,
                      float penalty = 1.0f, std::uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  p.repetition_penalty = penalty;
  p.seed = seed;
  return p;
}

std::map<std::int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
  std::map<std::int32_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.sample(logits)];
  return h;
}
}  // namespace

TEST_CASE("greedy sampling picks the largest logit", "[model][sampling]") {
  Sampler greedy(params(0.0f));
  CHECK(greedy.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 2.9f}) == 1);
  // top_k = 1 is greedy at any temperature.
  Sampler top1(params(5.0f, 1));
  for (int i = 0; i < 50; ++i) CHECK(top1.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 2.9f}) == 1);
}

TEST_CASE("temperature sampling follows softmax(logits / T)", "[model][sampling]") {
  const std::vector<double> p = {0.5, 0.3, 0.15, 0.05};
  std::vector<float> logits;
  for (double v : p) logits.push_back(static_cast<float>(std::log(v)) + 7.0f);  // shift-invariant
  Sampler s(params(1.0f, 0, 1.0f, 0.0f, 1.0f, 42));
  const int n = 40000;
  const auto h = histogram(s, logits, n);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double f = h.count(static_cast<std::int32_t>(i))
                         ? h.at(static_cast<std::int32_t>(i)) / double(n)
                         : 0.0;
    const double sigma = std::sqrt(p[i] * (1 - p[i]) / n);
    INFO("token " << i << " frequency " << f << " expected " << p[i]);
    CHECK(std::abs(f - p[i]) < 5 * sigma);
  }
  // T = 2 flattens: p_i ∝ sqrt(p_i).
  Sampler hot(params(2.0f, 0, 1.0f, 0.0f, 1.0f, 7));
  const auto hh = histogram(hot, logits, n);
  double z = 0;
  for (double v : p) z += std::sqrt(v);
  CHECK(std::abs(hh.at(3) / double(n) - std::sqrt(0.05) / z) < 0.01);
}

TEST_CASE("top-k, top-p and min-p cut the tail", "[model][sampling]") {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  Sampler k2(params(1.0f, 2));
  for (const auto& [tok, count] : histogram(k2, logits, 2000)) CHECK(tok < 2);
  Sampler p70(params(1.0f, 0, 0.7f));  // 0.5 + 0.3 reaches 0.7: tokens 0 and 1
  for (const auto& [tok, count] : histogram(p70, logits, 2000)) CHECK(tok < 2);
  Sampler p40(params(1.0f, 0, 0.4f));  // 0.5 alone reaches 0.4
  for (const auto& [tok, count] : histogram(p40, logits, 500)) CHECK(tok == 0);
  Sampler minp(params(1.0f, 0, 1.0f, 0.35f));  // keep p >= 0.35 · 0.5 = 0.175: tokens 0 and 1
  const auto h = histogram(minp, logits, 2000);
  for (const auto& [tok, count] : h) CHECK(tok < 2);
  CHECK(h.size() == 2);
}

TEST_CASE("repetition penalty demotes recent tokens", "[model][sampling]") {
  const std::vector<float> logits = {2.0f, 1.9f, -1.0f};
  const std::vector<std::int32_t> recent = {0, 0, 2};
  Sampler plain(params(0.0f));
  CHECK(plain.sample(logits, recent) == 0);
  Sampler penalised(params(0.0f, 0, 1.0f, 0.0f, 1.2f));
  CHECK(penalised.sample(logits, recent) == 1);  // 2.0 / 1.2 < 1.9
}

TEST_CASE("sampling is seeded and survives extreme logits", "[model][sampling]") {
  std::vector<float> logits(100);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  Sampler a(params(1.0f, 0, 0.9f, 0.0f, 1.0f, 5)), b(params(1.0f, 0, 0.9f, 0.0f, 1.0f, 5));
  for (int i = 0; i < 100; ++i) CHECK(a.sample(logits) == b.sample(logits));

  const float inf = std::numeric_limits<float>::infinity();
  Sampler s(params(0.7f, 0, 0.95f, 0.05f));
  CHECK(s.sample(std::vector<float>{1e30f, -1e30f, 3.0f}) == 0);
  CHECK(s.sample(std::vector<float>{-inf, 5.0f, std::nanf("")}) == 1);
  CHECK(s.sample(std::vector<float>{-3e38f, -3.1e38f}) >= 0);
  CHECK(s.sample(std::vector<float>{inf, 1.0f}) == 0);
  CHECK_THROWS_WITH(s.sample(std::vector<float>{-inf, std::nanf("")}),
                    Catch::Contains("no finite logit"));
  CHECK_THROWS_WITH(s.sample(std::vector<float>{}), Catch::Contains("empty logits"));

  // The largest and smallest floats at temperatures near 0 and near infinity: always a valid id,
  // with a repetition penalty that pushes ±FLT_MAX further out (to ±inf) on top.
  const float big = std::numeric_limits<float>::max();
  const float tiny = std::numeric_limits<float>::denorm_min();
  const std::vector<float> wild{-big, tiny, big, -tiny, 0.0f, big / 2};
  const std::int32_t recent[] = {0, 2};
  for (float t : {1e-30f, 1e-3f, 1.0f, 1e30f})
    for (float penalty : {1.0f, 0.5f, 2.0f}) {
      Sampler w(params(t, 0, 0.99f, 0.01f, penalty, 3));
      for (int i = 0; i < 20; ++i) {
        const std::int32_t id = w.sample(wild, recent);
        INFO("temperature " << t << " penalty " << penalty);
        CHECK(id >= 0);
        CHECK(id < 6);
      }
    }
}

TEST_CASE("bad sampling parameters are rejected", "[model][sampling]") {
  CHECK_THROWS_WITH(Sampler(params(-1.0f)), Catch::Contains("temperature must be finite and >= 0"));
  CHECK_THROWS_WITH(Sampler(params(1.0f, -3)), Catch::Contains("top_k must be >= 0"));
  CHECK_THROWS_WITH(Sampler(params(1.0f, 0, 0.0f)), Catch::Contains("top_p must be in (0, 1]"));
  CHECK_THROWS_WITH(Sampler(params(1.0f, 0, 1.0f, 1.5f)),
                    Catch::Contains("min_p must be in [0, 1]"));
  CHECK_THROWS_WITH(Sampler(params(1.0f, 0, 1.0f, 0.0f, 0.0f)),
                    Catch::Contains("repetition_penalty"));
}
