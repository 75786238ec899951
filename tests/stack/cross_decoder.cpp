#include "support.hpp"

using namespace samba;

namespace {

DiffAttentionConfig small_diff(index_t d, index_t window, index_t layer_index) {
  return test::diff_config(d, 4, 2, 3, window, layer_index);
}

CrossDecoder<>::Config small_cross(index_t d, index_t pairs, index_t first_layer) {
  CrossDecoder<>::Config c;
  c.memory = test::small_mamba(d, 4, 4, 2, 3);
  c.shared = small_diff(d, 0, first_layer + 1);
  c.n_pairs = pairs;
  c.mlp = {d, 2 * d + 1};
  return c;
}

// A SambaY stack as Phi-4-mini-flash lays it out: n_self self-decoder layers (even: Mamba, odd:
// sliding-window differential attention, each followed by an MLP block), then the cross-decoder
// (memory Mamba, shared attention, `pairs` GMU + cross-attention pairs).
presets::SambaY<> small_sambay(index_t d, index_t n_self, index_t W, index_t pairs,
                               std::uint64_t seed) {
  using Stack = presets::SambaY<>;
  std::vector<index_t> order;
  for (index_t i = 0; i < n_self; ++i) {
    order.push_back(i % 2 == 0 ? 0 : 2);
    order.push_back(1);
  }
  order.push_back(3);
  Random rng(seed);
  return Stack::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
    if constexpr (std::is_same_v<Block, CrossDecoder<>>) {
      return CrossDecoder<>::random(small_cross(d, pairs, n_self), rng);
    } else {
      using L = typename Block::layer_type;
      typename Block::Config c;
      if constexpr (std::is_same_v<L, MambaLayer<>>) {
        c.layer = test::small_mamba(d, 4, 4, 2, 3);
      } else if constexpr (std::is_same_v<L, SwiGLU<>>) {
        c.layer = {d, 2 * d + 1};
      } else {
        c.layer = small_diff(d, W, b / 2);
      }
      return Block::random(c, rng);
    }
  });
}

}  // namespace

TEST_CASE("CrossDecoder matches the reference, whole, chunked and token by token",
          "[stack][cross_decoder]") {
  const index_t d = 12, T = 31;
  const index_t pairs = GENERATE(0, 1, 3);
  Random rng(static_cast<std::uint64_t>(pairs + 3));
  const auto decoder = CrossDecoder<>::random(small_cross(d, pairs, 4), rng);
  auto x = test::random_activations(T, d, 71);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(decoder, reference::Matrix::from(xv));
  INFO("pairs " << pairs);
  for (const auto& chunks : std::vector<std::vector<index_t>>{{T}, {1}, {3, 0, 5, 1}}) {
    const auto y = test::run_chunked(decoder, xv, chunks);
    CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-5);
  }
  CHECK(decoder.n_layers() == 2 + 2 * pairs);
}

TEST_CASE("CrossDecoder: a ragged batch equals its sequences run alone", "[stack][cross_decoder]") {
  const index_t d = 12, T = 19;
  Random rng(4);
  const auto decoder = CrossDecoder<>::random(small_cross(d, 2, 0), rng);
  auto x = test::random_activations(T, d, 73);
  const auto states = test::check_batch_equals_alone(decoder, x.view<2>({T, d}), {6, 0, 1, 12});
  // Only the shared cache grows: it holds every token of its sequence.
  CHECK(states[3].kv.position == 12);
  CHECK(states[3].kv.capacity >= 12);
  CHECK(states[1].kv.position == 0);
}

TEST_CASE("SambaY stack matches the reference past the window, in any chunking",
          "[stack][cross_decoder]") {
  const index_t d = 12, W = 5, T = 4 * W + 3;
  const auto stack = small_sambay(d, 4, W, 2, 17);
  CHECK(stack.n_blocks() == 9);
  auto x = test::random_activations(T, d, 79);
  const auto xv = x.view<2>({T, d});
  const auto want = reference::forward(stack, reference::Matrix::from(xv));
  for (const auto& chunks : std::vector<std::vector<index_t>>{{T}, {1}, {W + 1, 2, 0, 7}}) {
    const auto y = test::run_chunked(stack, xv, chunks);
    CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-5);
  }
  // The self-decoder's state is bounded; only the cross-decoder's shared cache grows.
  auto short_state = stack.make_state(), long_state = stack.make_state();
  HostBuffer<float> y(T * d);
  stack.forward(short_state, xv.slice(0, W), y.view<2>({T, d}).slice(0, W));
  stack.forward(long_state, xv, y.view<2>({T, d}));
  auto self_bytes = [](const presets::SambaY<>::State& s) {
    std::size_t n = 0;
    for (const auto& a : std::get<2>(s.blocks)) n += a.bytes();
    for (const auto& m : std::get<0>(s.blocks)) n += m.bytes();
    return n;
  };
  CHECK(self_bytes(long_state) == self_bytes(short_state));
  CHECK(std::get<3>(long_state.blocks)[0].kv.position == T);
}

TEST_CASE("CrossDecoder refuses mismatched layers", "[stack][cross_decoder]") {
  const index_t d = 12;
  Random rng(2);
  const auto good = CrossDecoder<>::random(small_cross(d, 1, 0), rng);
  auto gmus = good.gmus();
  auto cross = good.cross();
  gmus.push_back(gmus[0]);
  CHECK_THROWS_WITH(CrossDecoder<>(good.memory(), good.shared(), gmus, cross),
                    Catch::Contains("2 GMU layers and 1 cross-attention layers"));
  auto wide = small_diff(d, 0, 3);
  wide.n_kv_heads = 4;
  auto cross_wide = cross;
  cross_wide[0].mixer = DifferentialCrossAttention<>::random(wide, rng);
  CHECK_THROWS_WITH(CrossDecoder<>(good.memory(), good.shared(), good.gmus(), cross_wide),
                    Catch::Contains("cross-attention layer 0 has kv_dim 12, the shared layer's "
                                    "cache has 6"));
}
