// y = x · Wᵀ for many rows of x (prefill), and attention's tile products: a blocked GEMM of our
// own, so that its vector width is chosen at run time (cpu/isa.hpp) like the other kernels'
// (Eigen's is fixed when the program is compiled), and narrow weights are widened while they are
// packed, not in a separate pass.
//
// The blocking is the classic one (Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication", 2008): for each block of kc inputs and nc outputs, the weights are packed into
// micro-panels of NR outputs × kc inputs (widened to f32, kept in L2/L3); for each block of mc rows
// of x, x is packed into micro-panels of MR rows × kc (in L2); a micro-kernel keeps an MR × NR tile
// of y in registers while it runs over kc, reading one NR-wide row of the weight panel and
// broadcasting MR values of x per step. Tiles past the edges are computed on zero padding and only
// their valid part is written.
//
// Micro-kernels: AVX-512 14 × 32 (28 accumulators), AVX2 6 × 16 (12), portable 4 × 8 (plain
// loops the compiler vectorises with the program's ISA). bf16 weights on a CPU with AMX take the
// tile unit instead (cpu/amx.hpp); with Bf16Products::rounded (cpu/isa.hpp) on a CPU with
// AVX512-BF16 they take a 14 × 32 kernel of VDPBF16PS on panels of bf16 pairs (x rounded to bf16
// while it is packed, the weights packed as they are stored).
//
// Each output element is summed in the same order whatever the thread count (inputs in blocks of
// kc, in order, one FMA chain per element within a block); threads split the outputs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "samba/core/dtype.hpp"
#include "samba/core/scratch.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/amx.hpp"
#include "samba/cpu/isa.hpp"
#include "samba/cpu/parallel.hpp"

