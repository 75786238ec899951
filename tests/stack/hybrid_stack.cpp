#include "support.hpp"

using namespace samba;

namespace {
ModelDims tiny_dims(index_t n_blocks) {
  ModelDims d;
  d.d_model = 16;
  d.n_blocks = n_blocks;
  d.n_heads = 4;
  d.n_kv_heads = 2;
  d.window = 6;
  d.d_ff = 24;
  d.d_state = 4;
  d.dt_rank = 2;
  d.ssm_head_dim = 8;  // Mamba-2: 4 heads of 8 in d_inner 32, in 2 groups
  d.ssm_groups = 2;
  return d;
}

template <class Stack>
void check_against_reference(index_t n_blocks, index_t T) {
  const auto stack = Stack::random(make_config<Stack>(tiny_dims(n_blocks)), 99);
  HostBuffer<float> x = test::random_activations(T, 16, 5);
  const auto xv = x.view<2>({T, 16});
  const HostBuffer<float> whole = test::run_chunked(stack, xv, {T});
  const HostBuffer<float> tokens = test::run_chunked(stack, xv, {1});
  const HostBuffer<float> mixed = test::run_chunked(stack, xv, {5, 1, 0, 9});
  const auto want = reference::forward(stack, reference::Matrix::from(xv));
  CHECK(test::rel_error(whole.view<2>({T, 16}), want) <= 5e-5);
  CHECK(test::rel_error(tokens.view<2>({T, 16}), whole.view<2>({T, 16})) <= 2e-5);
  CHECK(test::rel_error(mixed.view<2>({T, 16}), whole.view<2>({T, 16})) <= 2e-5);
}
}  // namespace

TEST_CASE("every preset matches the reference, chunked == whole == token-by-token", "[stack]") {
  // 40 tokens: several times the window of 6.
  SECTION("Samba") {
    check_against_reference<presets::Samba<>>(8, 40);
  }
  SECTION("Samba, pattern cut mid-way") {
    check_against_reference<presets::Samba<>>(6, 40);
  }
  SECTION("MambaSWAMLP") {
    check_against_reference<presets::MambaSWAMLP<>>(6, 40);
  }
  SECTION("MambaMLP") {
    check_against_reference<presets::MambaMLP<>>(4, 40);
  }
  SECTION("MambaOnly") {
    check_against_reference<presets::MambaOnly<>>(3, 40);
  }
  SECTION("Llama") {
    check_against_reference<presets::Llama<>>(4, 40);
  }
  SECTION("LlamaSWA") {
    check_against_reference<presets::LlamaSWA<>>(4, 40);
  }
  SECTION("Samba, bf16 weights") {
    check_against_reference<presets::Samba<cpu, bf16>>(4, 40);
  }
  SECTION("SlidingGLA, past the recurrence's chunk") {
    check_against_reference<presets::SlidingGLA<>>(4, 70);
  }
  SECTION("SlidingRetNet, past the recurrence's chunk") {
    check_against_reference<presets::SlidingRetNet<>>(4, 70);
  }
  SECTION("NemotronH in its kind of order, past the recurrence's chunk") {
    using S = presets::NemotronH<>;
    auto cfg = make_config<S>(tiny_dims(6));
    cfg.order = parse_order("M-M*-M", "M-*", "hybrid_override_pattern");
    const auto stack = S::random(cfg, 8);
    const index_t T = 70;
    HostBuffer<float> x = test::random_activations(T, 16, 7);
    const auto xv = x.view<2>({T, 16});
    const auto want = reference::forward(stack, reference::Matrix::from(xv));
    CHECK(test::rel_error(test::run_chunked(stack, xv, {T}).view<2>({T, 16}), want) <= 5e-5);
    CHECK(test::rel_error(test::run_chunked(stack, xv, {1}).view<2>({T, 16}), want) <= 5e-5);
    CHECK(test::rel_error(test::run_chunked(stack, xv, {3, 0, 30}).view<2>({T, 16}), want) <= 5e-5);
  }
  SECTION("Mamba2") {
    check_against_reference<presets::Mamba2<>>(3, 40);
  }
  SECTION("Mamba2Hybrid, cyclic and in Nemotron-H's kind of order") {
    check_against_reference<presets::Mamba2Hybrid<>>(5, 40);
    using S = presets::Mamba2Hybrid<>;
    auto cfg = make_config<S>(tiny_dims(7));
    cfg.order = parse_order("M-M*-M-", "M-*", "hybrid_override_pattern");
    const auto stack = S::random(cfg, 7);
    const index_t T = 70;  // past the recurrence's chunk of 64
    HostBuffer<float> x = test::random_activations(T, 16, 6);
    const auto xv = x.view<2>({T, 16});
    const auto want = reference::forward(stack, reference::Matrix::from(xv));
    CHECK(test::rel_error(test::run_chunked(stack, xv, {T}).view<2>({T, 16}), want) <= 5e-5);
    CHECK(test::rel_error(test::run_chunked(stack, xv, {3, 1, 30}).view<2>({T, 16}), want) <= 5e-5);
  }
}

