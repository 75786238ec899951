// SIMD helpers of the CPU kernels, portable and 8-wide (AVX2 + FMA + F16C, compiled whatever the
// program's flags and chosen at run time: cpu/isa.hpp): a fast f32 exp, dot products, softmax and
// SwiGLU pieces, and loads that widen stored weights (f32, bf16, f16) to f32.
//
// The exp:
// exp(x) = 2^k · e^r with k = round(x / ln 2), r = x − k·ln 2 (ln 2 split in two so that k·ln2_hi
// is exact), |r| ≤ ln 2 / 2, and e^r ≈ 1 + r + r²·P(r) with Cephes' degree-5 P. k is rounded by
// adding 1.5·2^23, which also leaves k in the low bits of the sum: 2^k is built from those bits.
// Both versions compute the same thing in the same order (up to FMA contraction).
//
// Contract (tested in tests/layers/mamba.cpp): relative error ≤ 2 ulp of std::exp for
// x ∈ [exp_min_arg, exp_max_arg]; exactly 0 for x < exp_min_arg (where std::exp is below FLT_MIN,
// i.e. subnormal or 0); +inf for x > exp_max_arg (std::exp overflows from 88.72); NaN for NaN.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "samba/core/dtype.hpp"
#include "samba/core/tensor.hpp"

#include "samba/cpu/isa.hpp"

