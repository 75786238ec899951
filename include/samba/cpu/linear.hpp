// y = x · Wᵀ for a weight matrix W [out, in] stored as f32, bf16 or f16; compute in f32.
//
// Two regimes:
// - Few rows (decode: one token per sequence, up to `skinny_rows` sequences) are bound by reading
//   W from memory (hand-written, AVX2 or AVX-512 where the CPU has it: cpu/isa.hpp).
//   `linear_skinny` streams W once, eight rows at a time, widening bf16/f16 in registers and using
//   each widened row for every row of x while it is in L1; stored bytes, not f32 bytes, are what
//   cross the memory bus, so bf16 weights halve the time.
// - Many rows (prefill) are bound by arithmetic: cpu/gemm.hpp's blocked GEMM, whose micro-kernel
//   is chosen at run time and which widens narrow weights while it packs them.
// Both split their output columns over OpenMP threads (cpu/parallel.hpp) when the program is
// compiled with OpenMP.
#pragma once

#include <algorithm>
#include <vector>

#include "samba/core/dtype.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/gemm.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"

namespace samba::cpu_detail {

inline constexpr index_t skinny_rows = 16;

namespace linear_detail {

// x in the order eight_rows_one_x_bf16 reads it with vectors of `lanes` 128-bit lanes (AVX2: 2,
// AVX-512: 4): per 8 · lanes values, first elements 0–3 of each lane's 8, then elements 4–7 of
// each. AVX2: 0–3, 8–11, 4–7, 12–15. The last in mod (8 · lanes) values are not permuted.
inline void permute_for_bf16(const float* x, index_t in, float* xp, index_t lanes) {
  const index_t group = 8 * lanes;
  for (index_t i = 0; i + group <= in; i += group)
    for (index_t lane = 0; lane < lanes; ++lane)
      for (index_t j = 0; j < 4; ++j) {
        xp[i + 4 * lane + j] = x[i + 8 * lane + j];
        xp[i + 4 * lanes + 4 * lane + j] = x[i + 8 * lane + 4 + j];
      }
}

#if SAMBA_CPU_HAS_AVX2_KERNELS
SAMBA_TARGET_AVX2_BEGIN
namespace avx2 {
using namespace cpu_detail::avx2;

// The first pass over the weight rows comes from memory: with two rows of x per pass, asking for
// the bytes 1 KiB ahead keeps enough loads in flight (measured ~25% faster at 2–8 rows of x than
// the hardware prefetcher alone; at one row of x it is slower, so that loop does not ask).
template <class W>
inline void prefetch_rows(const W* a, const W* b, const W* c, const W* d) {
  constexpr int ahead = 1024;
  _mm_prefetch(reinterpret_cast<const char*>(a) + ahead, _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(b) + ahead, _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(c) + ahead, _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(d) + ahead, _MM_HINT_T0);
}

// Rows m, m + 1 of x against weight rows o0 … o0 + 3: eight independent accumulators.
template <StorageType W>
void four_rows_two_x(ConstMatrixView<float> x, index_t m, const W* w, index_t in, index_t o0,
                     MatrixView<float> y, bool prefetch) {
  const W* w0 = w + o0 * in;
  const W *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
  const index_t in8 = in - in % 8;
  const float *xa = x.row(m), *xb = x.row(m + 1);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (index_t i = 0; i < in8; i += 8) {
    if (prefetch) prefetch_rows(w0 + i, w1 + i, w2 + i, w3 + i);
    const __m256 va = _mm256_loadu_ps(xa + i), vb = _mm256_loadu_ps(xb + i);
    __m256 v = load8(w0 + i);
    a0 = _mm256_fmadd_ps(v, va, a0);
    b0 = _mm256_fmadd_ps(v, vb, b0);
    v = load8(w1 + i);
    a1 = _mm256_fmadd_ps(v, va, a1);
    b1 = _mm256_fmadd_ps(v, vb, b1);
    v = load8(w2 + i);
    a2 = _mm256_fmadd_ps(v, va, a2);
    b2 = _mm256_fmadd_ps(v, vb, b2);
    v = load8(w3 + i);
    a3 = _mm256_fmadd_ps(v, va, a3);
    b3 = _mm256_fmadd_ps(v, vb, b3);
  }
  alignas(16) float sa[4], sb[4];
  _mm_store_ps(sa, hsum4(a0, a1, a2, a3));
  _mm_store_ps(sb, hsum4(b0, b1, b2, b3));
  for (index_t i = in8; i < in; ++i) {
    const float wv[4] = {to_float(w0[i]), to_float(w1[i]), to_float(w2[i]), to_float(w3[i])};
    for (int k = 0; k < 4; ++k) {
      sa[k] += wv[k] * xa[i];
      sb[k] += wv[k] * xb[i];
    }
  }
  std::copy_n(sa, 4, y.row(m) + o0);
  std::copy_n(sb, 4, y.row(m + 1) + o0);
}

// Row m of x against weight rows o0 … o0 + 7: eight independent accumulators.
template <StorageType W>
void eight_rows_one_x(ConstMatrixView<float> x, index_t m, const W* w, index_t in, index_t o0,
                      MatrixView<float> y) {
  const W* wr = w + o0 * in;
  const index_t in8 = in - in % 8;
  const float* xa = x.row(m);
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (index_t i = 0; i < in8; i += 8) {
    const __m256 va = _mm256_loadu_ps(xa + i);
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_fmadd_ps(load8(wr + k * in + i), va, acc[k]);
  }
  alignas(32) float sa[8];
  _mm_store_ps(sa, hsum4(acc[0], acc[1], acc[2], acc[3]));
  _mm_store_ps(sa + 4, hsum4(acc[4], acc[5], acc[6], acc[7]));
  for (index_t i = in8; i < in; ++i)
    for (int k = 0; k < 8; ++k) sa[k] += to_float(wr[k * in + i]) * xa[i];
  std::copy_n(sa, 8, y.row(m) + o0);
}

// bf16 at one row of x is bound by instructions, not bytes, when each 8 weights cost a widening
// load, a shift and an FMA. Instead, 16 weights are loaded at once and interleaved with zeros
// (vpunpck{l,h}wd): the low half gives weights 0–3 and 8–11 as f32, the high half 4–7 and 12–15,
// and x is read in that same order from a permuted copy (permute_for_bf16 with 2 lanes), 5
// instructions per 16 weights instead of 8.
inline void eight_rows_one_x_bf16(const float* xa, const float* xp, const bf16* w, index_t in,
                                  index_t o0, float* y) {
  const bf16* wr = w + o0 * in;
  const index_t in16 = in - in % 16;
  const __m256i zero = _mm256_setzero_si256();
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (index_t i = 0; i < in16; i += 16) {
    const __m256 x0 = _mm256_loadu_ps(xp + i), x1 = _mm256_loadu_ps(xp + i + 8);
    for (int k = 0; k < 8; ++k) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + k * in + i));
      acc[k] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v)), x0, acc[k]);
      acc[k] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v)), x1, acc[k]);
    }
  }
  alignas(32) float sa[8];
  _mm_store_ps(sa, hsum4(acc[0], acc[1], acc[2], acc[3]));
  _mm_store_ps(sa + 4, hsum4(acc[4], acc[5], acc[6], acc[7]));
  for (index_t i = in16; i < in; ++i)
    for (int k = 0; k < 8; ++k) sa[k] += to_float(wr[k * in + i]) * xa[i];
  std::copy_n(sa, 8, y + o0);
}

