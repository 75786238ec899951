// Stacks on the CUDA backend: the Samba and Llama presets against the reference, ragged batches
// against one-sequence runs, state snapshots, the allocator's reuse, and the graph decoder against
// eager steps (bitwise: the same kernels run either way).
#include "support.cuh"

namespace samba {
namespace {

using test::as_matrix;
using test::rel_error;

ModelDims tiny_dims(index_t n_blocks) {
  ModelDims d;
  d.d_model = 48;
  d.n_blocks = n_blocks;
  d.n_heads = 4;
  d.n_kv_heads = 2;
  d.window = 24;
  d.d_ff = 100;
  d.d_state = 16;
  return d;
}

// Checked by the compiler, device or not.
static_assert(Backend<cuda>);
static_assert(Layer<MambaLayer<cuda, bf16>> && Layer<SlidingWindowAttention<cuda, f16>> &&
              Layer<CausalAttention<cuda>> && Layer<SwiGLU<cuda, bf16>> && Layer<RMSNorm<cuda>>);
static_assert(Layer<presets::Samba<cuda, bf16>> && Layer<presets::Llama<cuda, float>>);
static_assert(std::is_same_v<presets::Samba<cuda>::backend_type, cuda>);

TEMPLATE_TEST_CASE("CUDA Samba and Llama stacks match the reference", "[cuda][stack]", float,
                   bf16) {
  using W = TestType;
  const index_t T = 70, d = 48;
  const auto x = test::random_activations(T, d, 9);
  const auto samba =
      presets::Samba<cuda, W>::random(make_config<presets::Samba<cuda, W>>(tiny_dims(6)), 1);
  const auto llama =
      presets::Llama<cuda, W>::random(make_config<presets::Llama<cuda, W>>(tiny_dims(4)), 1);
  const double tol = 2 * test::tolerance_v<W>;
  CHECK(rel_error(test::run_whole(samba, x, d), reference::forward(samba, as_matrix(x, d))) < tol);
  CHECK(rel_error(test::run_chunked(samba, x, d, {1, 13}),
                  reference::forward(samba, as_matrix(x, d))) < tol);
  CHECK(rel_error(test::run_whole(llama, x, d), reference::forward(llama, as_matrix(x, d))) < tol);
}

TEST_CASE("CUDA ragged batch == each sequence on its own", "[cuda][stack][batch]") {
  using S = presets::Samba<cuda>;
  const index_t d = 48;
  const auto stack = S::random(make_config<S>(tiny_dims(4)), 2);
  const std::vector<index_t> lengths = {5, 0, 40, 1};
  const index_t T = 46;
  const auto x = test::random_activations(T, d, 4);
  const DeviceBuffer<float> dx = to_device(x);
  DeviceBuffer<float> dy(T * d);
  std::vector<S::State> states(lengths.size(), stack.make_state());
  std::vector<S::State*> ptrs;
  for (auto& s : states) ptrs.push_back(&s);
  stack.forward_batch(std::span<S::State* const>(ptrs), std::span<const index_t>(lengths),
                      dx.view<2>({T, d}), dy.view<2>({T, d}));
  const auto batched = to_host(dy);
  index_t r0 = 0;
  for (const index_t len : lengths) {
    if (len > 0) {
      HostBuffer<float> xs(len * d);
      std::copy_n(x.data() + r0 * d, len * d, xs.data());
      const auto alone = test::run_whole(stack, xs, d);
      HostBuffer<float> part(len * d);
      std::copy_n(batched.data() + r0 * d, len * d, part.data());
      CHECK(rel_error(part, alone) < 1e-5);  // GEMV vs cuBLAS summation order
    }
    r0 += len;
  }
  CHECK(states[2].position == 40);
}

TEST_CASE("CUDA batch of more sequences than one launch takes", "[cuda][stack][batch]") {
  // 37 sequences: two launch groups (32 + 5) in every kernel; lengths 1–3, so the attention of
  // the decode-sized call is split once the prompts have made > 512 keys visible.
  using S = presets::Llama<cuda>;
  ModelDims dims = tiny_dims(2);
  dims.window = 0;
  const index_t d = 48, n = 37, prompt = 520;
  const auto stack = S::random(make_config<S>(dims), 5);
  std::vector<S::State> states(n, stack.make_state());
  std::vector<S::State*> ptrs;
  std::vector<index_t> lengths;
  const auto px = test::random_activations(prompt, d, 8);
  const DeviceBuffer<float> dpx = to_device(px);
  DeviceBuffer<float> dpy(prompt * d);
  for (index_t s = 0; s < n; ++s) {
    ptrs.push_back(&states[static_cast<std::size_t>(s)]);
    lengths.push_back(1 + s % 3);
    stack.forward(states[static_cast<std::size_t>(s)], dpx.view<2>({prompt, d}),
                  dpy.view<2>({prompt, d}));
  }
  std::vector<S::State> alone_states = states;
  index_t T = 0;
  for (const index_t len : lengths) T += len;
  const auto x = test::random_activations(T, d, 9);
  const DeviceBuffer<float> dx = to_device(x);
  DeviceBuffer<float> dy(T * d), dz(T * d);
  stack.forward_batch(std::span<S::State* const>(ptrs), std::span<const index_t>(lengths),
                      dx.view<2>({T, d}), dy.view<2>({T, d}));
  index_t r0 = 0;
  for (index_t s = 0; s < n; ++s) {
    const index_t len = lengths[static_cast<std::size_t>(s)];
    stack.forward(alone_states[static_cast<std::size_t>(s)], dx.view<2>({T, d}).slice(r0, len),
                  dz.view<2>({T, d}).slice(r0, len));
    r0 += len;
  }
  CHECK(rel_error(to_host(dy), to_host(dz)) < 1e-5);
}

TEST_CASE("CUDA state copies are snapshots", "[cuda][stack][state]") {
  using S = presets::Samba<cuda>;
  const index_t d = 48;
  const auto stack = S::random(make_config<S>(tiny_dims(4)), 3);
  const auto x = test::random_activations(30, d, 5);
  const DeviceBuffer<float> dx = to_device(x);
  DeviceBuffer<float> y1(10 * d), y2(10 * d);
  auto state = stack.make_state();
  stack.forward(state, dx.view<2>({30, d}).slice(0, 20),
                DeviceBuffer<float>(20 * d).view<2>({20, d}));
  const S::State snapshot = state;
  stack.forward(state, dx.view<2>({30, d}).slice(20, 10), y1.view<2>({10, d}));
  S::State replay = snapshot;
  stack.forward(replay, dx.view<2>({30, d}).slice(20, 10), y2.view<2>({10, d}));
  CHECK(test::bitwise_equal(to_host(y1), to_host(y2)));
}

// Prefills `prompt` rows of random input eagerly, then decodes `steps` more rows twice from that
// state, eagerly and through a CudaGraphDecoder, requiring the same bits at every step;
// after_step(t) runs after the step at position t.
template <class S>
struct GraphRun {
  typename S::State eager, graphed;
  index_t steps = 0, instantiations = 0;
};
template <class S, class AfterStep>
GraphRun<S> decode_eager_and_graphed(const S& stack, index_t prompt, index_t steps,
                                     std::uint64_t seed, AfterStep&& after_step) {
  const index_t d = stack.d_model();
  const DeviceBuffer<float> dx = to_device(test::random_activations(prompt + steps, d, seed));
  const auto rows = [&](index_t t, index_t n) {
    return dx.view<2>({prompt + steps, d}).slice(t, n);
  };
  GraphRun<S> run{stack.make_state(), {}};
  DeviceBuffer<float> scratch(prompt * d);
  stack.forward(run.eager, rows(0, prompt), scratch.view<2>({prompt, d}));
  run.graphed = run.eager;
  CudaGraphDecoder<S> decoder(stack);
  DeviceBuffer<float> ye(d), yg(d);
  for (index_t t = prompt; t < prompt + steps; ++t) {
    stack.forward(run.eager, rows(t, 1), ye.view<2>({1, d}));
    decoder.step(run.graphed, rows(t, 1), yg.view<2>({1, d}));
    REQUIRE(test::bitwise_equal(to_host(ye), to_host(yg)));
    after_step(t);
  }
  run.steps = decoder.steps();
  run.instantiations = decoder.instantiations();
  return run;
}

TEST_CASE("CUDA graph decoder == eager decode, and reuses its memory", "[cuda][graph]") {
  using S = presets::Samba<cuda, bf16>;
  const index_t prompt = 30, steps = 60;
  const auto stack = S::random(make_config<S>(tiny_dims(8)), 4);
  std::size_t reserved_after_warmup = 0;
  const auto run = decode_eager_and_graphed(stack, prompt, steps, 6, [&](index_t t) {
    // The window (24) is reached at position 24 < prompt: the caches are full-sized already, so
    // after the first steps no step allocates.
    if (t == prompt + 2)
      reserved_after_warmup = CudaContext::current().allocator().reserved_bytes();
  });
  CHECK(CudaContext::current().allocator().reserved_bytes() == reserved_after_warmup);
  CHECK(run.steps == steps);
  CHECK(run.instantiations < steps);
  CHECK(run.graphed.position == run.eager.position);
}

TEST_CASE("CUDA graph decoder: caches that grow, splits that start, a Llama stack",
          "[cuda][graph]") {
  // Causal attention: the KV cache doubles at 512 and 1024 (grown before capture), and the
  // attention of a step splits its keys once more than 512 are visible: the captured graph changes
  // shape, and the decoder instantiates it again.
  using S = presets::Llama<cuda>;
  const auto stack = S::random(make_config<S>(tiny_dims(2)), 6);
  const auto run = decode_eager_and_graphed(stack, 500, 40, 10, [](index_t) {});
  CHECK(run.instantiations >= 2);
  CHECK(std::get<0>(run.graphed.blocks)[0].capacity == std::get<0>(run.eager.blocks)[0].capacity);
}

TEST_CASE("CUDA graph decoder follows a stack's own block order", "[cuda][graph][order]") {
  // Attention blocks where the cyclic order has Mamba and MLP blocks: the decoder reserves the KV
  // caches of the blocks the order has, whatever their slot.
  using S = presets::Samba<cuda>;
  auto config = make_config<S>(tiny_dims(6));
  config.order = parse_order("AAMFAF", "MFAG");
  const auto stack = S::random(config, 8);
  const auto run = decode_eager_and_graphed(stack, 10, 20, 12, [](index_t) {});
  CHECK(run.steps == 20);
  CHECK(std::get<2>(run.graphed.blocks).size() == 3);
  CHECK(std::get<2>(run.graphed.blocks)[2].capacity == std::get<2>(run.eager.blocks)[2].capacity);
}

TEST_CASE("CUDA DeviceBuffer round trips and deep copies", "[cuda][buffer]") {
  const auto host = test::random_activations(3, 5, 1);
  const DeviceBuffer<float> a = to_device(host);
  DeviceBuffer<float> b = a;
  CHECK(test::bitwise_equal(to_host(b), host));
  DeviceBuffer<float> zero(15);
  const auto z = to_host(zero);
  CHECK(std::all_of(z.begin(), z.end(), [](float v) { return v == 0.0f; }));
  CHECK_THROWS_WITH(a.view<2>({4, 4}), "DeviceBuffer: view of 16 elements over a buffer of 15");
}

}  // namespace
}  // namespace samba
