#include "support.hpp"

using namespace samba;

using test::small_mamba;

TEST_CASE("MambaConfig defaults follow the paper", "[layers][mamba]") {
  MambaConfig c;
  c.d_model = 1536;
  CHECK(c.d_state == 16);
  CHECK(c.d_conv == 4);
  CHECK(c.d_inner() == 3072);
  CHECK(c.resolved_dt_rank() == 96);
  c.d_model = 2305;
  CHECK(c.resolved_dt_rank() == 145);  // ceil(2305 / 16)
}

TEST_CASE("MambaLayer matches the reference on random shapes", "[layers][mamba]") {
  const auto [d, n, k] = GENERATE(table<index_t, index_t, index_t>(
      {{1, 1, 1}, {5, 3, 2}, {8, 16, 4}, {13, 7, 3}, {32, 16, 4}}));
  const index_t T = GENERATE(1, 3, 40);
  Random rng(static_cast<std::uint64_t>(d * 31 + n * 7 + k + T * 1000));
  const auto layer = MambaLayer<>::random(small_mamba(d, n, k), rng);
  auto x = test::random_activations(T, d, 17);
  auto state = layer.make_state();
  HostBuffer<float> y(T * d);
  layer.forward(state, x.view<2>({T, d}), y.view<2>({T, d}));
  const auto want = reference::forward(layer, reference::Matrix::from(x.view<2>({T, d})));
  INFO("d_model " << d << " d_state " << n << " d_conv " << k << " T " << T);
  CHECK(test::rel_error(y.view<2>({T, d}), want) <= 2e-5);
}