namespace samba::cpu_detail {

namespace gemm_detail {

inline constexpr index_t kc_block = 512;     // inputs per block (measured: 256 → 512 is +15 %)
inline constexpr index_t mc_rows = 84;       // rows of x per block (a multiple of every MR): L2
inline constexpr index_t nc_outputs = 2048;  // outputs per packed weight block (multiple of NR): L3

// dst[0 : n) = src[0 : n) for n ≤ N: a copy of N floats has a size the compiler knows, so it is a
// few vector moves, where a copy of n floats would be a call to the C library's memcpy (which
// cost more than the micro-kernel on the small products of attention and the recurrences).
template <index_t N>
inline void copy_floats(float* dst, const float* src, index_t n) {
  if (n == N)
    std::memcpy(dst, src, N * sizeof(float));
  else
    std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}

// Packs rows [i0, i0 + mc) of x, inputs [k0, k0 + kc), as micro-panels of MR rows: panel p holds
// ap[p · kc · MR + k · MR + r] = x[i0 + p · MR + r, k0 + k], rows past the end of x zero.
template <index_t MR>
void pack_x(ConstMatrixView<float> x, index_t i0, index_t mc, index_t k0, index_t kc, float* ap) {
  for (index_t p = 0; p * MR < mc; ++p) {
    const index_t rows = std::min(MR, mc - p * MR);
    const float* src[MR] = {};
    for (index_t r = 0; r < rows; ++r) src[r] = x.row(i0 + p * MR + r) + k0;
    float* dst = ap + p * kc * MR;
    if (rows == MR) {  // writes in order, MR streams of reads
      for (index_t k = 0; k < kc; ++k)
        for (index_t r = 0; r < MR; ++r) dst[k * MR + r] = src[r][k];
    } else {
      for (index_t k = 0; k < kc; ++k)
        for (index_t r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? src[r][k] : 0.0f;
    }
  }
}

// The second operand B [in, out] of y = x · B, as stored:
// - WeightRows: a weight matrix W [out, in] (B = Wᵀ; a linear layer's), rows ld apart, any dtype;
// - InputRows: a row-major f32 matrix [in, out], rows ld apart (attention's V);
// - HeadBlocks: f32 heads' blocks side by side, B [in, heads · width] whose head h is the row-major
//   [in, width] matrix at p + h · in · width (the states of a gated linear recurrence).
template <StorageType W>
struct WeightRows {
  const W* p;
  index_t ld;
};
struct InputRows {
  const float* p;
  index_t ld;
};
struct HeadBlocks {
  const float* p;
  index_t in, width;
};

// Packs outputs [j0, j0 + nc) of B, inputs [k0, k0 + kc), widened to f32, as micro-panels of NR
// outputs: bp[q · kc · NR + k · NR + c] = B[k0 + k, j0 + q · NR + c], outputs past the end zero.
template <index_t NR, StorageType W>
void pack_b(const WeightRows<W>& b, index_t j0, index_t nc, index_t k0, index_t kc, float* bp) {
  for (index_t q = 0; q * NR < nc; ++q) {
    const index_t cols = std::min(NR, nc - q * NR);
    const W* src[NR] = {};
    for (index_t c = 0; c < cols; ++c) src[c] = b.p + (j0 + q * NR + c) * b.ld + k0;
    float* dst = bp + q * kc * NR;
    if (cols == NR) {  // writes in order, NR streams of reads
      for (index_t k = 0; k < kc; ++k)
        for (index_t c = 0; c < NR; ++c) dst[k * NR + c] = to_float(src[c][k]);
    } else {
      for (index_t k = 0; k < kc; ++k)
        for (index_t c = 0; c < NR; ++c) dst[k * NR + c] = c < cols ? to_float(src[c][k]) : 0.0f;
    }
  }
}
template <index_t NR>
void pack_b(const HeadBlocks& b, index_t j0, index_t nc, index_t k0, index_t kc, float* bp) {
  for (index_t q = 0; q * NR < nc; ++q) {
    const index_t cols = std::min(NR, nc - q * NR);
    float* dst = bp + q * kc * NR;
    for (index_t k = 0; k < kc; ++k) {
      // The panel's columns in runs that stay within one head.
      for (index_t c = 0; c < cols;) {
        const index_t j = j0 + q * NR + c, head = j / b.width, e = j % b.width;
        const index_t run = std::min(cols - c, b.width - e);
        copy_floats<NR>(dst + k * NR + c, b.p + (head * b.in + k0 + k) * b.width + e, run);
        c += run;
      }
      if (cols < NR) std::fill(dst + k * NR + cols, dst + (k + 1) * NR, 0.0f);
    }
  }
}
template <index_t NR>
void pack_b(const InputRows& b, index_t j0, index_t nc, index_t k0, index_t kc, float* bp) {
  for (index_t q = 0; q * NR < nc; ++q) {
    const index_t cols = std::min(NR, nc - q * NR);
    float* dst = bp + q * kc * NR;
    for (index_t k = 0; k < kc; ++k) {
      copy_floats<NR>(dst + k * NR, b.p + (k0 + k) * b.ld + j0 + q * NR, cols);
      if (cols < NR) std::fill(dst + k * NR + cols, dst + (k + 1) * NR, 0.0f);
    }
  }
}

// A micro-kernel with its panels: Elem, the packed panels' element; depth(kc), a panel's steps for
// kc inputs; pack_x and pack_b, as above for f32 panels (F32Panels); and
// run(depth, ap, bp, tile, accumulate): tile[r · NR + c] = Σ_k ap[k · MR + r] · bp[k · NR + c]
// (+ tile if accumulate).
template <index_t MR_, index_t NR_>
struct F32Panels {
  static constexpr index_t MR = MR_, NR = NR_;
  using Elem = float;
  static index_t depth(index_t kc) { return kc; }
  static void pack_x(ConstMatrixView<float> x, index_t i0, index_t mc, index_t k0, index_t kc,
                     float* ap) {
    gemm_detail::pack_x<MR>(x, i0, mc, k0, kc, ap);
  }
  template <class B>
  static void pack_b(const B& b, index_t j0, index_t nc, index_t k0, index_t kc, float* bp) {
    gemm_detail::pack_b<NR>(b, j0, nc, k0, kc, bp);
  }
};

struct PortableTile : F32Panels<4, 8> {
  static void run(index_t kc, const float* ap, const float* bp, float* tile, bool accumulate) {
    float acc[MR][NR] = {};
    for (index_t k = 0; k < kc; ++k)
      for (index_t r = 0; r < MR; ++r)
        for (index_t c = 0; c < NR; ++c) acc[r][c] += ap[k * MR + r] * bp[k * NR + c];
    for (index_t r = 0; r < MR; ++r)
      for (index_t c = 0; c < NR; ++c)
        tile[r * NR + c] = accumulate ? tile[r * NR + c] + acc[r][c] : acc[r][c];
  }
};

#if SAMBA_CPU_HAS_AVX2_KERNELS
SAMBA_TARGET_AVX2_BEGIN
struct Avx2Tile : F32Panels<6, 16> {
  // Twelve named accumulators: with an array, g++ 12 stores every accumulator to the stack on each
  // step (it keeps the array's memory up to date), which halved this kernel's rate.
  static void run(index_t kc, const float* ap, const float* bp, float* tile, bool accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (index_t k = 0; k < kc; ++k, ap += MR, bp += NR) {
      const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
      __m256 a = _mm256_broadcast_ss(ap);
      c00 = _mm256_fmadd_ps(a, b0, c00);
      c01 = _mm256_fmadd_ps(a, b1, c01);
      a = _mm256_broadcast_ss(ap + 1);
      c10 = _mm256_fmadd_ps(a, b0, c10);
      c11 = _mm256_fmadd_ps(a, b1, c11);
      a = _mm256_broadcast_ss(ap + 2);
      c20 = _mm256_fmadd_ps(a, b0, c20);
      c21 = _mm256_fmadd_ps(a, b1, c21);
      a = _mm256_broadcast_ss(ap + 3);
      c30 = _mm256_fmadd_ps(a, b0, c30);
      c31 = _mm256_fmadd_ps(a, b1, c31);
      a = _mm256_broadcast_ss(ap + 4);
      c40 = _mm256_fmadd_ps(a, b0, c40);
      c41 = _mm256_fmadd_ps(a, b1, c41);
      a = _mm256_broadcast_ss(ap + 5);
      c50 = _mm256_fmadd_ps(a, b0, c50);
      c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                               {c30, c31}, {c40, c41}, {c50, c51}};
    for (index_t r = 0; r < MR; ++r)
      for (int h = 0; h < 2; ++h) {
        float* t = tile + r * NR + 8 * h;
        _mm256_storeu_ps(t, accumulate ? _mm256_add_ps(_mm256_loadu_ps(t), acc[r][h]) : acc[r][h]);
      }
  }
};
SAMBA_TARGET_END

SAMBA_TARGET_AVX512_BEGIN
struct Avx512Tile : F32Panels<14, 32> {
  static void run(index_t kc, const float* ap, const float* bp, float* tile, bool accumulate) {
    __m512 acc[MR][2];
    for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
    for (index_t k = 0; k < kc; ++k) {
      const __m512 b0 = _mm512_loadu_ps(bp + k * NR), b1 = _mm512_loadu_ps(bp + k * NR + 16);
      for (index_t r = 0; r < MR; ++r) {
        const __m512 a = _mm512_set1_ps(ap[k * MR + r]);
        acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
      }
    }
    for (index_t r = 0; r < MR; ++r)
      for (int h = 0; h < 2; ++h) {
        float* t = tile + r * NR + 16 * h;
        _mm512_storeu_ps(t, accumulate ? _mm512_add_ps(_mm512_loadu_ps(t), acc[r][h]) : acc[r][h]);
      }
  }
};
SAMBA_TARGET_END

SAMBA_TARGET_AVX512BF16_BEGIN
// bf16 weights times x rounded to bf16 (Bf16Products::rounded) with VDPBF16PS, which adds the
// products of two bf16 pairs to each f32 lane: panels of 32-bit words holding two consecutive
// inputs, ap[kp · MR + r] = (x[r, 2kp], x[r, 2kp + 1]) rounded to bf16 and
// bp[kp · NR + c] = (W[c, 2kp], W[c, 2kp + 1]) as stored; an odd last input pairs with zero.
struct Avx512Bf16Tile {
  static constexpr index_t MR = 14, NR = 32;
  using Elem = std::uint32_t;
  static index_t depth(index_t kc) { return (kc + 1) / 2; }

  static void pack_x(ConstMatrixView<float> x, index_t i0, index_t mc, index_t k0, index_t kc,
                     Elem* ap) {
    const index_t kd = depth(kc);
    for (index_t p = 0; p * MR < mc; ++p) {
      const index_t rows = std::min(MR, mc - p * MR);
      Elem* dst = ap + p * kd * MR;
      for (index_t r = 0; r < MR; ++r) {
        if (r >= rows) {
          for (index_t kp = 0; kp < kd; ++kp) dst[kp * MR + r] = 0;
          continue;
        }
        const float* src = x.row(i0 + p * MR + r) + k0;
        for (index_t kp = 0; kp < kd; ++kp) {
          const std::uint32_t lo = from_float<bf16>(src[2 * kp]).bits;
          const std::uint32_t hi = 2 * kp + 1 < kc ? from_float<bf16>(src[2 * kp + 1]).bits : 0u;
          dst[kp * MR + r] = lo | hi << 16;
        }
      }
    }
  }

  static void pack_b(const WeightRows<bf16>& b, index_t j0, index_t nc, index_t k0, index_t kc,
                     Elem* bp) {
    const index_t kd = depth(kc), pairs = kc / 2;
    for (index_t q = 0; q * NR < nc; ++q) {
      const index_t cols = std::min(NR, nc - q * NR);
      Elem* dst = bp + q * kd * NR;
      for (index_t c = 0; c < NR; ++c) {
        if (c >= cols) {
          for (index_t kp = 0; kp < kd; ++kp) dst[kp * NR + c] = 0;
          continue;
        }
        const bf16* src = b.p + (j0 + q * NR + c) * b.ld + k0;
        for (index_t kp = 0; kp < pairs; ++kp) std::memcpy(dst + kp * NR + c, src + 2 * kp, 4);
        if (kc % 2 == 1) dst[pairs * NR + c] = src[kc - 1].bits;
      }
    }
  }

  static void run(index_t kd, const Elem* ap, const Elem* bp, float* tile, bool accumulate) {
    // (A C-style cast between vectors of one size: __m512bh is a vector of short in g++ 12 and
    // clang 14, of __bf16 in later ones.)
    __m512 acc[MR][2];
    for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
    for (index_t kp = 0; kp < kd; ++kp) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + kp * NR);
      const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + kp * NR + 16);
      for (index_t r = 0; r < MR; ++r) {
        const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[kp * MR + r]));
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
      }
    }
    for (index_t r = 0; r < MR; ++r)
      for (int h = 0; h < 2; ++h) {
        float* t = tile + r * NR + 16 * h;
        _mm512_storeu_ps(t, accumulate ? _mm512_add_ps(_mm512_loadu_ps(t), acc[r][h]) : acc[r][h]);
      }
  }
};
SAMBA_TARGET_END
#endif