// y[m, o0 + k] for k < 8 and every row m of x: eight weight rows against all of x, read from
// memory once and from L1 for the other rows of x.
// x_bf16_order: the last row of x permuted by permute_for_bf16 with 2 lanes (bf16 weights only).
template <StorageType W>
void eight_rows(ConstMatrixView<float> x, const W* w, index_t in, index_t o0, MatrixView<float> y,
                [[maybe_unused]] const float* x_bf16_order) {
  const index_t M = x.rows();
  index_t m = 0;
  for (; m + 2 <= M; m += 2) {
    four_rows_two_x(x, m, w, in, o0, y, m == 0);
    four_rows_two_x(x, m, w, in, o0 + 4, y, m == 0);
  }
  if (m < M) {
    if constexpr (std::is_same_v<W, bf16>)
      eight_rows_one_x_bf16(x.row(m), x_bf16_order, w, in, o0, y.row(m));
    else
      eight_rows_one_x(x, m, w, in, o0, y);
  }
}

}  // namespace avx2
SAMBA_TARGET_END

// The same loops 16 wide. At one row of x, bf16 takes 32 weights per load (permute_for_bf16 with
// 4 lanes): 5 instructions per 32 weights; decode-sized bf16 GEMVs are bound by instructions more
// than by bytes on one core.
SAMBA_TARGET_AVX512_BEGIN
namespace avx512 {

inline __m512 load16(const float* p) {
  return _mm512_loadu_ps(p);
}
inline __m512 load16(const bf16* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline __m512 load16(const f16* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Rows m, m + 1 of x against weight rows o0 … o0 + 3.
template <StorageType W>
void four_rows_two_x(ConstMatrixView<float> x, index_t m, const W* w, index_t in, index_t o0,
                     MatrixView<float> y) {
  const W* wr[4] = {w + o0 * in, w + (o0 + 1) * in, w + (o0 + 2) * in, w + (o0 + 3) * in};
  const index_t in16 = in - in % 16;
  const float *xa = x.row(m), *xb = x.row(m + 1);
  __m512 a[4], b[4];
  for (int k = 0; k < 4; ++k) a[k] = b[k] = _mm512_setzero_ps();
  for (index_t i = 0; i < in16; i += 16) {
    const __m512 va = _mm512_loadu_ps(xa + i), vb = _mm512_loadu_ps(xb + i);
    for (int k = 0; k < 4; ++k) {
      const __m512 v = load16(wr[k] + i);
      a[k] = _mm512_fmadd_ps(v, va, a[k]);
      b[k] = _mm512_fmadd_ps(v, vb, b[k]);
    }
  }
  for (int k = 0; k < 4; ++k) {
    float sa = _mm512_reduce_add_ps(a[k]), sb = _mm512_reduce_add_ps(b[k]);
    for (index_t i = in16; i < in; ++i) {
      sa += to_float(wr[k][i]) * xa[i];
      sb += to_float(wr[k][i]) * xb[i];
    }
    y.row(m)[o0 + k] = sa;
    y.row(m + 1)[o0 + k] = sb;
  }
}

// Row m of x against weight rows o0 … o0 + 7.
template <StorageType W>
void eight_rows_one_x(const float* xa, const W* w, index_t in, index_t o0, float* y) {
  const W* wr = w + o0 * in;
  const index_t in16 = in - in % 16;
  __m512 acc[8];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (index_t i = 0; i < in16; i += 16) {
    const __m512 va = _mm512_loadu_ps(xa + i);
    for (int k = 0; k < 8; ++k) acc[k] = _mm512_fmadd_ps(load16(wr + k * in + i), va, acc[k]);
  }
  for (int k = 0; k < 8; ++k) {
    float s = _mm512_reduce_add_ps(acc[k]);
    for (index_t i = in16; i < in; ++i) s += to_float(wr[k * in + i]) * xa[i];
    y[o0 + k] = s;
  }
}

inline void eight_rows_one_x_bf16(const float* xa, const float* xp, const bf16* w, index_t in,
                                  index_t o0, float* y) {
  const bf16* wr = w + o0 * in;
  const index_t in32 = in - in % 32;
  const __m512i zero = _mm512_setzero_si512();
  __m512 acc[8];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (index_t i = 0; i < in32; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(xp + i), x1 = _mm512_loadu_ps(xp + i + 16);
    for (int k = 0; k < 8; ++k) {
      const __m512i v = _mm512_loadu_si512(wr + k * in + i);
      acc[k] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, v)), x0, acc[k]);
      acc[k] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, v)), x1, acc[k]);
    }
  }
  for (int k = 0; k < 8; ++k) {
    float s = _mm512_reduce_add_ps(acc[k]);
    for (index_t i = in32; i < in; ++i) s += to_float(wr[k * in + i]) * xa[i];
    y[o0 + k] = s;
  }
}

