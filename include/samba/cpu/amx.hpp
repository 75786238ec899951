// y = x · Wᵀ for bf16 weights on the AMX tile unit (Intel Xeon 4th generation, Sapphire Rapids, and
// later): TDPBF16PS multiplies a 16 × 32 bf16 tile by a 32 × 16 bf16 tile into a 16 × 16 f32 tile,
// 8192 multiply-adds in one instruction.
//
// Accuracy. W is bf16 already, so only x needs rounding, and rounding x to bf16 alone (what ggml
// does) costs a relative error of about 2⁻⁹ per product. Here x is split in two bf16 parts,
//   hi = bf16(x),  lo = bf16(x − hi),  x = hi + lo + r with |r| ≤ 2⁻¹⁶ |x|,
// and both are multiplied, y = hi · Wᵀ + lo · Wᵀ, each product exact and every sum in f32: the
// result is as close to the f32 one as the f32 kernels' (tests/cpu/gemm.cpp), at half the tile
// unit's rate, which is still several times the AVX-512 FMA rate. With Bf16Products::rounded
// (cpu/isa.hpp) only hi is multiplied: twice the rate, ggml's accuracy.
//
// Layout. x is split once per call into xh and xl (rounded: xh only), [M rounded up to 32, K
// rounded up to 32] bf16, zero padded. Each thread takes a range of outputs and, block by block of
// nc_outputs, packs its weights into tiles of 16 outputs × 32 inputs in the unit's pair-interleaved
// form (row p of a tile holds, for each of the 16 outputs, its inputs 2p and 2p + 1), then walks
// the rows of x 32 at a time. The micro-kernel holds a 32 × 32 block of y in four accumulator tiles
// (tmm0–3) and, per 32 inputs, loads two tiles of x (tmm4, tmm5; hi, then lo) and two of weights
// (tmm6, tmm7).
//
// The instructions are written as inline assembly (binutils ≥ 2.36 knows them), so nothing here
// needs a compiler flag; they run only where active_isa() is Isa::amx, which also means Linux has
// granted this process the tile data state (cpu/isa.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "samba/core/dtype.hpp"
#include "samba/core/scratch.hpp"
#include "samba/core/tensor.hpp"
#include "samba/cpu/isa.hpp"
#include "samba/cpu/parallel.hpp"

#if SAMBA_CPU_HAS_AMX_KERNELS

namespace samba::cpu_detail::amx {

inline constexpr index_t tile_rows = 16;    // rows of every tile
inline constexpr index_t tile_k = 32;       // bf16 inputs per row of an x tile
inline constexpr index_t nc_outputs = 128;  // outputs per packed block (a multiple of 32)
inline constexpr index_t kt_block = 4;      // tiles of 32 inputs per pass: x's 32 rows stay in L1

// The tile configuration (palette 1): eight tiles of 16 rows × 64 bytes.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

// Configures this thread's tiles for the kernel, and releases them when it goes out of scope.
class TileScope {
 public:
  TileScope() {
    TileConfig cfg;
    for (int t = 0; t < 8; ++t) {
      cfg.colsb[t] = 64;
      cfg.rows[t] = static_cast<std::uint8_t>(tile_rows);
    }
    asm volatile("ldtilecfg %0" : : "m"(cfg));
  }
  ~TileScope() { asm volatile("tilerelease" ::); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

SAMBA_TARGET_AVX512_BEGIN
// hi[i] = bf16(x[i]), lo[i] = bf16(x[i] − hi[i]) for n values, 16 at a time (the rounding of
// core/dtype.hpp's from_float<bf16>, nearest even; the tail through it). lo == nullptr: hi only.
inline void split_row(const float* x, index_t n, std::uint16_t* hi, std::uint16_t* lo) {
  index_t i = 0;
  const __m512i bias = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1);
  const auto round = [&](__m512 v) {
    const __m512i b = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), one);
    return _mm512_srli_epi32(_mm512_add_epi32(b, _mm512_add_epi32(bias, odd)), 16);
  };
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512i h = round(v);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + i), _mm512_cvtepi32_epi16(h));
    if (!lo) continue;
    const __m512 hv = _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
    const __m512i l = round(_mm512_sub_ps(v, hv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + i), _mm512_cvtepi32_epi16(l));
  }
  for (; i < n; ++i) {
    const bf16 h = from_float<bf16>(x[i]);
    hi[i] = h.bits;
    if (lo) lo[i] = from_float<bf16>(x[i] - to_float(h)).bits;
  }
}
SAMBA_TARGET_END

