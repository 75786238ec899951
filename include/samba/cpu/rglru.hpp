// RGLRULayer's primitives on the CPU: the projections through cpu_detail::linear plus their bias,
// the causal conv of cpu/conv.hpp without its SiLU, the block-diagonal gates as one small GEMM per
// block (cpu/gemm.hpp), and the RG-LRU in two passes: every row's coefficients of
// h_t = a_t h_{t−1} + b_t (the gates' sigmoids, exp, √(1 − a²): elementwise, vectorised for the
// CPU's ISA and split over the threads), then each sequence's diagonal recurrence, a multiply-add
// per channel and step.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "samba/core/backend.hpp"
#include "samba/core/scratch.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/conv.hpp"
#include "samba/cpu/gemm.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/layers/rglru.hpp"

namespace samba {
namespace cpu_detail::rglru_detail {

// One row's coefficients, in place over the gates' pre-activations (biases not yet added):
//   gr[i] ← a = exp(log a),  log a = ncs[i] · σ(gr[i] + br[i])          (0 at the reset)
//   gi[i] ← b = √(1 − a²) · σ(gi[i] + bi[i]) · u[i]                    (√· is 1 at the reset)
// 1 − a² is −expm1(2 log a): its Taylor series to the fifth power where |2 log a| < 0.1 (relative
// error below 2e-8), 1 − exp(2 log a) elsewhere (at most 3e-6).
inline constexpr float expm1_series_bound = 0.1f;

namespace portable {
inline float neg_expm1(float x) {
  const float series = -x * (1.0f + x * (0.5f + x * (1.0f / 6 + x * (1.0f / 24 + x / 120))));
  return x > -expm1_series_bound && x < expm1_series_bound ? series
                                                           : 1.0f - cpu_detail::fast_exp(x);
}
inline void coefficients(float* gi, float* gr, const float* bi, const float* br, const float* ncs,
                         const float* u, index_t n, bool reset) {
  for (index_t i = 0; i < n; ++i) {
    const float in_gate = 1.0f / (1.0f + cpu_detail::fast_exp(-(gi[i] + bi[i])));
    const float log_a = ncs[i] / (1.0f + cpu_detail::fast_exp(-(gr[i] + br[i])));
    gr[i] = reset ? 0.0f : cpu_detail::fast_exp(log_a);
    gi[i] = (reset ? 1.0f : std::sqrt(neg_expm1(2.0f * log_a))) * in_gate * u[i];
  }
}
}  // namespace portable

#if SAMBA_CPU_HAS_AVX2_KERNELS
SAMBA_TARGET_AVX2_BEGIN
namespace avx2 {
inline __m256 sigmoid(__m256 z) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(
      one, _mm256_add_ps(one, cpu_detail::avx2::fast_exp(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}
inline void coefficients(float* gi, float* gr, const float* bi, const float* br, const float* ncs,
                         const float* u, index_t n, bool reset) {
  const __m256 one = _mm256_set1_ps(1.0f), bound = _mm256_set1_ps(expm1_series_bound);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  index_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 in_gate = sigmoid(_mm256_add_ps(_mm256_loadu_ps(gi + i), _mm256_loadu_ps(bi + i)));
    const __m256 log_a =
        _mm256_mul_ps(_mm256_loadu_ps(ncs + i),
                      sigmoid(_mm256_add_ps(_mm256_loadu_ps(gr + i), _mm256_loadu_ps(br + i))));
    const __m256 gu = _mm256_mul_ps(in_gate, _mm256_loadu_ps(u + i));
    if (reset) {
      _mm256_storeu_ps(gr + i, _mm256_setzero_ps());
      _mm256_storeu_ps(gi + i, gu);
      continue;
    }
    const __m256 x = _mm256_add_ps(log_a, log_a);
    __m256 p = _mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 120), _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(x, p, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(x, p, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(x, p, one);
    const __m256 series = _mm256_mul_ps(_mm256_xor_ps(x, sign), p);
    const __m256 direct = _mm256_sub_ps(one, cpu_detail::avx2::fast_exp(x));
    const __m256 small = _mm256_cmp_ps(_mm256_andnot_ps(sign, x), bound, _CMP_LT_OQ);
    const __m256 m = _mm256_sqrt_ps(_mm256_blendv_ps(direct, series, small));
    _mm256_storeu_ps(gr + i, cpu_detail::avx2::fast_exp(log_a));
    _mm256_storeu_ps(gi + i, _mm256_mul_ps(m, gu));
  }
  portable::coefficients(gi + i, gr + i, bi + i, br + i, ncs + i, u + i, n - i, reset);
}
}  // namespace avx2
SAMBA_TARGET_END

SAMBA_TARGET_AVX512_BEGIN
namespace avx512 {
inline __m512 sigmoid(__m512 z) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(
      one, _mm512_add_ps(one, cpu_detail::avx512::fast_exp(_mm512_sub_ps(_mm512_setzero_ps(), z))));
}
inline void coefficients(float* gi, float* gr, const float* bi, const float* br, const float* ncs,
                         const float* u, index_t n, bool reset) {
  const __m512 one = _mm512_set1_ps(1.0f), bound = _mm512_set1_ps(expm1_series_bound);
  index_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 in_gate = sigmoid(_mm512_add_ps(_mm512_loadu_ps(gi + i), _mm512_loadu_ps(bi + i)));
    const __m512 log_a =
        _mm512_mul_ps(_mm512_loadu_ps(ncs + i),
                      sigmoid(_mm512_add_ps(_mm512_loadu_ps(gr + i), _mm512_loadu_ps(br + i))));
    const __m512 gu = _mm512_mul_ps(in_gate, _mm512_loadu_ps(u + i));
    if (reset) {
      _mm512_storeu_ps(gr + i, _mm512_setzero_ps());
      _mm512_storeu_ps(gi + i, gu);
      continue;
    }
    const __m512 x = _mm512_add_ps(log_a, log_a);
    __m512 p = _mm512_fmadd_ps(x, _mm512_set1_ps(1.0f / 120), _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(x, p, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(x, p, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(x, p, one);
    const __m512 series = _mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), p);
    const __m512 direct = _mm512_sub_ps(one, cpu_detail::avx512::fast_exp(x));
    const __mmask16 small = _mm512_cmp_ps_mask(_mm512_abs_ps(x), bound, _CMP_LT_OQ);
    const __m512 m = _mm512_sqrt_ps(_mm512_mask_blend_ps(small, direct, series));
    _mm512_storeu_ps(gr + i, cpu_detail::avx512::fast_exp(log_a));
    _mm512_storeu_ps(gi + i, _mm512_mul_ps(m, gu));
  }
  avx2::coefficients(gi + i, gr + i, bi + i, br + i, ncs + i, u + i, n - i, reset);
}
}  // namespace avx512
SAMBA_TARGET_END
#endif

inline void coefficients(float* gi, float* gr, const float* bi, const float* br, const float* ncs,
                         const float* u, index_t n, bool reset, Isa isa) {
#if SAMBA_CPU_HAS_AVX2_KERNELS
  if (isa >= Isa::avx512) return avx512::coefficients(gi, gr, bi, br, ncs, u, n, reset);
  if (isa >= Isa::avx2) return avx2::coefficients(gi, gr, bi, br, ncs, u, n, reset);
#endif
  (void)isa;
  portable::coefficients(gi, gr, bi, br, ncs, u, n, reset);
}

}  // namespace cpu_detail::rglru_detail

template <>
inline constexpr bool has_rglru_kernel<cpu> = true;

template <StorageType W>
struct RGLRUKernel<cpu, W> {
  using Layer = RGLRULayer<cpu, W>;
  using State = typename Layer::State;

  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> RGLRUWeights<W>::*weight, Tensor<float> RGLRUWeights<W>::*bias,
                     MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, layer.weights().*bias, y);
  }

