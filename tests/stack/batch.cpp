#include "support.hpp"

using namespace samba;

namespace {

ModelDims batch_dims() {
  ModelDims d;
  d.d_model = 16;
  d.n_blocks = 4;
  d.n_heads = 4;
  d.n_kv_heads = 2;
  d.window = 5;
  d.d_ff = 24;
  d.d_state = 4;
  return d;
}

// Runs sequences of different lengths alone (chunk by chunk), and as one ragged batch per step
// where every sequence contributes the next lengths[s] rows; sequences start at different steps
// (join) and stop early (leave). Both must give the same outputs.
template <class L>
void check_ragged_batches(const L& layer) {
  const index_t d = layer.d_model();
  // Per step, the rows each of 4 sequences contributes (0: not in this batch).
  const std::vector<std::vector<index_t>> steps = {{3, 0, 1, 0}, {1, 4, 1, 0}, {1, 1, 0, 2},
                                                   {0, 1, 1, 1}, {1, 1, 1, 1}, {1, 0, 7, 1},
                                                   {2, 1, 1, 1}, {1, 1, 1, 1}, {0, 1, 0, 9}};
  const std::size_t n_seq = 4;
  std::vector<index_t> total(n_seq, 0);
  for (const auto& st : steps)
    for (std::size_t s = 0; s < n_seq; ++s) total[s] += st[s];
  std::vector<HostBuffer<float>> inputs, alone, batched;
  for (std::size_t s = 0; s < n_seq; ++s) {
    inputs.push_back(test::random_activations(total[s], d, 50 + s));
    batched.emplace_back(total[s] * d);
    // Alone, in the same chunks.
    std::vector<index_t> chunks;
    for (const auto& st : steps)
      if (st[s] > 0) chunks.push_back(st[s]);
    alone.push_back(test::run_chunked(layer, inputs[s].view<2>({total[s], d}), chunks));
  }
  std::vector<typename L::State> states;
  for (std::size_t s = 0; s < n_seq; ++s) states.push_back(layer.make_state());
  std::vector<index_t> done(n_seq, 0);
  for (const auto& st : steps) {
    std::vector<typename L::State*> ptrs;
    std::vector<index_t> lengths;
    index_t rows = 0;
    for (std::size_t s = 0; s < n_seq; ++s)
      if (st[s] > 0) {
        ptrs.push_back(&states[s]);
        lengths.push_back(st[s]);
        rows += st[s];
      }
    HostBuffer<float> x(rows * d), y(rows * d);
    index_t r = 0;
    for (std::size_t s = 0; s < n_seq; ++s)
      if (st[s] > 0) {
        std::copy_n(inputs[s].data() + done[s] * d, st[s] * d, x.data() + r * d);
        r += st[s];
      }
    forward_batch(layer, std::span<typename L::State* const>(ptrs), lengths, x.view<2>({rows, d}),
                  y.view<2>({rows, d}));
    r = 0;
    for (std::size_t s = 0; s < n_seq; ++s)
      if (st[s] > 0) {
        std::copy_n(y.data() + r * d, st[s] * d, batched[s].data() + done[s] * d);
        r += st[s];
        done[s] += st[s];
      }
  }
  for (std::size_t s = 0; s < n_seq; ++s) {
    INFO("sequence " << s);
    CHECK(test::rel_error(batched[s].view<2>({total[s], d}), alone[s].view<2>({total[s], d})) <=
          1e-5);
  }
}

}  // namespace

TEST_CASE("ragged batches equal each sequence run alone", "[stack][batch]") {
  const auto dims = batch_dims();
  Random rng(3);
  SECTION("MambaLayer") {
    check_ragged_batches(
        MambaLayer<>::random(layer_config(dims, std::type_identity<MambaConfig>{}), rng));
  }
  SECTION("SlidingWindowAttention") {
    check_ragged_batches(SlidingWindowAttention<>::random(
        layer_config(dims, std::type_identity<AttentionConfig>{}), rng));
  }
  SECTION("CausalAttention, bf16") {
    check_ragged_batches(CausalAttention<cpu, bf16>::random(
        layer_config(dims, std::type_identity<AttentionConfig>{}), rng));
  }
  SECTION("SwiGLU (stateless)") {
    check_ragged_batches(
        SwiGLU<>::random(layer_config(dims, std::type_identity<SwiGLUConfig>{}), rng));
  }
  SECTION("Samba stack") {
    using S = presets::Samba<>;
    check_ragged_batches(S::random(make_config<S>(dims), 4));
  }
  SECTION("Llama stack") {
    using S = presets::Llama<>;
    check_ragged_batches(S::random(make_config<S>(dims), 4));
  }
}

TEST_CASE("ragged batches reject inconsistent input", "[stack][batch]") {
  const auto dims = batch_dims();
  using S = presets::Samba<>;
  const auto stack = S::random(make_config<S>(dims), 1);
  auto a = stack.make_state(), b = stack.make_state();
  HostBuffer<float> x(3 * 16), y(3 * 16);
  const auto xv = x.view<2>({3, 16});
  const auto yv = y.view<2>({3, 16});
  {
    S::State* states[] = {&a, &b};
    const index_t lengths[] = {1, 1};
    CHECK_THROWS_WITH(stack.forward_batch(states, lengths, xv, yv),
                      "HybridStack: the sequence lengths add up to 2 tokens but the input has 3");
  }
  {
    S::State* states[] = {&a, &a};
    const index_t lengths[] = {1, 2};
    CHECK_THROWS_WITH(stack.forward_batch(states, lengths, xv, yv),
                      "HybridStack: sequences 0 and 1 of a batch share one state");
  }
  {
    S::State* states[] = {&a, nullptr};
    const index_t lengths[] = {1, 2};
    CHECK_THROWS_WITH(stack.forward_batch(states, lengths, xv, yv),
                      Catch::Contains("state of sequence 1 is null"));
  }
  {
    S::State* states[] = {&a};
    const index_t lengths[] = {3, 0};
    CHECK_THROWS_WITH(stack.forward_batch(states, lengths, xv, yv),
                      Catch::Contains("a batch of 1 states but 2"));
  }
  CHECK(a.position == 0);  // nothing ran
}