// As avx2::eight_rows; x_bf16_order: permute_for_bf16 with 4 lanes.
template <StorageType W>
void eight_rows(ConstMatrixView<float> x, const W* w, index_t in, index_t o0, MatrixView<float> y,
                [[maybe_unused]] const float* x_bf16_order) {
  const index_t M = x.rows();
  index_t m = 0;
  for (; m + 2 <= M; m += 2) {
    four_rows_two_x(x, m, w, in, o0, y);
    four_rows_two_x(x, m, w, in, o0 + 4, y);
  }
  if (m < M) {
    if constexpr (std::is_same_v<W, bf16>)
      eight_rows_one_x_bf16(x.row(m), x_bf16_order, w, in, o0, y.row(m));
    else
      eight_rows_one_x(x.row(m), w, in, o0, y.row(m));
  }
}

}  // namespace avx512
SAMBA_TARGET_END
#endif

namespace portable {

// The eight rows widened a chunk at a time (in L1), the f32 dot products left to the compiler.
template <StorageType W>
void eight_rows(ConstMatrixView<float> x, const W* w, index_t in, index_t o0, MatrixView<float> y) {
  const index_t M = x.rows();
  constexpr index_t chunk = 256;
  float wf[8][chunk];
  for (index_t m = 0; m < M; ++m) std::fill_n(y.row(m) + o0, 8, 0.0f);
  for (index_t i0 = 0; i0 < in; i0 += chunk) {
    const index_t len = std::min(chunk, in - i0);
    for (int k = 0; k < 8; ++k) cpu_detail::portable::widen(w + (o0 + k) * in + i0, len, wf[k]);
    for (index_t m = 0; m < M; ++m) {
      const float* xa = x.row(m) + i0;
      for (int k = 0; k < 8; ++k) {
        float s = 0.0f;
        for (index_t i = 0; i < len; ++i) s += wf[k][i] * xa[i];
        y.row(m)[o0 + k] += s;
      }
    }
  }
}

}  // namespace portable

