#include <samba/cpu/linear.hpp>

#include "support.hpp"

using namespace samba;

// Every row count crosses the skinny/GEMM boundary (cpu_detail::skinny_rows); `in` and `out` are
// odd so that the 8-wide loops' tails and the last out mod 4 rows run.
TEMPLATE_TEST_CASE("linear: y = x · Wᵀ matches the reference for every row count and dtype",
                   "[cpu][linear]", float, bf16, f16) {
  const index_t M = GENERATE(1, 2, 3, 7, 16, 17, 40);
  const index_t in = GENERATE(1, 13, 70);
  const index_t out = GENERATE(1, 6, 41);
  Random rng(static_cast<std::uint64_t>(M * 10000 + in * 100 + out));
  const auto w = detail::random_matrix<TestType>(out, in, rng);
  auto x = test::random_activations(M, in, 7);
  HostBuffer<float> y(M * out);
  cpu_detail::linear(x.view<2>({M, in}), w, y.view<2>({M, out}));
  const auto want = reference::linear(reference::Matrix::from(x.view<2>({M, in})), w);
  CHECK(test::rel_error(y.view<2>({M, out}), want) <= test::linear_tolerance<TestType>());
}

// The skinny (decode) kernels of every ISA this CPU runs, at every row count they take (odd counts
// run the one-row kernels, bf16's on a permuted x) and widths that leave tails of 8, 16 and 32.
TEMPLATE_TEST_CASE("linear_skinny: every ISA matches the reference", "[cpu][linear]", float, bf16,
                   f16) {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  const index_t M = GENERATE(1, 2, 3, 8, 15, 16);
  const index_t in = GENERATE(5, 33, 70, 100);
  const index_t out = 19;
  INFO(cpu_detail::isa_name(isa) << ": M " << M << ", in " << in);
  Random rng(static_cast<std::uint64_t>(M * 1000 + in));
  const auto w = detail::random_matrix<TestType>(out, in, rng);
  auto x = test::random_activations(M, in, 8);
  HostBuffer<float> y(M * out);
  cpu_detail::linear_skinny(x.view<2>({M, in}), w.data(), out, in, y.view<2>({M, out}), isa);
  const auto want = reference::linear(reference::Matrix::from(x.view<2>({M, in})), w);
  CHECK(test::rel_error(y.view<2>({M, out}), want) <= 1e-6);
}

TEST_CASE("linear: strided rows of x and y, and every output written", "[cpu][linear]") {
  const index_t M = GENERATE(1, 5, 20), in = 19, out = 11;
  Random rng(5);
  const auto w = detail::random_matrix<bf16>(out, in, rng);
  // x: the first `in` columns of rows of 24; y: columns 3.. of rows of 16, prefilled with NaN so
  // that an output the kernel forgets shows.
  auto xs = test::random_activations(M, 24, 9);
  HostBuffer<float> ys(M * 16);
  std::fill(ys.begin(), ys.end(), std::numeric_limits<float>::quiet_NaN());
  const ConstMatrixView<float> x(xs.data(), {M, in}, {24, 1});
  const MatrixView<float> y(ys.data() + 3, {M, out}, {16, 1});
  cpu_detail::linear(x, w, y);
  const auto want = reference::linear(reference::Matrix::from(x), w);
  CHECK(test::rel_error(ConstMatrixView<float>(y), want) <= test::linear_tolerance<bf16>());
  for (index_t m = 0; m < M; ++m) CHECK(std::isnan(ys[m * 16]));  // outside y: untouched
}

TEST_CASE("linear: shapes that do not match are an error", "[cpu][linear]") {
  Random rng(1);
  const auto w = detail::random_matrix<float>(4, 3, rng);
  HostBuffer<float> x(2 * 5), y(2 * 4);
  CHECK_THROWS_WITH(cpu_detail::linear(x.view<2>({2, 5}), w, y.view<2>({2, 4})),
                    Catch::Contains("linear: x [2, 5]") && Catch::Contains("W [4, 3]"));
}

TEMPLATE_TEST_CASE("widen converts every value exactly", "[cpu][linear]", bf16, f16) {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  INFO(cpu_detail::isa_name(isa));
  // All 65536 bit patterns, at an odd offset so that the 8-wide loop and its tail both run.
  std::vector<TestType> src(65536 + 3);
  for (std::size_t i = 0; i < src.size(); ++i)
    src[i].bits = static_cast<std::uint16_t>(i > 2 ? i - 3 : i);
  std::vector<float> dst(src.size());
  cpu_detail::widen(src.data() + 1, static_cast<index_t>(src.size() - 1), dst.data() + 1, isa);
  std::size_t wrong = 0;
  for (std::size_t i = 1; i < src.size(); ++i) {
    const float want = to_float(src[i]);
    const bool same = std::isnan(want) ? std::isnan(dst[i])
                                       : std::bit_cast<std::uint32_t>(dst[i]) ==
                                             std::bit_cast<std::uint32_t>(want);
    wrong += same ? 0 : 1;
  }
  CHECK(wrong == 0);
}