// y[:, j0 : j1) (+)= x · B[:, j0 : j1) for all rows of x, with one micro-kernel: the blocked loops
// of the top of the file. ap, bp: scratch for one packed block of x and of B.
template <class Tile, class B, class E = typename Tile::Elem>
void gemm_columns(ConstMatrixView<float> x, const B& b, index_t in, MatrixView<float> y,
                  bool accumulate, index_t j0, index_t j1, E* ap, E* bp) {
  constexpr index_t MR = Tile::MR, NR = Tile::NR;
  static_assert(mc_rows % MR == 0 && nc_outputs % NR == 0);
  const index_t M = x.rows(), ldy = y.stride(0);
  float tile[MR * NR];
  for (index_t jc = j0; jc < j1; jc += nc_outputs) {
    const index_t nc = std::min(nc_outputs, j1 - jc);
    for (index_t pc = 0; pc < in; pc += kc_block) {
      const index_t kc = std::min(kc_block, in - pc);
      const index_t kd = Tile::depth(kc);
      const bool add = accumulate || pc > 0;
      Tile::pack_b(b, jc, nc, pc, kc, bp);
      for (index_t ic = 0; ic < M; ic += mc_rows) {
        const index_t mc = std::min(mc_rows, M - ic);
        Tile::pack_x(x, ic, mc, pc, kc, ap);
        for (index_t jr = 0; jr < nc; jr += NR) {
          const index_t nr = std::min(NR, nc - jr);
          for (index_t ir = 0; ir < mc; ir += MR) {
            const index_t mr = std::min(MR, mc - ir);
            float* yt = y.row(ic + ir) + jc + jr;
            // The tile of y in, through the kernel, and out: only its valid part is y's.
            if (add)
              for (index_t r = 0; r < mr; ++r) copy_floats<NR>(tile + r * NR, yt + r * ldy, nr);
            Tile::run(kd, ap + ir * kd, bp + jr * kd, tile, add);
            for (index_t r = 0; r < mr; ++r) copy_floats<NR>(yt + r * ldy, tile + r * NR, nr);
          }
        }
      }
    }
  }
}

