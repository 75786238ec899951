// Model's options around the stack (RecurrentGemma's): the embedding scale and the logit soft cap,
// each against the model without it; bad values are refused by name. The checkpoint tests
// (tests/model/load.cpp, recurrent_gemma_*) check both against PyTorch.
#include <cmath>
#include <vector>

#include "support.hpp"

using namespace samba;

namespace {

using Stack = presets::Llama<cpu, float>;

Stack small_stack() {
  ModelDims d;
  d.d_model = 8;
  d.n_blocks = 2;
  d.n_heads = 2;
  d.d_ff = 12;
  return Stack::random(make_config<Stack>(d), 5);
}

// The same random weights every time, the head tied.
Model<Stack> small_model(ModelOptions options) {
  Random rng(9);
  Tensor<float> table = detail::random_matrix<float>(11, 8, rng);
  const RMSNormConfig nc{8, 1e-5f};
  return Model<Stack>(small_stack(), 11, std::move(table),
                      RMSNorm<cpu>(nc, RMSNormWeights::random(nc, rng)), Tensor<float>{}, options);
}

std::vector<float> logits_of(const Model<Stack>& m, const std::vector<std::int32_t>& tokens) {
  auto state = m.make_state();
  std::vector<float> out(tokens.size() * static_cast<std::size_t>(m.n_logits()));
  m.forward(state, tokens,
            MatrixView<float>(out.data(), {static_cast<index_t>(tokens.size()), m.n_logits()}));
  return out;
}

}  // namespace

TEST_CASE("Model: the embedding scale and the logit soft cap", "[model][options]") {
  const std::vector<std::int32_t> tokens = {3, 0, 10, 7, 7, 1};
  // A scaled embedding lookup is the lookup of a scaled table (with the unscaled table as the
  // head, as the tied model has).
  ModelOptions scaled;
  scaled.embedding_scale = 2.5f;
  const auto a = small_model(scaled);
  Random rng(9);
  Tensor<float> table = detail::random_matrix<float>(11, 8, rng);
  Tensor<float> head = table;
  HostBuffer<float> big(table.numel());
  for (index_t i = 0; i < table.numel(); ++i) big[i] = table.data()[i] * 2.5f;
  const RMSNormConfig nc{8, 1e-5f};
  const Model<Stack> b(small_stack(), 11, Tensor<float>(Shape{11, 8}, std::move(big)),
                       RMSNorm<cpu>(nc, RMSNormWeights::random(nc, rng)), std::move(head));
  CHECK(logits_of(a, tokens) == logits_of(b, tokens));
  CHECK(logits_of(a, tokens) != logits_of(small_model({}), tokens));

  // The cap: cap · tanh(logits / cap) of the uncapped logits.
  ModelOptions capped;
  capped.logit_soft_cap = 0.7f;
  const std::vector<float> plain = logits_of(small_model({}), tokens);
  const std::vector<float> got = logits_of(small_model(capped), tokens);
  REQUIRE(got.size() == plain.size());
  float biggest = 0.0f;
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i] == Approx(0.7f * std::tanh(plain[i] / 0.7f)).margin(1e-6));
    CHECK(std::abs(got[i]) < 0.7f);
    biggest = std::max(biggest, std::abs(plain[i]));
  }
  CHECK(biggest > 0.7f);  // the cap changed something

  ModelOptions bad;
  bad.embedding_scale = 0.0f;
  CHECK_THROWS_WITH(small_model(bad),
                    Catch::Contains("embedding_scale must be finite and non-zero"));
  bad.embedding_scale = std::nanf("");
  CHECK_THROWS_WITH(small_model(bad), Catch::Contains("embedding_scale"));
  bad = {};
  bad.logit_soft_cap = -1.0f;
  CHECK_THROWS_WITH(small_model(bad), Catch::Contains("logit_soft_cap must be finite and >= 0"));
}

TEST_CASE("RecurrentGemma's embedding scale is sqrt(d_model) rounded to bf16", "[model][options]") {
  // HF keeps the normalizer in a bf16 buffer: 2560 gives 50.5, not 50.596.
  CHECK(detail::round_to_bf16(std::sqrt(2560.0)) == 50.5f);
  CHECK(detail::round_to_bf16(std::sqrt(16.0)) == 4.0f);
  // Halfway between two bf16 neighbours: to the even one.
  CHECK(detail::round_to_bf16(1.0 + std::ldexp(1.0, -8)) == 1.0f);
  CHECK(detail::round_to_bf16(1.0 + 3 * std::ldexp(1.0, -8)) == 1.015625f);
  // Just past halfway: up.
  CHECK(detail::round_to_bf16(1.0 + std::ldexp(1.0, -8) + 1e-9) == 1.0078125f);
}