// Packs outputs [j0, j0 + nc) (nc a multiple of 32) of W [out, in], all Kp inputs, as tiles: tile
// (q, t) at bp + (q · KT + t) · 512 covers outputs j0 + 16q … and inputs 32t …, row p of it holding
// (W[j, 32t + 2p], W[j, 32t + 2p + 1]) for its 16 outputs j. Outside W: zero.
inline void pack_weights(const bf16* w, index_t ldw, index_t out, index_t in, index_t j0,
                         index_t nc, index_t Kp, std::uint16_t* bp) {
  // In 32-bit words (input pairs): word i of output j goes to tile i / 16, row i % 16, column j.
  const index_t KT = Kp / tile_k, words = in / 2;
  std::uint32_t* dst32 = reinterpret_cast<std::uint32_t*>(bp);
  for (index_t q = 0; q * 16 < nc; ++q)
    for (index_t n = 0; n < 16; ++n) {
      const index_t j = j0 + 16 * q + n;
      std::uint32_t* dst = dst32 + q * KT * 256 + n;
      index_t i = 0;
      if (j < out) {
        const bf16* src = w + j * ldw;
        for (; i < words; ++i) {
          std::uint32_t pair;
          std::memcpy(&pair, src + 2 * i, 4);
          dst[(i / 16) * 256 + (i % 16) * 16] = pair;
        }
        if (in % 2 == 1) dst[(i / 16) * 256 + (i % 16) * 16] = src[in - 1].bits, ++i;
      }
      for (; i < KT * 16; ++i) dst[(i / 16) * 256 + (i % 16) * 16] = 0;
    }
}

// c[0 : 32, 0 : 32] (rows ldc floats apart) (+)= xh·B + xl·B (Split; else xh·B) for 32 rows of the
// split x (rows ldx bf16 apart) and 32 outputs of packed weights (two columns of tiles, b0 and b1),
// KT tiles of 32 inputs.
template <bool Split>
void kernel_32x32(const std::uint16_t* xh, const std::uint16_t* xl, index_t ldx,
                  const std::uint16_t* b0, const std::uint16_t* b1, index_t KT, float* c,
                  index_t ldc, bool accumulate) {
  const long sx = static_cast<long>(ldx * 2), sb = 64, sc = static_cast<long>(ldc * 4);
  const long half = static_cast<long>(16 * ldx);  // elements to the second 16 rows of x
  float* c1 = c + 16 * ldc;
  if (accumulate)
    asm volatile(
        "tileloadd (%[c00],%[sc],1), %%tmm0\n\t"
        "tileloadd (%[c01],%[sc],1), %%tmm1\n\t"
        "tileloadd (%[c10],%[sc],1), %%tmm2\n\t"
        "tileloadd (%[c11],%[sc],1), %%tmm3"
        :
        : [c00] "r"(c), [c01] "r"(c + 16), [c10] "r"(c1), [c11] "r"(c1 + 16), [sc] "r"(sc)
        : "memory");
  else
    asm volatile("tilezero %%tmm0\n\ttilezero %%tmm1\n\ttilezero %%tmm2\n\ttilezero %%tmm3" ::);
  for (index_t t = 0; t < KT; ++t) {
    const std::uint16_t* bt0 = b0 + t * 512;
    const std::uint16_t* bt1 = b1 + t * 512;
    const std::uint16_t* h = xh + t * tile_k;
    // The weights' tiles stay in tmm6 and tmm7 for the lo products below (nothing else here uses
    // the tile registers).
    asm volatile(
        "tileloadd (%[bt0],%[sb],1), %%tmm6\n\t"
        "tileloadd (%[bt1],%[sb],1), %%tmm7\n\t"
        "tileloadd (%[h0],%[sx],1), %%tmm4\n\t"
        "tileloadd (%[h1],%[sx],1), %%tmm5\n\t"
        "tdpbf16ps %%tmm6, %%tmm4, %%tmm0\n\t"
        "tdpbf16ps %%tmm7, %%tmm4, %%tmm1\n\t"
        "tdpbf16ps %%tmm6, %%tmm5, %%tmm2\n\t"
        "tdpbf16ps %%tmm7, %%tmm5, %%tmm3"
        :
        :
        [bt0] "r"(bt0), [bt1] "r"(bt1), [sb] "r"(sb), [h0] "r"(h), [h1] "r"(h + half), [sx] "r"(sx)
        : "memory");
    if constexpr (Split) {
      const std::uint16_t* l = xl + t * tile_k;
      asm volatile(
          "tileloadd (%[l0],%[sx],1), %%tmm4\n\t"
          "tileloadd (%[l1],%[sx],1), %%tmm5\n\t"
          "tdpbf16ps %%tmm6, %%tmm4, %%tmm0\n\t"
          "tdpbf16ps %%tmm7, %%tmm4, %%tmm1\n\t"
          "tdpbf16ps %%tmm6, %%tmm5, %%tmm2\n\t"
          "tdpbf16ps %%tmm7, %%tmm5, %%tmm3"
          :
          : [l0] "r"(l), [l1] "r"(l + half), [sx] "r"(sx)
          : "memory");
    }
  }
  asm volatile(
      "tilestored %%tmm0, (%[c00],%[sc],1)\n\t"
      "tilestored %%tmm1, (%[c01],%[sc],1)\n\t"
      "tilestored %%tmm2, (%[c10],%[sc],1)\n\t"
      "tilestored %%tmm3, (%[c11],%[sc],1)"
      :
      : [c00] "r"(c), [c01] "r"(c + 16), [c10] "r"(c1), [c11] "r"(c1 + 16), [sc] "r"(sc)
      : "memory");
}