TEST_CASE("HybridStack follows an order given as data", "[stack][order]") {
  using S = presets::Samba<>;
  SECTION("random orders match the reference, chunked == whole == token-by-token") {
    Random rng(17);
    for (int trial = 0; trial < 6; ++trial) {
      const index_t n = 1 + static_cast<index_t>(rng.next() % 9);
      std::vector<index_t> order(static_cast<std::size_t>(n));
      for (auto& s : order) s = static_cast<index_t>(rng.next() % S::pattern_size);
      INFO("order " << describe_order(order, std::vector<std::string_view>{"M", "F", "A", "G"}));
      auto cfg = make_config<S>(tiny_dims(n));
      cfg.order = order;
      const auto stack = S::random(cfg, 100 + static_cast<std::uint64_t>(trial));
      CHECK(stack.order() == order);
      const index_t T = 23;
      HostBuffer<float> x = test::random_activations(T, 16, 6);
      const auto xv = x.view<2>({T, 16});
      const HostBuffer<float> whole = test::run_chunked(stack, xv, {T});
      const HostBuffer<float> tokens = test::run_chunked(stack, xv, {1});
      const HostBuffer<float> mixed = test::run_chunked(stack, xv, {4, 0, 7});
      CHECK(test::rel_error(whole.view<2>({T, 16}),
                            reference::forward(stack, reference::Matrix::from(xv))) <= 5e-5);
      CHECK(test::rel_error(tokens.view<2>({T, 16}), whole.view<2>({T, 16})) <= 2e-5);
      CHECK(test::rel_error(mixed.view<2>({T, 16}), whole.view<2>({T, 16})) <= 2e-5);
    }
  }
  SECTION("blocks are visited and built in the order, each slot's blocks in order") {
    std::vector<index_t> built, visited, slots;
    Random rng(3);
    const std::vector<index_t> order = parse_order("AMMFA", "MFAG");
    const auto stack = S::build(order, [&]<class Block>(std::type_identity<Block>, index_t b) {
      built.push_back(b);
      return Block::random(std::get<0>(make_config<HybridStack<Block>>(tiny_dims(1)).blocks), rng);
    });
    CHECK(built == std::vector<index_t>{0, 1, 2, 3, 4});
    stack.for_each_block([&]<class Block>(const Block&, index_t b) {
      visited.push_back(b);
      if constexpr (std::is_same_v<Block, PreNorm<MambaLayer<>>>) slots.push_back(0);
      if constexpr (std::is_same_v<Block, PreNorm<SwiGLU<>>>) slots.push_back(1);
      if constexpr (std::is_same_v<Block, PreNorm<SlidingWindowAttention<>>>) slots.push_back(2);
    });
    CHECK(visited == std::vector<index_t>{0, 1, 2, 3, 4});
    CHECK(slots == std::vector<index_t>{2, 0, 0, 1, 2});
    const auto state = stack.make_state();
    CHECK(std::get<0>(state.blocks).size() == 2);
    CHECK(std::get<2>(state.blocks).size() == 2);
    CHECK(std::get<3>(state.blocks).empty());
  }
  SECTION("bad orders are errors that say what is wrong") {
    auto cfg = make_config<S>(tiny_dims(3));
    cfg.order = {0, 1};
    CHECK_THROWS_WITH(S::random(cfg, 1),
                      "HybridStack: config.order has 2 entries, but n_blocks is 3");
    cfg.order = {0, 4, 1};
    CHECK_THROWS_WITH(S::random(cfg, 1),
                      "HybridStack: block 1 is pattern slot 4, but the "
                      "pattern has 4 slots (0 to 3)");
    // A state of a stack with the same depth but another order does not fit.
    cfg.order = {0, 1, 2};
    const auto a = S::random(cfg, 1);
    cfg.order = {0, 1, 1};
    const auto b = S::random(cfg, 1);
    auto state = b.make_state();
    HostBuffer<float> x(16), y(16);
    CHECK_THROWS_WITH(a.forward(state, x.view<2>({1, 16}), y.view<2>({1, 16})),
                      Catch::Contains("state made for a stack of another depth or order"));
  }
}