namespace samba::cpu_detail {

inline constexpr float exp_min_arg = -87.3365447f;  // ln(FLT_MIN)
inline constexpr float exp_max_arg = 88.3762626f;   // k ≤ 127 below this

namespace exp_consts {
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float round_magic = 12582912.0f;  // 1.5 · 2^23
inline constexpr float ln2_hi = 0.693359375f;      // 9 significant bits: k · ln2_hi is exact
inline constexpr float ln2_lo = -2.12194440e-4f;
inline constexpr float p0 = 1.9875691500e-4f, p1 = 1.3981999507e-3f, p2 = 8.3334519073e-3f,
                       p3 = 4.1665795894e-2f, p4 = 1.6666665459e-1f, p5 = 5.0000001201e-1f;
}  // namespace exp_consts

// gelu_tanh(a) = a/2 · (1 + tanh(k)) = a · σ(2k) with k = √(2/π)(a + 0.044715 a³): the gate of
// GeGLU through fast_exp. tanh(z) for the soft cap: its odd series near 0 (to z⁷, relative error
// below 1e-10 for |z| < 0.1), 1 − 2 / (1 + exp(2z)) elsewhere.
inline constexpr float gelu_2k_1 = 1.5957691216057308f;  // 2 · √(2/π)
inline constexpr float gelu_2k_3 = 0.071354816f;         // 2 · √(2/π) · 0.044715
inline constexpr float tanh_series_bound = 0.1f;

// Branch-free so that loops calling it vectorise with any ISA.
inline float fast_exp(float x) {
  using namespace exp_consts;
  const float t = x * log2e + round_magic;  // k + 1.5·2^23: k in the low mantissa bits
  const float k = t - round_magic;
  float r = x - k * ln2_hi;
  r = r - k * ln2_lo;
  float p = p0;
  p = p * r + p1;
  p = p * r + p2;
  p = p * r + p3;
  p = p * r + p4;
  p = p * r + p5;
  const float er = p * (r * r) + r + 1.0f;
  // 2^k: (k + 127) << 23; the high bits of t's pattern shift out.
  const float scale = std::bit_cast<float>((std::bit_cast<std::uint32_t>(t) + 127u) << 23);
  // 0 below exp_min_arg, +inf above exp_max_arg, as bit masks rather than branches (NaN passes).
  const std::uint32_t keep = 0u - static_cast<std::uint32_t>(!(x < exp_min_arg));
  const std::uint32_t inf = 0u - static_cast<std::uint32_t>(x > exp_max_arg);
  const std::uint32_t y = std::bit_cast<std::uint32_t>(er * scale) & keep;
  return std::bit_cast<float>((y & ~inf) | (0x7F800000u & inf));
}

// --- the portable versions ---------------------------------------------------------------------
namespace portable {

// Σ a[i] · b[i]: eight partial sums the compiler vectorises, added at the end, then the tail.
inline float dot(const float* a, const float* b, index_t n) {
  index_t i = 0;
  float acc[8] = {};
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  float total = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

inline float exp_shifted(float* x, index_t n, float shift) {
  float sum = 0.0f;
  for (index_t i = 0; i < n; ++i) x[i] = fast_exp(x[i] - shift);
  for (index_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

inline void silu_mul(float* gate, const float* up, index_t n) {
  for (index_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + fast_exp(-gate[i])) * up[i];
}

inline void silu_into(const float* x, float* out, index_t n) {
  for (index_t i = 0; i < n; ++i) out[i] = x[i] / (1.0f + fast_exp(-x[i]));
}

inline void gelu_mul(const float* a, const float* b, float* out, index_t n) {
  for (index_t i = 0; i < n; ++i) {
    const float x = a[i];
    out[i] = x / (1.0f + fast_exp(-x * (gelu_2k_1 + gelu_2k_3 * x * x))) * b[i];
  }
}

inline void soft_cap(float* v, index_t n, float cap) {
  for (index_t i = 0; i < n; ++i) {
    const float z = v[i] / cap, z2 = z * z;
    const float series = z * (1.0f + z2 * (-1.0f / 3 + z2 * (2.0f / 15 + z2 * (-17.0f / 315))));
    const float direct = 1.0f - 2.0f / (1.0f + fast_exp(2.0f * z));
    v[i] = cap * (z > -tanh_series_bound && z < tanh_series_bound ? series : direct);
  }
}

template <StorageType W>
inline void widen(const W* src, index_t n, float* dst) {
  for (index_t i = 0; i < n; ++i) dst[i] = to_float(src[i]);
}

inline void axpy(float a, const float* x, float* y, index_t n) {
  for (index_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace portable

// --- the AVX2 versions: the same math 8 lanes at a time ----------------------------------------
#if SAMBA_CPU_HAS_AVX2_KERNELS
SAMBA_TARGET_AVX2_BEGIN
namespace avx2 {

inline __m256 fast_exp(__m256 x) {
  using namespace exp_consts;
  const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(log2e), _mm256_set1_ps(round_magic));
  const __m256 k = _mm256_sub_ps(t, _mm256_set1_ps(round_magic));
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(ln2_hi), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(ln2_lo), r);
  __m256 p = _mm256_set1_ps(p0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p5));
  const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(er, _mm256_castsi256_ps(bits));
  y = _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(exp_min_arg), _CMP_LT_OQ), y);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(std::numeric_limits<float>::infinity()),
                       _mm256_cmp_ps(x, _mm256_set1_ps(exp_max_arg), _CMP_GT_OQ));
  return y;
}
// Eight stored values from p, widened to f32.
inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline __m256 load8(const bf16* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline __m256 load8(const f16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The horizontal sum of v.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// The four horizontal sums of a, b, c, d as one 4-float vector.
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

// Two accumulators of 8 (16 products per step), then the last n mod 16 products.
inline float dot(const float* a, const float* b, index_t n) {
  index_t i = 0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  float total = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

inline float exp_shifted(float* x, index_t n, float shift) {
  index_t i = 0;
  const __m256 sh = _mm256_set1_ps(shift);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, fast_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh)));
  for (; i < n; ++i) x[i] = cpu_detail::fast_exp(x[i] - shift);
  float sum = 0.0f;
  for (i = 0; i < n; ++i) sum += x[i];
  return sum;
}

inline void silu_mul(float* gate, const float* up, index_t n) {
  index_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, fast_exp(_mm256_sub_ps(zero, g))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + cpu_detail::fast_exp(-gate[i])) * up[i];
}

inline void silu_into(const float* x, float* out, index_t n) {
  index_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(out + i,
                     _mm256_div_ps(v, _mm256_add_ps(one, fast_exp(_mm256_sub_ps(zero, v)))));
  }
  for (; i < n; ++i) out[i] = x[i] / (1.0f + cpu_detail::fast_exp(-x[i]));
}

inline void gelu_mul(const float* a, const float* b, float* out, index_t n) {
  index_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  const __m256 c1 = _mm256_set1_ps(gelu_2k_1), c3 = _mm256_set1_ps(gelu_2k_3);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i);
    const __m256 k2 = _mm256_mul_ps(x, _mm256_fmadd_ps(_mm256_mul_ps(c3, x), x, c1));
    const __m256 g = _mm256_div_ps(x, _mm256_add_ps(one, fast_exp(_mm256_sub_ps(zero, k2))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(g, _mm256_loadu_ps(b + i)));
  }
  portable::gelu_mul(a + i, b + i, out + i, n - i);
}

