#include <limits>
#include <tuple>
#include <vector>

#include <samba/cpu/gemm.hpp>

#include "support.hpp"

using namespace samba;

namespace {

// Shapes that leave partial tiles in both directions and cross the input block (kc), the row block
// (mc) and the output block (nc): (M, out, in).
std::vector<std::tuple<index_t, index_t, index_t>> ragged_shapes() {
  return {{1, 1, 1}, {17, 5, 3}, {40, 33, 70}, {97, 61, 513}, {13, 2051, 9}, {200, 47, 1100}};
}

// x [M, in] in rows of in + 3 random floats; y [M, out] in rows of out + 2, NaN outside the view
// to show stray writes.
struct StridedOperands {
  index_t M, out, in;
  HostBuffer<float> xs, ys;

  StridedOperands(index_t M_, index_t out_, index_t in_, std::uint64_t seed)
      : M(M_),
        out(out_),
        in(in_),
        xs(test::random_activations(M, in + 3, seed)),
        ys(M * (out + 2)) {
    std::fill(ys.begin(), ys.end(), std::numeric_limits<float>::quiet_NaN());
  }
  ConstMatrixView<float> x() const { return {xs.data(), {M, in}, {in + 3, 1}}; }
  MatrixView<float> y() { return {ys.data(), {M, out}, {out + 2, 1}}; }

  void check_no_stray_writes() const {
    for (index_t m = 0; m < M; ++m) {
      CHECK(std::isnan(ys[m * (out + 2) + out]));
      CHECK(std::isnan(ys[m * (out + 2) + out + 1]));
    }
  }
};

}  // namespace

// The blocked GEMM with each micro-kernel this CPU runs, against the double-precision reference, on
// the ragged shapes, with every weight dtype, and strided rows of x and y.
TEMPLATE_TEST_CASE("gemm: every micro-kernel matches the reference on ragged shapes", "[cpu][gemm]",
                   float, bf16, f16) {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  const auto [M, out, in] = GENERATE(from_range(ragged_shapes()));
  INFO(cpu_detail::isa_name(isa) << ": M " << M << ", out " << out << ", in " << in);
  Random rng(static_cast<std::uint64_t>(M * 7 + out * 5 + in));
  const auto w = detail::random_matrix<TestType>(out, in, rng);
  StridedOperands ops(M, out, in, 11);
  cpu_detail::gemm(ops.x(), w.data(), out, in, ops.y(), isa);
  const auto want = reference::linear(reference::Matrix::from(ops.x()), w);
  CHECK(test::rel_error(ConstMatrixView<float>(ops.y()), want) <=
        test::linear_tolerance<TestType>(isa));
  ops.check_no_stray_writes();
}

// Bf16Products::rounded: where the CPU has bf16 products (AVX512-BF16, AMX), bf16 weights multiply
// x rounded to bf16, to f32 accuracy against that product and within bf16's rounding of the exact
// one; elsewhere the setting changes nothing.
TEST_CASE("gemm: bf16 weights times x rounded to bf16 (Bf16Products::rounded)", "[cpu][gemm]") {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  const auto [M, out, in] = GENERATE(from_range(ragged_shapes()));
  INFO(cpu_detail::isa_name(isa) << ": M " << M << ", out " << out << ", in " << in);
  Random rng(static_cast<std::uint64_t>(M * 3 + out * 7 + in));
  const auto w = detail::random_matrix<bf16>(out, in, rng);
  StridedOperands ops(M, out, in, 12);
  cpu_detail::gemm(ops.x(), w.data(), out, in, ops.y(), isa, Bf16Products::rounded);

  const auto exact = reference::linear(reference::Matrix::from(ops.x()), w);
  auto x_rounded = reference::Matrix::from(ops.x());
  for (double& v : x_rounded.data) v = to_float(from_float<bf16>(static_cast<float>(v)));
  const auto rounded = reference::linear(x_rounded, w);
  const double err_rounded = test::rel_error(ConstMatrixView<float>(ops.y()), rounded);
  const double err_exact = test::rel_error(ConstMatrixView<float>(ops.y()), exact);
  if (isa >= cpu_detail::Isa::avx512bf16) {
    CHECK(err_rounded <= 1e-6);
    CHECK(err_exact <= 5e-3);
  } else {
    CHECK(err_exact <= 1e-6);
  }
  ops.check_no_stray_writes();
}

