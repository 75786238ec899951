#include "support.hpp"

using namespace samba;

TEST_CASE("GatedMemoryUnit matches the reference in every weight type", "[layers][gmu]") {
  const auto [d, di] = GENERATE(table<index_t, index_t>({{1, 1}, {8, 16}, {13, 29}}));
  const index_t T = GENERATE(1, 21);
  Random rng(static_cast<std::uint64_t>(d * 100 + T));
  const GMUConfig c{d, di};
  const auto w = GMUWeights<float>::random(c, rng);
  auto x = test::random_activations(T, d, 3);
  auto m = test::random_activations(T, di, 5);
  const auto want =
      reference::forward(GatedMemoryUnit<>(c, w), reference::Matrix::from(x.view<2>({T, d})),
                         reference::Matrix::from(m.view<2>({T, di})));
  HostBuffer<float> y(T * d);
  GatedMemoryUnit<>(c, w).forward(x.view<2>({T, d}), m.view<2>({T, di}), y.view<2>({T, d}));
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 1e-6);
  const GatedMemoryUnit<cpu, bf16> b(c, w.to<bf16>());
  b.forward(x.view<2>({T, d}), m.view<2>({T, di}), y.view<2>({T, d}));
  CHECK(test::rel_error(y.view<2>({T, d}),
                        reference::forward(b, reference::Matrix::from(x.view<2>({T, d})),
                                           reference::Matrix::from(m.view<2>({T, di})))) <= 1e-5);
}

TEST_CASE("GatedMemoryUnit refuses a memory of the wrong shape", "[layers][gmu]") {
  Random rng(1);
  const auto gmu = GatedMemoryUnit<>::random({8, 16}, rng);
  HostBuffer<float> x(2 * 8), m(2 * 15), y(2 * 8);
  CHECK_THROWS_WITH(gmu.forward(x.view<2>({2, 8}), m.view<2>({2, 15}), y.view<2>({2, 8})),
                    Catch::Contains("GatedMemoryUnit: memory is [2, 15], expected [2, 16]"));
  CHECK_THROWS_WITH(GatedMemoryUnit<>::random({8, 0}, rng),
                    Catch::Contains("GatedMemoryUnit: d_inner must be > 0"));
}
