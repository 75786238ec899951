#include <numbers>

#include <samba/cpu/simd.hpp>

#include "support.hpp"

using namespace samba;

// The vector helpers of the CPU kernels against double-precision loops, at lengths that run their
// 8- and 16-wide loops and their tails, in every ISA this CPU runs.
TEST_CASE(
    "simd: dot, exp_shifted, axpy, silu_mul, silu_into, gelu_mul and soft_cap match double loops",
    "[cpu][simd]") {
  const auto isa = GENERATE(from_range(test::cpu_isas()));
  const index_t n = GENERATE(0, 1, 7, 8, 15, 16, 17, 40, 133);
  auto a = test::random_activations(1, std::max<index_t>(n, 1), 3, 2.0f);
  auto b = test::random_activations(1, std::max<index_t>(n, 1), 4, 2.0f);
  INFO("n = " << n << ", " << cpu_detail::isa_name(isa));

  double want = 0.0, norm = 0.0;
  for (index_t i = 0; i < n; ++i) {
    want += static_cast<double>(a[i]) * b[i];
    norm += std::abs(static_cast<double>(a[i]) * b[i]);
  }
  CHECK(std::abs(cpu_detail::dot(a.data(), b.data(), n, isa) - want) <= 4e-6 * (norm + 1e-30));

  std::vector<float> x(a.begin(), a.begin() + n);
  const float shift = 1.5f;
  const float sum = cpu_detail::exp_shifted(x.data(), n, shift, isa);
  double want_sum = 0.0;
  for (index_t i = 0; i < n; ++i) {
    const double e = std::exp(static_cast<double>(a[i] - shift));  // the same f32 argument
    want_sum += e;
    CHECK(std::abs(x[i] - e) <= 3e-7 * e);  // fast_exp: ≤ 2 ulp
  }
  CHECK(std::abs(sum - want_sum) <= 1e-6 * want_sum);

  std::vector<float> acc(b.begin(), b.begin() + n);
  cpu_detail::axpy(0.75f, a.data(), acc.data(), n, isa);
  for (index_t i = 0; i < n; ++i) {
    // One or two roundings (FMA or not), relative to the terms: the sum may cancel.
    const double want_i = 0.75 * static_cast<double>(a[i]) + b[i];
    CHECK(std::abs(acc[i] - want_i) <= 2.4e-7 * (std::abs(0.75 * a[i]) + std::abs(b[i])));
  }

  std::vector<float> g(a.begin(), a.begin() + n);
  cpu_detail::silu_mul(g.data(), b.data(), n, isa);
  for (index_t i = 0; i < n; ++i) {
    const double ai = a[i], silu = ai / (1.0 + std::exp(-ai));
    CHECK(std::abs(g[i] - silu * b[i]) <= 1e-6 * (std::abs(silu * b[i]) + 1e-30));
  }

  // silu_into another buffer and in place.
  std::vector<float> si(static_cast<std::size_t>(n)), sx(a.begin(), a.begin() + n);
  cpu_detail::silu_into(a.data(), si.data(), n, isa);
  cpu_detail::silu_into(sx.data(), sx.data(), n, isa);
  for (index_t i = 0; i < n; ++i) {
    const double ai = a[i], silu = ai / (1.0 + std::exp(-ai));
    CHECK(std::abs(si[i] - silu) <= 1e-6 * (std::abs(silu) + 1e-30));
    CHECK(sx[i] == si[i]);
  }

  // gelu_mul into a third buffer and in place over its second operand (RG-LRU's gate).
  std::vector<float> out(static_cast<std::size_t>(n)), h(b.begin(), b.begin() + n);
  cpu_detail::gelu_mul(a.data(), b.data(), out.data(), n, isa);
  cpu_detail::gelu_mul(a.data(), h.data(), h.data(), n, isa);
  for (index_t i = 0; i < n; ++i) {
    const double ai = a[i];
    const double gelu =
        0.5 * ai *
        (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (ai + 0.044715 * ai * ai * ai)));
    CHECK(std::abs(out[i] - gelu * b[i]) <= 1e-6 * (std::abs(gelu * b[i]) + 1e-30));
    CHECK(h[i] == out[i]);
  }

  // soft_cap over values that reach both sides of the series' bound (|v / cap| < 0.1) and deep
  // into the saturation.
  for (const float cap : {0.5f, 3.0f, 30.0f}) {
    std::vector<float> v(a.begin(), a.begin() + n);
    for (index_t i = 0; i < n; i += 3) v[i] *= 0.01f;
    cpu_detail::soft_cap(v.data(), n, cap, isa);
    for (index_t i = 0; i < n; ++i) {
      const double vi = a[i] * (i % 3 == 0 ? 0.01f : 1.0f);
      const double want_v = cap * std::tanh(vi / cap);
      CHECK(std::abs(v[i] - want_v) <= 4e-6 * std::abs(want_v) + 1e-30);
    }
  }
}