// y = x · Wᵀ for x [M, in] and bf16 W [out, in] (rows ldw apart), rows of x and y contiguous; x
// split in two bf16 parts (Split) or rounded to bf16.
template <bool Split>
void gemm_bf16(ConstMatrixView<float> x, const bf16* w, index_t ldw, index_t out, index_t in,
               MatrixView<float> y) {
  const index_t M = x.rows();
  if (M == 0 || out == 0) return;
  const index_t Mp = (M + 31) / 32 * 32, Kp = (in + tile_k - 1) / tile_k * tile_k;
  const index_t KT = Kp / tile_k;
  ScratchBuffer<std::uint16_t> xh(Mp * Kp), xl(Split ? Mp * Kp : 0);
  const bool parallel = static_cast<long long>(M) * out * in >= parallel_min_work;
  (void)parallel;
  SAMBA_PARALLEL_FOR_IF(parallel)
  for (index_t m = 0; m < Mp; ++m) {  // rows past M and inputs past `in`: zero
    std::uint16_t* h = xh.data() + m * Kp;
    std::uint16_t* l = Split ? xl.data() + m * Kp : nullptr;
    const index_t n = m < M ? in : 0;
    if (n > 0) split_row(x.row(m), n, h, l);
    std::fill(h + n, h + Kp, std::uint16_t{0});
    if constexpr (Split) std::fill(l + n, l + Kp, std::uint16_t{0});
  }

  const index_t panels = (out + 31) / 32;
  const index_t parts =
      std::max<index_t>(1, std::min<index_t>(parallel ? max_threads() : 1, panels));
  SAMBA_PARALLEL_FOR_IF(parts > 1)
  for (index_t part = 0; part < parts; ++part) {
    const index_t j0 = panels * part / parts * 32,
                  j1 = std::min(out, panels * (part + 1) / parts * 32);
    if (j0 >= j1) continue;
    const TileScope tiles;
    ScratchBuffer<std::uint16_t> bp(nc_outputs * Kp);
    ScratchBuffer<float> c(32 * nc_outputs);  // a block of y, summed over the input blocks
    for (index_t jc = j0; jc < j1; jc += nc_outputs) {
      const index_t nc = std::min(nc_outputs, (j1 - jc + 31) / 32 * 32);
      const index_t n_valid = std::min(nc, j1 - jc);
      pack_weights(w, ldw, out, in, jc, nc, Kp, bp.data());
      for (index_t m0 = 0; m0 < M; m0 += 32) {
        const std::uint16_t* h = xh.data() + m0 * Kp;
        const std::uint16_t* l = Split ? xl.data() + m0 * Kp : nullptr;
        for (index_t kb = 0; kb < KT; kb += kt_block) {
          const index_t kn = std::min(kt_block, KT - kb);
          for (index_t q = 0; 16 * q < nc; q += 2)
            kernel_32x32<Split>(h + kb * tile_k, Split ? l + kb * tile_k : nullptr, Kp,
                                bp.data() + (q * KT + kb) * 512,
                                bp.data() + ((q + 1) * KT + kb) * 512, kn, c.data() + 16 * q,
                                nc_outputs, kb > 0);
        }
        for (index_t r = 0; r < std::min<index_t>(32, M - m0); ++r)
          std::memcpy(y.row(m0 + r) + jc, c.data() + r * nc_outputs,
                      static_cast<std::size_t>(n_valid) * 4);
      }
    }
  }
}

}  // namespace samba::cpu_detail::amx

#endif  // SAMBA_CPU_HAS_AMX_KERNELS