// y (+)= x · B with one micro-kernel, the outputs split over the threads in whole micro-panels.
template <class Tile, class B>
void gemm_with(ConstMatrixView<float> x, const B& b, index_t out, index_t in, MatrixView<float> y,
               bool accumulate) {
  constexpr index_t NR = Tile::NR, MR = Tile::MR;
  const index_t panels = (out + NR - 1) / NR;
  const long long work = static_cast<long long>(x.rows()) * out * in;
  const index_t parts = std::max<index_t>(
      1, std::min<index_t>(work >= parallel_min_work ? max_threads() : 1, panels));
  SAMBA_PARALLEL_FOR_IF(parts > 1)
  for (index_t part = 0; part < parts; ++part) {
    const index_t j0 = std::min(out, panels * part / parts * NR);
    const index_t j1 = std::min(out, panels * (part + 1) / parts * NR);
    if (j0 >= j1) continue;
    // Scratch for one packed block of each operand, no larger than this problem needs (packing
    // writes every element the kernels read: no zero fill).
    const index_t kd = Tile::depth(std::min(kc_block, in));
    ScratchBuffer<typename Tile::Elem> ap(std::min(mc_rows, (x.rows() + MR - 1) / MR * MR) * kd);
    ScratchBuffer<typename Tile::Elem> bp(std::min(nc_outputs, (j1 - j0 + NR - 1) / NR * NR) * kd);
    gemm_columns<Tile>(x, b, in, y, accumulate, j0, j1, ap.data(), bp.data());
  }
}