TEST_CASE("MambaLayer: chunked, whole and token-by-token runs agree", "[layers][mamba]") {
  const index_t d = 12, T = 61;
  Random rng(5);
  const auto layer = MambaLayer<>::random(small_mamba(d, 6, 4, 2, 3), rng);
  auto x = test::random_activations(T, d, 23);
  const auto xv = x.view<2>({T, d});
  const auto whole = test::run_chunked(layer, xv, {T});
  const auto tokens = test::run_chunked(layer, xv, {1});
  // Odd chunk sizes, including chunks shorter than the conv window and empty chunks.
  const auto mixed = test::run_chunked(layer, xv, {2, 0, 1, 7, 3, 13});
  CHECK(test::rel_error(tokens.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
  CHECK(test::rel_error(mixed.view<2>({T, d}), whole.view<2>({T, d})) <= 1e-5);
  const auto want = reference::forward(layer, reference::Matrix::from(xv));
  CHECK(test::rel_error(tokens.view<2>({T, d}), want) <= 2e-5);
}

TEST_CASE("MambaLayer: the memory output is the scan's before the gate, chunk by chunk",
          "[layers][mamba]") {
  const index_t d = 12, T = 45;
  Random rng(6);
  const auto layer = MambaLayer<>::random(small_mamba(d, 5, 4, 2, 3), rng);
  auto x = test::random_activations(T, d, 29);
  const auto xv = x.view<2>({T, d});
  reference::Matrix want_memory;
  const auto want =
      reference::mamba(layer.config(), layer.weights(), reference::Matrix::from(xv), &want_memory);
  const index_t di = layer.config().d_inner();
  for (const index_t chunk : {T, index_t{1}, index_t{7}}) {
    INFO("chunk " << chunk);
    auto state = layer.make_state();
    MambaLayer<>::State* states[] = {&state};
    HostBuffer<float> y(T * d), memory(T * di);
    for (index_t t = 0; t < T; t += chunk) {
      const index_t n = std::min(chunk, T - t);
      const index_t lengths[] = {n};
      layer.forward_batch(states, lengths, xv.slice(t, n), y.view<2>({T, d}).slice(t, n),
                          memory.view<2>({T, di}).slice(t, n));
    }
    CHECK(test::rel_error(y.view<2>({T, d}), want) <= 2e-5);
    CHECK(test::rel_error(memory.view<2>({T, di}), want_memory) <= 2e-5);
  }
}

TEST_CASE("MambaLayer state has a constant size and snapshots by copy", "[layers][mamba]") {
  const index_t d = 8;
  Random rng(9);
  const auto c = small_mamba(d, 16, 4);
  const auto layer = MambaLayer<>::random(c, rng);
  auto state = layer.make_state();
  const std::size_t bytes = state.bytes();
  CHECK(bytes == sizeof(float) * static_cast<std::size_t>((c.d_conv - 1) * c.d_inner() +
                                                          c.d_inner() * c.d_state));
  auto x = test::random_activations(100, d, 1);
  HostBuffer<float> y(100 * d), y1(10 * d), y2(10 * d);
  layer.forward(state, x.view<2>({100, d}), y.view<2>({100, d}));
  CHECK(state.bytes() == bytes);
  // A snapshot continues exactly like the original.
  auto snapshot = state;
  auto more = test::random_activations(10, d, 2);
  layer.forward(state, more.view<2>({10, d}), y1.view<2>({10, d}));
  layer.forward(snapshot, more.view<2>({10, d}), y2.view<2>({10, d}));
  CHECK(test::max_abs_diff(y1.view<2>({10, d}), y2.view<2>({10, d})) == 0.0);
}

TEST_CASE("MambaLayer with bf16 weights stays close to f32", "[layers][mamba][bf16]") {
  const index_t d = 16, T = 33;
  Random rng(4);
  const auto c = small_mamba(d, 8, 4);
  const auto w = MambaWeights<float>::random(c, rng);
  MambaLayer<cpu, float> f32(c, w);
  MambaLayer<cpu, bf16> b16(c, w.to<bf16>());
  auto x = test::random_activations(T, d, 3);
  const auto xv = x.view<2>({T, d});
  const auto y32 = test::run_chunked(f32, xv, {T});
  const auto yb = test::run_chunked(b16, xv, {5});
  CHECK(test::rel_error(yb.view<2>({T, d}), reference::forward(b16, reference::Matrix::from(xv))) <=
        2e-5);
  CHECK(test::rel_error(yb.view<2>({T, d}), y32.view<2>({T, d})) <= 2e-2);
}

TEST_CASE("MambaLayer rejects bad configs, weights and states", "[layers][mamba]") {
  Random rng(1);
  CHECK_THROWS_WITH(MambaLayer<>::random(small_mamba(0, 16, 4), rng),
                    "MambaLayer: d_model must be > 0, got 0");
  CHECK_THROWS_WITH(MambaLayer<>::random(small_mamba(8, -1, 4), rng),
                    "MambaLayer: d_state must be > 0, got -1");
  CHECK_THROWS_WITH(MambaLayer<>::random(small_mamba(8, 4, 0), rng),
                    "MambaLayer: d_conv must be > 0, got 0");
  auto w = MambaWeights<float>::random(small_mamba(8, 4, 4), rng);
  CHECK_THROWS_WITH((MambaLayer<>(small_mamba(8, 5, 4), w)),
                    "MambaLayer: tensor 'x_proj' has shape [9, 16], expected [11, 16]");
  w.A_log = Tensor<float>{};
  CHECK_THROWS_WITH((MambaLayer<>(small_mamba(8, 4, 4), w)),
                    Catch::Contains("tensor 'A_log' is missing"));

  const auto a = MambaLayer<>::random(small_mamba(8, 4, 4), rng);
  const auto b = MambaLayer<>::random(small_mamba(12, 4, 4), rng);
  auto sb = b.make_state();
  HostBuffer<float> x(8), y(8);
  CHECK_THROWS_WITH(a.forward(sb, x.view<2>({1, 8}), y.view<2>({1, 8})),
                    Catch::Contains("MambaLayer: state of a layer with d_inner 24"));
}

#if SAMBA_CPU_HAS_AVX2_KERNELS
SAMBA_TARGET_AVX2_BEGIN
static void fast_exp_avx2(const float* x, float* y) {
  _mm256_storeu_ps(y, cpu_detail::avx2::fast_exp(_mm256_loadu_ps(x)));
}
SAMBA_TARGET_END
SAMBA_TARGET_AVX512_BEGIN
static void fast_exp_avx512(const float* x, float* y) {
  _mm512_storeu_ps(y, cpu_detail::avx512::fast_exp(_mm512_loadu_ps(x)));
}
SAMBA_TARGET_END

// The 16-wide exp of the AVX-512 scan: the same polynomial, 2^k by scalef (subnormal results
// below FLT_MIN rather than 0).
TEST_CASE("avx512::fast_exp is within 2 ulp of std::exp, subnormal or 0 below FLT_MIN",
          "[layers][mamba][exp]") {
  if (!cpu_detail::cpu_runs(cpu_detail::Isa::avx512)) {
    WARN("this CPU lacks AVX-512: nothing to test");
    return;
  }
  const float lo = cpu_detail::exp_min_arg, hi = 88.72f;
  double worst = 0.0;
  const int steps = 1 << 20;
  for (int i = 0; i < steps; i += 16) {
    float x[16], y[16];
    for (int j = 0; j < 16; ++j)
      x[j] = i % 32 == 16 ? static_cast<float>(i + j - steps / 2) * 1e-7f
                          : lo + (hi - lo) * static_cast<float>(i + j) / (steps - 1);
    fast_exp_avx512(x, y);
    for (int j = 0; j < 16; ++j) {
      const float want = std::exp(x[j]);
      worst = std::max(worst, std::fabs(static_cast<double>(y[j]) - want) /
                                  static_cast<double>(std::nextafter(want, INFINITY) - want));
    }
  }
  CHECK(worst <= 2.0);
  const float edge[16] = {-87.5f, -95.0f, -103.0f, -104.0f,  -1e3f, -1e30f, -INFINITY, -0.0f,
                          88.8f,  89.0f,  1e30f,   INFINITY, NAN,   0.0f,   1.0f,      -1.0f};
  float y[16];
  fast_exp_avx512(edge, y);
  for (int j = 0; j < 3; ++j) {  // subnormal (or 0), as std::exp
    CHECK(y[j] >= 0.0f);
    CHECK(y[j] <= std::numeric_limits<float>::min());
    CHECK(std::fabs(y[j] - std::exp(edge[j])) <= std::numeric_limits<float>::denorm_min());
  }
  for (int j = 3; j < 7; ++j) CHECK(y[j] == 0.0f);
  CHECK(y[7] == 1.0f);
  for (int j = 8; j < 12; ++j) CHECK(std::isinf(y[j]));
  CHECK(std::isnan(y[12]));
  CHECK(y[13] == 1.0f);
}
#endif

// cpu_detail::fast_exp (cpu/simd.hpp), the exp of the selective scan: scalar, and 8-wide where the
// CPU runs the AVX2 kernels. Measured: ≤ 1 ulp on this sweep; the contract is 2 ulp.
TEST_CASE("fast_exp is within 2 ulp of std::exp, 0 below FLT_MIN, +inf only above 88.37",
          "[layers][mamba][exp]") {
  using cpu_detail::exp_max_arg;
  using cpu_detail::exp_min_arg;
  using cpu_detail::fast_exp;
  const bool avx2 = cpu_detail::cpu_runs(cpu_detail::Isa::avx2);
  if (!avx2) WARN("this CPU lacks AVX2: the scalar fast_exp only");
  // Both versions on 8 arguments at once.
  auto exp8 = [avx2](const float* x, float* scalar, float* vector) {
    for (int j = 0; j < 8; ++j) scalar[j] = fast_exp(x[j]);
    for (int j = 0; j < 8; ++j) vector[j] = scalar[j];
#if SAMBA_CPU_HAS_AVX2_KERNELS
    if (avx2) fast_exp_avx2(x, vector);
#endif
  };
  auto ulps = [](float got, float want) {  // want > 0, normal
    return std::fabs(static_cast<double>(got) - static_cast<double>(want)) /
           static_cast<double>(std::nextafter(want, INFINITY) - want);
  };
  double worst = 0.0;
  float worst_x = 0.0f;
  bool finite_for_nonpositive = true;
  const int steps = 1 << 21;
  for (int i = 0; i < steps; i += 8) {
    float x[8], s[8], v[8];
    for (int j = 0; j < 8; ++j) {
      const float f = static_cast<float>(i + j) / static_cast<float>(steps - 1);
      x[j] = std::min(exp_max_arg, exp_min_arg + (exp_max_arg - exp_min_arg) * f);
      if (i % 16 == 8) x[j] = static_cast<float>(i + j - steps / 2) * 1e-7f;  // around 0
    }
    exp8(x, s, v);
    for (int j = 0; j < 8; ++j) {
      const float want = std::exp(x[j]);
      for (float got : {s[j], v[j]}) {
        const double u = ulps(got, want);
        if (u > worst) worst = u, worst_x = x[j];
        if (x[j] <= 0.0f && !std::isfinite(got)) finite_for_nonpositive = false;
      }
    }
  }
  INFO("worst " << worst << " ulp at x = " << worst_x);
  CHECK(worst <= 2.0);
  CHECK(finite_for_nonpositive);

  // Far below the underflow point: exactly 0 (std::exp is subnormal or 0 there); never NaN.
  const float tiny[8] = {-87.34f, -88.0f, -103.9f, -104.0f, -1e3f, -1e30f, -INFINITY, -0.0f};
  float s[8], v[8];
  exp8(tiny, s, v);
  for (int j = 0; j < 7; ++j) {
    CHECK(s[j] == 0.0f);
    CHECK(v[j] == 0.0f);
  }
  CHECK(s[7] == 1.0f);
  CHECK(v[7] == 1.0f);
  const float big[8] = {88.4f, 89.0f, 1e30f, INFINITY, NAN, 0.0f, 1.0f, -1.0f};
  exp8(big, s, v);
  for (int j = 0; j < 4; ++j) {
    CHECK(std::isinf(s[j]));
    CHECK(std::isinf(v[j]));
  }
  CHECK(std::isnan(s[4]));
  CHECK(std::isnan(v[4]));
  CHECK(v[5] == 1.0f);
  CHECK(ulps(v[6], std::exp(1.0f)) <= 2.0);
  CHECK(ulps(v[7], std::exp(-1.0f)) <= 2.0);
}

// The scan alone, on d_inner not a multiple of the 8- or 16-channel block (and some that are),
// d_state below, at and above 16 (one AVX-512 register), Δ from 1e-6 to 50 (exp(Δ·A) underflows
// to 0), a random initial state and calls long and decode-sized, against the equations of
// layers/mamba.hpp in double.
TEST_CASE("MambaKernel: selective scan on awkward widths and extreme Δ", "[layers][mamba][scan]") {
  const index_t d = GENERATE(1, 7, 8, 9, 16, 23, 33);  // d_inner (expand 1): blocks of 8 and 16
  const index_t n = GENERATE(16, 3, 130);
  // 300: several of the scan's time chunks, and (with OpenMP) channel blocks split over threads.
  const index_t T = GENERATE(37, 300), r = 5, xw = r + 2 * n, split = 20;
  Random rng(static_cast<std::uint64_t>(d * 17 + n));
  const auto layer = MambaLayer<>::random(small_mamba(d, n, 4, 1, r), rng);
  auto uc = test::random_activations(T, d, 1);
  auto xz = test::random_activations(T, 2 * d, 2);  // z is the second half of each row
  auto xdbl = test::random_activations(T, xw, 3);
  HostBuffer<float> delta(T * d), out(T * d), ungated(T * d);
  for (index_t t = 0; t < T; ++t)
    for (index_t ch = 0; ch < d; ++ch) {
      const index_t k = (t + 2 * ch) % 4;
      delta[t * d + ch] = k == 0 ? 1e-6f : k == 1 ? 50.0f : k == 2 ? 0.01f * (1 + ch) : 2.0f;
    }
  auto state = layer.make_state();
  auto h0 = test::random_activations(d, n, 4);
  std::copy(h0.begin(), h0.end(), state.ssm.begin());

  const ConstMatrixView<float> z(xz.data() + d, {T, d}, {2 * d, 1});
  using Kernel = MambaKernel<cpu, float>;
  // A long call, decode-sized calls (1, 1, 2 steps: AVX-512 runs these on the state in place),
  // and the rest.
  for (const auto& [t0, len] : {std::pair<index_t, index_t>{0, split},
                                {split, 1},
                                {split + 1, 1},
                                {split + 2, 2},
                                {split + 4, T - split - 4}})
    Kernel::scan_sequence(layer, state, uc.data() + t0 * d, delta.data() + t0 * d,
                          xdbl.data() + t0 * xw + r, xw, z.slice(t0, len), out.data() + t0 * d,
                          ungated.data() + t0 * d);

  reference::Matrix want(T, d), want_ungated(T, d), want_h(d, n);
  const float* A = layer.A().data();
  const float* D = layer.weights().D.data();
  for (index_t ch = 0; ch < d; ++ch) {
    std::vector<double> h(h0.begin() + ch * n, h0.begin() + (ch + 1) * n);
    for (index_t t = 0; t < T; ++t) {
      const double dt = delta[t * d + ch], u = uc[t * d + ch], zv = z(t, ch);
      double acc = 0.0;
      for (index_t s = 0; s < n; ++s) {
        h[s] = std::exp(dt * A[ch * n + s]) * h[s] + dt * xdbl[t * xw + r + s] * u;
        acc += xdbl[t * xw + r + n + s] * h[s];
      }
      want_ungated(t, ch) = acc + D[ch] * u;
      want(t, ch) = want_ungated(t, ch) * zv / (1.0 + std::exp(-zv));
    }
    for (index_t s = 0; s < n; ++s) want_h(ch, s) = h[s];
  }
  INFO("d_inner " << d << " d_state " << n << " T " << T);
  CHECK(test::rel_error(out.view<2>({T, d}), want) <= 2e-5);
  CHECK(test::rel_error(ungated.view<2>({T, d}), want_ungated) <= 2e-5);
  CHECK(test::rel_error(state.ssm.view<2>({d, n}), want_h) <= 2e-5);
}

// The whole layer with Δ pushed to both extremes through dt_bias (softplus(−14) ≈ 1e-6; 50; and
// beyond: softplus(−100) ≈ 4e-44, a float subnormal; 1e4, where exp(Δ·A) underflows to 0).
TEST_CASE("MambaLayer matches the reference with extreme Δ", "[layers][mamba][scan]") {
  const index_t d = GENERATE(7, 9, 23);
  const float bias = GENERATE(-14.0f, 50.0f, -100.0f, 1e4f);
  Random rng(static_cast<std::uint64_t>(d));
  const auto c = small_mamba(d, 16, 4, 1);
  auto w = MambaWeights<float>::random(c, rng);
  HostBuffer<float> b(d);
  std::fill(b.begin(), b.end(), bias);
  w.dt_bias = Tensor<float>(Shape{d}, std::move(b));
  const MambaLayer<> layer(c, std::move(w));
  const index_t T = 29;
  auto x = test::random_activations(T, d, 8);
  const auto xv = x.view<2>({T, d});
  const auto y = test::run_chunked(layer, xv, {11});
  INFO("d_inner " << d << " dt_bias " << bias);
  CHECK(test::rel_error(y.view<2>({T, d}),
                        reference::forward(layer, reference::Matrix::from(xv))) <= 2e-5);
}
