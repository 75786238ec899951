#include <thread>

#include "support.hpp"

using namespace samba;

TEST_CASE("one stack serves several threads, each with its own state", "[stack][threads]") {
  // Weights are immutable and forward() is const: threads sharing a stack must get exactly what a
  // single thread gets for the same sequence.
  ModelDims dims;
  dims.d_model = 16;
  dims.n_blocks = 4;
  dims.n_heads = 2;
  dims.window = 5;
  dims.d_ff = 20;
  using S = presets::Samba<cpu, bf16>;
  const auto stack = S::random(make_config<S>(dims), 4);
  constexpr int n_threads = 4;
  const index_t T = 30;
  std::vector<HostBuffer<float>> inputs, expected, got(n_threads);
  for (int i = 0; i < n_threads; ++i) {
    inputs.push_back(test::random_activations(T, 16, 100 + static_cast<std::uint64_t>(i)));
    expected.push_back(test::run_chunked(stack, inputs.back().view<2>({T, 16}), {3}));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < n_threads; ++i)
    threads.emplace_back([&, i] {
      got[static_cast<std::size_t>(i)] =
          test::run_chunked(stack, inputs[static_cast<std::size_t>(i)].view<2>({T, 16}), {3});
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < n_threads; ++i)
    CHECK(test::max_abs_diff(got[static_cast<std::size_t>(i)].view<2>({T, 16}),
                             expected[static_cast<std::size_t>(i)].view<2>({T, 16})) == 0.0);
}