inline void soft_cap(float* v, index_t n, float cap) {
  index_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
  const __m256 vcap = _mm256_set1_ps(cap), inv = _mm256_set1_ps(1.0f / cap);
  const __m256 bound = _mm256_set1_ps(tanh_series_bound), sign = _mm256_set1_ps(-0.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 z = _mm256_mul_ps(_mm256_loadu_ps(v + i), inv), z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_fmadd_ps(z2, _mm256_set1_ps(-17.0f / 315), _mm256_set1_ps(2.0f / 15));
    p = _mm256_fmadd_ps(z2, p, _mm256_set1_ps(-1.0f / 3));
    p = _mm256_fmadd_ps(z2, p, one);
    const __m256 series = _mm256_mul_ps(z, p);
    const __m256 direct =
        _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(one, fast_exp(_mm256_add_ps(z, z)))));
    const __m256 small = _mm256_cmp_ps(_mm256_andnot_ps(sign, z), bound, _CMP_LT_OQ);
    _mm256_storeu_ps(v + i, _mm256_mul_ps(vcap, _mm256_blendv_ps(direct, series, small)));
  }
  portable::soft_cap(v + i, n - i, cap);
}

template <StorageType W>
inline void widen(const W* src, index_t n, float* dst) {
  index_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src + i));
  for (; i < n; ++i) dst[i] = to_float(src[i]);
}

inline void axpy(float a, const float* x, float* y, index_t n) {
  index_t i = 0;
  const __m256 va = _mm256_set1_ps(a);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace avx2
SAMBA_TARGET_END

SAMBA_TARGET_AVX512_BEGIN
namespace avx512 {

// exp(x) for 16 floats: the reduction and polynomial above, with 2^k applied by scalef, which also
// takes results below FLT_MIN to subnormals and zero and above FLT_MAX to +inf (x is clamped to
// [−104, 89] first, where the reduction is exact enough; NaN passes).
inline __m512 fast_exp(__m512 x) {
  using namespace exp_consts;
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(log2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(ln2_hi), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(ln2_lo), r);
  __m512 p = _mm512_set1_ps(p0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p5));
  const __m512 er = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(er, k);
}

}  // namespace avx512
SAMBA_TARGET_END
#endif

// --- the entry points: the widest version `isa` allows (by default, this CPU's) ----------------
#if SAMBA_CPU_HAS_AVX2_KERNELS
#define SAMBA_DETAIL_DISPATCH(isa, call) return (isa) >= Isa::avx2 ? avx2::call : portable::call
#else
#define SAMBA_DETAIL_DISPATCH(isa, call) return portable::call
#endif

// Σ a[i] · b[i] over i < n, in partial sums added at the end.
inline float dot(const float* a, const float* b, index_t n, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, dot(a, b, n));
}

// x[i] = exp(x[i] − shift) for i < n (cpu_detail::fast_exp), returning their sum.
inline float exp_shifted(float* x, index_t n, float shift, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, exp_shifted(x, n, shift));
}

// gate[i] = silu(gate[i]) · up[i] = gate[i] / (1 + exp(−gate[i])) · up[i] for i < n.
inline void silu_mul(float* gate, const float* up, index_t n, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, silu_mul(gate, up, n));
}

// out[i] = silu(x[i]) = x[i] / (1 + exp(−x[i])) for i < n; out may be x.
inline void silu_into(const float* x, float* out, index_t n, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, silu_into(x, out, n));
}

// out[i] = gelu_tanh(a[i]) · b[i] for i < n (GeGLU's gate, RG-LRU's y branch); out may be a or b.
inline void gelu_mul(const float* a, const float* b, float* out, index_t n,
                     Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, gelu_mul(a, b, out, n));
}

// v[i] = cap · tanh(v[i] / cap) for i < n (a logit soft cap; cap > 0).
inline void soft_cap(float* v, index_t n, float cap, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, soft_cap(v, n, cap));
}

// dst[i] = to_float(src[i]) for i < n: exact for every dtype (bf16 is a shift, f16 goes through
// F16C's conversion in the AVX2 version, which is exact too, subnormals included).
template <StorageType W>
inline void widen(const W* src, index_t n, float* dst, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, widen(src, n, dst));
}

// y[i] += a · x[i] for i < n.
inline void axpy(float a, const float* x, float* y, index_t n, Isa isa = active_isa()) {
  SAMBA_DETAIL_DISPATCH(isa, axpy(a, x, y, n));
}

#undef SAMBA_DETAIL_DISPATCH

}  // namespace samba::cpu_detail