// y[m, o] for one weight row o (the last out mod 8 rows).
template <StorageType W>
void one_row(ConstMatrixView<float> x, const W* w, index_t in, index_t o, MatrixView<float> y) {
  const W* wr = w + o * in;
  for (index_t m = 0; m < x.rows(); ++m) {
    const float* xa = x.row(m);
    float s = 0.0f;
    for (index_t i = 0; i < in; ++i) s += to_float(wr[i]) * xa[i];
    y.row(m)[o] = s;
  }
}

}  // namespace linear_detail

// y = x · Wᵀ for x with few rows (see the top of the file); any row count is correct.
// `isa`: the kernels' ISA (by default, this CPU's widest).
template <StorageType W>
void linear_skinny(ConstMatrixView<float> x, const W* w, index_t out, index_t in,
                   MatrixView<float> y, Isa isa = active_isa()) {
  const index_t blocks = out / 8;
  const bool parallel = static_cast<long long>(out) * in * x.rows() >= parallel_min_work;
  (void)parallel;
  // bf16 with an odd row count: the last row, permuted for eight_rows_one_x_bf16.
  const bool permuted = std::is_same_v<W, bf16> && isa >= Isa::avx2 && x.rows() % 2 == 1;
  ScratchBuffer<float> x_bf16_order(permuted ? in : 0);
  if (permuted)
    linear_detail::permute_for_bf16(x.row(x.rows() - 1), in, x_bf16_order.data(),
                                    isa >= Isa::avx512 ? 4 : 2);
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t b = 0; b < blocks; ++b) {
#if SAMBA_CPU_HAS_AVX2_KERNELS
    if (isa >= Isa::avx512) {
      linear_detail::avx512::eight_rows(x, w, in, 8 * b, y, x_bf16_order.data());
      continue;
    }
    if (isa >= Isa::avx2) {
      linear_detail::avx2::eight_rows(x, w, in, 8 * b, y, x_bf16_order.data());
      continue;
    }
#endif
    linear_detail::portable::eight_rows(x, w, in, 8 * b, y);
  }
  for (index_t o = 8 * blocks; o < out; ++o) linear_detail::one_row(x, w, in, o, y);
}

template <StorageType W>
void linear(ConstMatrixView<float> x, const Tensor<W>& w, MatrixView<float> y) {
  const index_t out = w.shape()[0], in = w.shape()[1];
  detail::check(x.cols() == in && y.cols() == out && x.rows() == y.rows(), "linear: x ",
                x.dyn_shape(), " · Wᵀ with W ", w.shape(), " into y ", y.dyn_shape());
  const index_t M = x.rows();
  if (M == 0) return;
  detail::check((x.stride(1) == 1 || in == 1) && (y.stride(1) == 1 || out == 1),
                "linear: rows of x and y must be contiguous");
  if (M <= skinny_rows) {
    linear_skinny(x, w.data(), out, in, y);
    return;
  }
  gemm(x, w.data(), out, in, y);
}

// y[t, :] += b for every row t: a projection's bias (b holds y.cols() values).
inline void add_bias(MatrixView<float> y, const float* b) {
  SAMBA_PARALLEL_FOR_IF(y.rows() * y.cols() >= parallel_min_work)
  for (index_t t = 0; t < y.rows(); ++t) {
    float* r = y.row(t);
    for (index_t i = 0; i < y.cols(); ++i) r[i] += b[i];
  }
}

// y = x · Wᵀ + b, or x · Wᵀ where b is empty (a layer without that bias).
template <StorageType W>
void linear(ConstMatrixView<float> x, const Tensor<W>& w, const Tensor<float>& b,
            MatrixView<float> y) {
  linear(x, w, y);
  if (!b.empty()) add_bias(y, b.data());
}

}  // namespace samba::cpu_detail
