// Edges of the input space that the other tests pass by: empty chunks, a window of one token, a
// one-token sequence, states of another model. (Extreme Δ: tests/layers/mamba.cpp; extreme logits:
// tests/model/sampling.cpp; bad token ids and a session outliving its model's last other owner:
// tests/model/session.cpp.)
#include <filesystem>

#include "support.hpp"

using namespace samba;

namespace {

ModelDims dims(index_t window) {
  ModelDims d;
  d.d_model = 16;
  d.n_blocks = 4;
  d.n_heads = 4;
  d.n_kv_heads = 2;
  d.window = window;
  d.d_ff = 24;
  d.d_state = 4;
  d.dt_rank = 2;
  return d;
}

template <class Stack>
void check_empty_chunks() {
  const auto stack = Stack::random(make_config<Stack>(dims(3)), 5);
  const index_t T = 9, d = 16;
  HostBuffer<float> x = test::random_activations(T, d, 6);
  const auto xv = x.view<2>({T, d});
  // Empty chunks first, between and after real ones: the same output as without them.
  const HostBuffer<float> plain = test::run_chunked(stack, xv, {4, 5});
  const HostBuffer<float> with_empty = test::run_chunked(stack, xv, {0, 4, 0, 0, 5, 0});
  CHECK(std::equal(plain.begin(), plain.end(), with_empty.begin(), with_empty.end()));
  // An empty chunk leaves the state as it was.
  auto state = stack.make_state();
  HostBuffer<float> y(T * d);
  stack.forward(state, xv.slice(0, 4), y.view<2>({T, d}).slice(0, 4));
  const auto before = state;
  stack.forward(state, xv.slice(4, 0), y.view<2>({T, d}).slice(4, 0));
  CHECK(state.position == before.position);
  HostBuffer<float> a(d), b(d);
  auto copy = before;
  stack.forward(state, xv.slice(4, 1), a.view<2>({1, d}));
  stack.forward(copy, xv.slice(4, 1), b.view<2>({1, d}));
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

template <class Stack>
void check_one_token() {
  const auto stack = Stack::random(make_config<Stack>(dims(6)), 10);
  HostBuffer<float> x = test::random_activations(1, 16, 9);
  const auto xv = x.view<2>({1, 16});
  const HostBuffer<float> y = test::run_chunked(stack, xv, {1});
  CHECK(test::rel_error(y.view<2>({1, 16}),
                        reference::forward(stack, reference::Matrix::from(xv))) <= 5e-5);
}

}  // namespace

TEST_CASE("a chunk of 0 tokens changes nothing", "[stack][edge]") {
  SECTION("Samba") {
    check_empty_chunks<presets::Samba<>>();
  }
  SECTION("Llama") {
    check_empty_chunks<presets::Llama<>>();
  }
  SECTION("MambaOnly") {
    check_empty_chunks<presets::MambaOnly<>>();
  }
  SECTION("a session fed an empty prompt") {
    const auto model = load_model(std::filesystem::path(SAMBA_MODEL_DATA_DIR) / "samba_f32");
    Session s(model);
    CHECK(s.prefill(std::span<const std::int32_t>{}).empty());
    CHECK(s.position() == 0);
    const std::int32_t one[] = {3};
    s.prefill(one);
    const std::vector<float> logits(s.logits().begin(), s.logits().end());
    s.prefill(std::span<const std::int32_t>{}, 1);
    CHECK(s.position() == 1);
    CHECK(std::equal(logits.begin(), logits.end(), s.logits().begin(), s.logits().end()));
  }
}

TEST_CASE("window 1: each token sees only itself", "[stack][edge]") {
  const index_t T = 12, d = 16;
  HostBuffer<float> x = test::random_activations(T, d, 7);
  const auto xv = x.view<2>({T, d});
  SECTION("SlidingWindowAttention") {
    AttentionConfig c;
    c.d_model = d;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.window = 1;
    Random rng(3);
    const auto layer = SlidingWindowAttention<>::random(c, rng);
    const auto whole = test::run_chunked(layer, xv, {T});
    const auto steps = test::run_chunked(layer, xv, {1});
    const auto want = reference::forward(layer, reference::Matrix::from(xv));
    CHECK(test::rel_error(whole.view<2>({T, d}), want) <= 2e-5);
    CHECK(test::rel_error(steps.view<2>({T, d}), want) <= 2e-5);
    // Softmax over one key is 1: the output of a token does not depend on any other token.
    HostBuffer<float> alone(d);
    auto state = layer.make_state();
    layer.forward(state, xv.slice(T - 1, 1), alone.view<2>({1, d}));
    CHECK(test::rel_error(alone.view<2>({1, d}), whole.view<2>({T, d}).slice(T - 1, 1)) <= 1e-6);
  }
  SECTION("Samba stack") {
    using S = presets::Samba<>;
    const auto stack = S::random(make_config<S>(dims(1)), 8);
    const auto whole = test::run_chunked(stack, xv, {T});
    const auto mixed = test::run_chunked(stack, xv, {1, 5, 2, 4});
    const auto want = reference::forward(stack, reference::Matrix::from(xv));
    CHECK(test::rel_error(whole.view<2>({T, d}), want) <= 5e-5);
    CHECK(test::rel_error(mixed.view<2>({T, d}), whole.view<2>({T, d})) <= 2e-5);
  }
}

TEST_CASE("a one-token sequence matches the reference for every preset", "[stack][edge]") {
  check_one_token<presets::Samba<>>();
  check_one_token<presets::MambaSWAMLP<>>();
  check_one_token<presets::Llama<>>();
  check_one_token<presets::LlamaSWA<>>();
  check_one_token<presets::MambaOnly<>>();
}

TEST_CASE("a state made for another size is an error, not undefined behaviour", "[stack][edge]") {
  using S = presets::Samba<>;
  const auto stack = S::random(make_config<S>(dims(4)), 11);
  HostBuffer<float> x(16), y(16);
  SECTION("a stack of another width") {
    ModelDims wide = dims(4);
    wide.d_model = 24;
    auto other = S::random(make_config<S>(wide), 11).make_state();
    CHECK_THROWS_AS(stack.forward(other, x.view<2>({1, 16}), y.view<2>({1, 16})), error);
  }
  SECTION("a stack of another window") {
    auto other = S::random(make_config<S>(dims(5)), 11).make_state();
    CHECK_THROWS_AS(stack.forward(other, x.view<2>({1, 16}), y.view<2>({1, 16})), error);
  }
  SECTION("a stack of another d_state") {
    ModelDims more = dims(4);
    more.d_state = 8;
    auto other = S::random(make_config<S>(more), 11).make_state();
    CHECK_THROWS_AS(stack.forward(other, x.view<2>({1, 16}), y.view<2>({1, 16})), error);
  }
  SECTION("a loaded model's state given to another model") {
    const std::filesystem::path data = SAMBA_MODEL_DATA_DIR;
    const auto a = load_model(data / "samba_f32");
    const auto b = load_model(data / "samba_f32");  // same checkpoint, another model object
    auto state = b->make_state();
    SequenceState* states[] = {state.get()};
    const index_t lengths[] = {1};
    const std::int32_t tokens[] = {1};
    HostBuffer<float> logits(a->info().n_logits);
    CHECK_THROWS_WITH(
        a->forward_batch(states, lengths, tokens, logits.view<2>({1, a->info().n_logits}),
                         LogitsFor::last_token),
        Catch::Contains("made by another model"));
  }
}