// Checks the shapes and runs the widest micro-kernel `isa` allows.
template <class B>
void gemm_dispatch(ConstMatrixView<float> x, const B& b, index_t out, index_t in,
                   MatrixView<float> y, bool accumulate, Isa isa,
                   Bf16Products products = Bf16Products::exact) {
  detail::check(
      x.cols() == in && y.rows() == x.rows() && y.cols() == out &&
          (x.rows() == 0 || ((x.stride(1) == 1 || in <= 1) && (y.stride(1) == 1 || out <= 1))),
      "gemm: x ", x.dyn_shape(), " · B [", in, ", ", out, "] into y ", y.dyn_shape(),
      " (rows of x and y contiguous)");
  if (x.rows() == 0 || out == 0) return;
  if (in == 0) {  // no inputs: every output is the empty sum
    if (!accumulate)
      for (index_t m = 0; m < x.rows(); ++m) std::fill_n(y.row(m), out, 0.0f);
    return;
  }
#if SAMBA_CPU_HAS_AMX_KERNELS
  if constexpr (std::is_same_v<B, WeightRows<bf16>>)
    // (detected_isa() also asks Linux for the tile state, once: an AMX instruction before that
    // would be an illegal instruction.)
    if (isa >= Isa::amx && detected_isa() >= Isa::amx && !accumulate)
      return products == Bf16Products::rounded ? amx::gemm_bf16<false>(x, b.p, b.ld, out, in, y)
                                               : amx::gemm_bf16<true>(x, b.p, b.ld, out, in, y);
#endif
#if SAMBA_CPU_HAS_AVX2_KERNELS
  if constexpr (std::is_same_v<B, WeightRows<bf16>>)
    if (isa >= Isa::avx512bf16 && products == Bf16Products::rounded)
      return gemm_with<Avx512Bf16Tile>(x, b, out, in, y, accumulate);
  if (isa >= Isa::avx512) return gemm_with<Avx512Tile>(x, b, out, in, y, accumulate);
  if (isa >= Isa::avx2) return gemm_with<Avx2Tile>(x, b, out, in, y, accumulate);
#endif
  (void)isa, (void)products;
  gemm_with<PortableTile>(x, b, out, in, y, accumulate);
}

}  // namespace gemm_detail