TEST_CASE("gemm: no inputs give zeros", "[cpu][gemm]") {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  HostBuffer<float> x(1), y(20 * 3);
  std::fill(y.begin(), y.end(), 1.0f);
  cpu_detail::gemm(ConstMatrixView<float>(x.data(), {20, 0}, {0, 1}),
                   static_cast<const float*>(x.data()), 3, 0, y.view<2>({20, 3}), isa);
  for (float v : y) CHECK(v == 0.0f);
}

// Each output is summed in the same order on any thread count: the same bits.
TEST_CASE("gemm: one thread and all threads give the same bits", "[cpu][gemm]") {
  const index_t M = 50, out = 300, in = 700;
  Random rng(3);
  const auto w = detail::random_matrix<bf16>(out, in, rng);
  auto x = test::random_activations(M, in, 5);
  HostBuffer<float> y1(M * out), yn(M * out);
  cpu_detail::gemm(x.view<2>({M, in}), w.data(), out, in, yn.view<2>({M, out}));
#if defined(_OPENMP)
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  cpu_detail::gemm(x.view<2>({M, in}), w.data(), out, in, y1.view<2>({M, out}));
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
  CHECK(std::memcmp(y1.data(), yn.data(), y1.size() * sizeof(float)) == 0);
}

// Attention's two products on strided views: c = a · bᵀ and c += a · b, against plain loops.
TEST_CASE("gemm_nt and gemm_nn match plain loops, and gemm_nn accumulates", "[cpu][gemm]") {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  const index_t rows = GENERATE(3, 40), keys = 37, hd = 20, ld = 29;
  INFO(cpu_detail::isa_name(isa) << ", rows " << rows);
  auto qs = test::random_activations(rows, hd, 1);
  auto ks = test::random_activations(keys, ld, 2);  // keys [keys, hd] in rows of ld
  auto vs = test::random_activations(keys, ld, 3);
  const ConstMatrixView<float> q(qs.data(), {rows, hd}, {hd, 1});
  const ConstMatrixView<float> k(ks.data() + 4, {keys, hd}, {ld, 1});
  const ConstMatrixView<float> v(vs.data() + 5, {keys, hd}, {ld, 1});

  HostBuffer<float> s(rows * keys);
  cpu_detail::gemm_nt(q, k, s.view<2>({rows, keys}), false, isa);
  auto o = test::random_activations(rows, hd, 4);
  const HostBuffer<float> o0 = o;
  cpu_detail::gemm_nn(ConstMatrixView<float>(s.view<2>({rows, keys})), v, o.view<2>({rows, hd}),
                      /*accumulate=*/true, isa);

  double err_s = 0, ref_s = 0, err_o = 0, ref_o = 0;
  for (index_t r = 0; r < rows; ++r) {
    for (index_t j = 0; j < keys; ++j) {
      double want = 0;
      for (index_t d = 0; d < hd; ++d) want += static_cast<double>(q(r, d)) * k(j, d);
      err_s += (s[r * keys + j] - want) * (s[r * keys + j] - want);
      ref_s += want * want;
    }
    for (index_t d = 0; d < hd; ++d) {
      double want = o0[r * hd + d];
      for (index_t j = 0; j < keys; ++j) want += static_cast<double>(s[r * keys + j]) * v(j, d);
      err_o += (o[r * hd + d] - want) * (o[r * hd + d] - want);
      ref_o += want * want;
    }
  }
  CHECK(std::sqrt(err_s / ref_s) <= 1e-6);
  CHECK(std::sqrt(err_o / ref_o) <= 1e-6);
}