TEST_CASE("HybridStack lays blocks out cyclically to a runtime depth", "[stack]") {
  using S = presets::Samba<>;
  STATIC_REQUIRE(S::pattern_size == 4);
  CHECK(S::slot_count(6, 0) == 2);  // blocks 0, 4
  CHECK(S::slot_count(6, 1) == 2);  // blocks 1, 5
  CHECK(S::slot_count(6, 2) == 1);  // block 2
  CHECK(S::slot_count(6, 3) == 1);  // block 3
  CHECK(S::slot_count(1, 3) == 0);
  const auto stack = S::random(make_config<S>(tiny_dims(6)), 1);
  CHECK(stack.n_blocks() == 6);
  CHECK(stack.d_model() == 16);
  std::vector<index_t> order;
  stack.for_each_block([&](const auto&, index_t b) { order.push_back(b); });
  CHECK(order == std::vector<index_t>{0, 1, 2, 3, 4, 5});
  CHECK(stack.order() == std::vector<index_t>{0, 1, 2, 3, 0, 1});
  CHECK(stack.block<2>(0).layer().window() == 6);
}

TEST_CASE("HybridStack state: per-block states, position, constant size for Samba", "[stack]") {
  using S = presets::Samba<>;
  using L = presets::Llama<>;
  const auto samba = S::random(make_config<S>(tiny_dims(4)), 2);
  const auto llama = L::random(make_config<L>(tiny_dims(4)), 2);
  auto ss = samba.make_state();
  auto ls = llama.make_state();
  auto x = test::random_activations(8, 16, 1);
  HostBuffer<float> y(8 * 16);
  std::vector<std::size_t> samba_bytes, llama_bytes;
  for (int i = 0; i < 12; ++i) {
    samba.forward(ss, x.view<2>({8, 16}), y.view<2>({8, 16}));
    llama.forward(ls, x.view<2>({8, 16}), y.view<2>({8, 16}));
    samba_bytes.push_back(ss.bytes());
    llama_bytes.push_back(ls.bytes());
  }
  CHECK(ss.position == 96);
  // Once the window is full, Samba's state stops growing; Llama's KV cache keeps growing.
  CHECK(samba_bytes.back() == samba_bytes[1]);
  CHECK(llama_bytes.back() > 4 * llama_bytes[1]);
}

TEST_CASE("HybridStack rejects mismatched blocks and states", "[stack]") {
  using S = presets::MambaMLP<>;
  auto cfg = make_config<S>(tiny_dims(4));
  const auto stack = S::random(cfg, 3);
  const auto deeper = S::random(make_config<S>(tiny_dims(5)), 3);
  auto wrong_depth = deeper.make_state();
  HostBuffer<float> x(16), y(16);
  CHECK_THROWS_WITH(stack.forward(wrong_depth, x.view<2>({1, 16}), y.view<2>({1, 16})),
                    Catch::Contains("state made for a stack of another depth"));
  cfg.n_blocks = 0;
  CHECK_THROWS_WITH(S::random(cfg, 3), "HybridStack: n_blocks must be > 0, got 0");

  // Blocks of different widths.
  Random rng(1);
  using Block = PreNorm<SwiGLU<>>;
  CHECK_THROWS_WITH(HybridStack<Block>::build(2,
                                              [&](std::type_identity<Block>, index_t b) {
                                                return Block::random({{b == 0 ? 8 : 9, 4}}, rng);
                                              }),
                    "HybridStack: block 1 has d_model 9, block 0 has 8");
  // The user's own layer building order.
  std::vector<index_t> built;
  const auto s2 = HybridStack<Block, PreNorm<MambaLayer<>>>::build(
      3, [&]<class T>(std::type_identity<T>, index_t b) {
        built.push_back(b);
        if constexpr (std::is_same_v<T, Block>) {
          return Block::random({{8, 4}}, rng);
        } else {
          MambaConfig mc;
          mc.d_model = 8;
          return T::random({mc}, rng);
        }
      });
  CHECK(built == std::vector<index_t>{0, 1, 2});
  CHECK(s2.n_blocks() == 3);
}