// y = x · Wᵀ for x [M, in] and W [out, in] stored as f32, bf16 or f16 with contiguous rows (a
// linear layer), with the micro-kernel of `isa` (by default, this CPU's widest); bf16 weights are
// multiplied as `products` says (by default, the process's setting, cpu/isa.hpp).
template <StorageType W>
void gemm(ConstMatrixView<float> x, const W* w, index_t out, index_t in, MatrixView<float> y,
          Isa isa = active_isa(), Bf16Products products = bf16_products()) {
  gemm_detail::gemm_dispatch(x, gemm_detail::WeightRows<W>{w, in}, out, in, y, false, isa,
                             products);
}

// c = a · bᵀ (c += … with accumulate) for f32 views with contiguous rows: attention's scores.
inline void gemm_nt(ConstMatrixView<float> a, ConstMatrixView<float> b, MatrixView<float> c,
                    bool accumulate = false, Isa isa = active_isa()) {
  detail::check(b.cols() <= 1 || b.stride(1) == 1, "gemm_nt: rows of b must be contiguous");
  gemm_detail::gemm_dispatch(a, gemm_detail::WeightRows<float>{b.data(), b.stride(0)}, b.rows(),
                             b.cols(), c, accumulate, isa);
}

// c = a · b (c += … with accumulate) for f32 views with contiguous rows: attention's weighted sum
// of values.
inline void gemm_nn(ConstMatrixView<float> a, ConstMatrixView<float> b, MatrixView<float> c,
                    bool accumulate = false, Isa isa = active_isa()) {
  detail::check(b.cols() <= 1 || b.stride(1) == 1, "gemm_nn: rows of b must be contiguous");
  gemm_detail::gemm_dispatch(a, gemm_detail::InputRows{b.data(), b.stride(0)}, b.cols(), b.rows(),
                             c, accumulate, isa);
}

// c = a · B (c += … with accumulate) for B [a.cols(), heads · width] stored as heads' row-major
// [a.cols(), width] blocks one after another from b (gemm_detail::HeadBlocks): a gated linear
// recurrence's states, multiplied for all heads of a group at once.
inline void gemm_head_blocks(ConstMatrixView<float> a, const float* b, index_t heads, index_t width,
                             MatrixView<float> c, bool accumulate = false, Isa isa = active_isa()) {
  gemm_detail::gemm_dispatch(a, gemm_detail::HeadBlocks{b, a.cols(), width}, heads * width,
                             a.cols(), c, accumulate, isa);
}

}  // namespace samba::cpu_detail