  static void conv(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, ConstMatrixView<float> u,
                   MatrixView<float> out) {
    const auto& w = layer.weights();
    cpu_detail::causal_conv_batch(states, lengths, u, w.conv_weight.data(), w.conv_bias.data(),
                                  layer.config().conv_width, out, /*apply_silu=*/false);
  }

  // The gates for every row (one GEMM per block), then each sequence's recurrence.
  static void rg_lru(const Layer& layer, std::span<State* const> states,
                     std::span<const index_t> lengths, ConstMatrixView<float> u,
                     MatrixView<float> h) {
    const RGLRUConfig& c = layer.config();
    const auto& w = layer.weights();
    const index_t T = u.rows(), width = c.width(), H = c.n_heads, bw = c.block_width();
    const cpu_detail::Isa isa = cpu_detail::active_isa();
    ScratchBuffer<float> ig(T * width), rg(T * width);
    for (index_t b = 0; b < H; ++b) {
      const ConstMatrixView<float> ub(u.data() + b * bw, {T, bw}, {u.stride(0), 1});
      cpu_detail::gemm_nn(
          ub, ConstMatrixView<float>(w.input_gate.data() + b * bw * bw, {bw, bw}, {bw, 1}),
          MatrixView<float>(ig.data() + b * bw, {T, bw}, {width, 1}),
          /*accumulate=*/false, isa);
      cpu_detail::gemm_nn(
          ub, ConstMatrixView<float>(w.recurrent_gate.data() + b * bw * bw, {bw, bw}, {bw, 1}),
          MatrixView<float>(rg.data() + b * bw, {T, bw}, {width, 1}),
          /*accumulate=*/false, isa);
    }
    // −c · softplus(Λ) per channel.
    ScratchBuffer<float> neg_c_sp(width);
    for (index_t i = 0; i < width; ++i)
      neg_c_sp[i] = -c.c * cpu_detail::softplus(w.recurrent_param.data()[i]);
    // Which rows are a sequence's position 0 (the reset).
    ScratchBuffer<unsigned char> reset(T);
    std::fill(reset.begin(), reset.end(), static_cast<unsigned char>(0));
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t) {
      if (st.position == 0) reset[r0] = 1;
    });
    // Every row's a (into rg) and b (into ig), then each sequence's h_t = a_t ⊙ h_{t−1} + b_t.
    const float* bi = w.input_gate_bias.data();
    const float* br = w.recurrent_gate_bias.data();
    SAMBA_PARALLEL_FOR_IF(T * width >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < T; ++t)
      cpu_detail::rglru_detail::coefficients(ig.data() + t * width, rg.data() + t * width, bi, br,
                                             neg_c_sp.data(), u.row(t), width, reset[t] != 0, isa);
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      float* hs = st.h.data();
      for (index_t t = 0; t < len; ++t) {
        const float* a = rg.data() + (r0 + t) * width;
        const float* b = ig.data() + (r0 + t) * width;
        float* out = h.row(r0 + t);
        for (index_t i = 0; i < width; ++i) {
          hs[i] = a[i] * hs[i] + b[i];
          out[i] = hs[i];
        }
      }
    });
  }

  static void gate(const Layer&, ConstMatrixView<float> y, MatrixView<float> h) {
    SAMBA_PARALLEL_FOR_IF(h.rows() * h.cols() >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < h.rows(); ++t)
      cpu_detail::gelu_mul(y.row(t), h.row(t), h.row(t), h.cols());
  }
};

}  // namespace samba
