// MambaLayer's primitives on the CPU (the steps are MambaLayer::forward_batch's): projections
// through cpu_detail::linear, the causal conv as a plain loop over the sequence, the selective scan
// in 8-channel blocks split over the threads (AVX2 where the CPU has it: cpu/isa.hpp; the math is
// in layers/mamba.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/cpu/batch.hpp"
#include "samba/cpu/conv.hpp"
#include "samba/cpu/linear.hpp"
#include "samba/cpu/math.hpp"
#include "samba/cpu/parallel.hpp"
#include "samba/cpu/simd.hpp"
#include "samba/layers/mamba.hpp"

namespace samba {

namespace cpu_detail {

// The selective scan's channel block (8 lanes: one AVX2 register; 16 with AVX-512), and the time
// steps it runs through every block before the next steps (see MambaKernel<cpu, W>::scan_sequence).
inline constexpr index_t scan_block = 8, scan_block_avx512 = 16;
inline constexpr index_t scan_time_chunk = 32;
// How many steps ahead a block prefetches its rows (prefetch_rows): 2, 8 and 16 measured slower.
inline constexpr index_t scan_prefetch_ahead = 4;

// What one block of the scan reads and writes (MambaKernel<cpu, W>::scan_sequence).
struct ScanArgs {
  index_t T, di, n;
  const float *uc, *delta, *bc;
  index_t bc_stride;
  ConstMatrixView<float> z;
  const float* D;
  float* out;
  float* ungated;  // nullptr, or where C · h + D ⊙ u' is also written, before the gate
};

namespace portable {

// One block of `lanes` ≤ Width channels from c0 (Lanes > 0: exactly Lanes, known at compile time
// so that the inner loops vectorise). hb, ab: [n][Width].
template <index_t Lanes, index_t Width>
void scan_block(const ScanArgs& a, index_t c0, index_t lanes, float* hb, const float* ab) {
  static_assert(Lanes <= Width);
  const index_t L = Lanes > 0 ? Lanes : lanes;
  for (index_t t = 0; t < a.T; ++t) {
    const float* dt = a.delta + t * a.di + c0;
    const float* u = a.uc + t * a.di + c0;
    const float* B = a.bc + t * a.bc_stride;
    const float* C = B + a.n;
    float du[Width], acc[Width] = {};
    for (index_t j = 0; j < L; ++j) du[j] = dt[j] * u[j];
    for (index_t s = 0; s < a.n; ++s) {
      float* h = hb + s * Width;
      const float* as = ab + s * Width;
      const float bs = B[s], cs = C[s];
      for (index_t j = 0; j < L; ++j) {
        h[j] = fast_exp(dt[j] * as[j]) * h[j] + du[j] * bs;
        acc[j] += cs * h[j];
      }
    }
    float* o = a.out + t * a.di + c0;
    for (index_t j = 0; j < L; ++j) {
      const float zv = a.z(t, c0 + j), yv = acc[j] + a.D[c0 + j] * u[j];
      if (a.ungated) a.ungated[t * a.di + c0 + j] = yv;
      o[j] = yv * (zv / (1.0f + fast_exp(-zv)));
    }
  }
}

}  // namespace portable

#if SAMBA_CPU_HAS_AVX2_KERNELS
SAMBA_TARGET_AVX2_BEGIN
namespace avx2 {

// A block's rows of Δ, u' and z sit one row (d_inner floats) apart, so every step of a block
// reads a new cache line on a new page, where the hardware prefetchers do not follow; asking for
// the lines a few steps ahead hides the misses (1.3× the steps per second at one thread on the
// Xeon of docs/benchmarks.md, 1.7× at two, where both cores miss at once).
inline void prefetch_rows(const ScanArgs& a, index_t t, index_t c0) {
  if (t >= a.T) return;
  prefetch_t0(a.delta + t * a.di + c0);
  prefetch_t0(a.uc + t * a.di + c0);
  prefetch_t0(a.z.row(t) + c0);
}

// One full block of 8 channels whose z rows are contiguous.
inline void scan_block(const ScanArgs& a, index_t c0, float* hb, const float* ab) {
  const __m256 d = _mm256_loadu_ps(a.D + c0), one = _mm256_set1_ps(1.0f);
  const index_t n2 = a.n - a.n % 2;
  for (index_t t = 0; t < a.T; ++t) {
    prefetch_rows(a, t + scan_prefetch_ahead, c0);
    const __m256 dt = _mm256_loadu_ps(a.delta + t * a.di + c0);
    const __m256 u = _mm256_loadu_ps(a.uc + t * a.di + c0);
    const __m256 du = _mm256_mul_ps(dt, u);
    const float* B = a.bc + t * a.bc_stride;
    const float* C = B + a.n;
    auto step = [&](index_t s, __m256 acc) {
      const __m256 e = fast_exp(_mm256_mul_ps(dt, _mm256_loadu_ps(ab + s * 8)));
      const __m256 h = _mm256_fmadd_ps(e, _mm256_loadu_ps(hb + s * 8),
                                       _mm256_mul_ps(du, _mm256_broadcast_ss(B + s)));
      _mm256_storeu_ps(hb + s * 8, h);
      return _mm256_fmadd_ps(_mm256_broadcast_ss(C + s), h, acc);
    };
    // Two accumulators: the FMA latency chain through acc would otherwise bound the loop.
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (index_t s = 0; s < n2; s += 2) {
      acc0 = step(s, acc0);
      acc1 = step(s + 1, acc1);
    }
    if (n2 < a.n) acc0 = step(n2, acc0);
    const __m256 zv = _mm256_loadu_ps(a.z.row(t) + c0);
    const __m256 gate =
        _mm256_div_ps(zv, _mm256_add_ps(one, fast_exp(_mm256_sub_ps(_mm256_setzero_ps(), zv))));
    const __m256 y = _mm256_fmadd_ps(d, u, _mm256_add_ps(acc0, acc1));
    if (a.ungated) _mm256_storeu_ps(a.ungated + t * a.di + c0, y);
    _mm256_storeu_ps(a.out + t * a.di + c0, _mm256_mul_ps(y, gate));
  }
}

}  // namespace avx2
SAMBA_TARGET_END

SAMBA_TARGET_AVX512_BEGIN
namespace avx512 {

// One full block of 16 channels whose z rows are contiguous; hb, ab: [n][16].
inline void scan_block(const ScanArgs& a, index_t c0, float* hb, const float* ab) {
  const __m512 d = _mm512_loadu_ps(a.D + c0), one = _mm512_set1_ps(1.0f);
  const index_t n2 = a.n - a.n % 2;
  for (index_t t = 0; t < a.T; ++t) {
    avx2::prefetch_rows(a, t + scan_prefetch_ahead, c0);
    const __m512 dt = _mm512_loadu_ps(a.delta + t * a.di + c0);
    const __m512 u = _mm512_loadu_ps(a.uc + t * a.di + c0);
    const __m512 du = _mm512_mul_ps(dt, u);
    const float* B = a.bc + t * a.bc_stride;
    const float* C = B + a.n;
    auto step = [&](index_t s, __m512 acc) {
      const __m512 e = fast_exp(_mm512_mul_ps(dt, _mm512_loadu_ps(ab + s * 16)));
      const __m512 h =
          _mm512_fmadd_ps(e, _mm512_loadu_ps(hb + s * 16), _mm512_mul_ps(du, _mm512_set1_ps(B[s])));
      _mm512_storeu_ps(hb + s * 16, h);
      return _mm512_fmadd_ps(_mm512_set1_ps(C[s]), h, acc);
    };
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (index_t s = 0; s < n2; s += 2) {
      acc0 = step(s, acc0);
      acc1 = step(s + 1, acc1);
    }
    if (n2 < a.n) acc0 = step(n2, acc0);
    const __m512 zv = _mm512_loadu_ps(a.z.row(t) + c0);
    const __m512 gate =
        _mm512_div_ps(zv, _mm512_add_ps(one, fast_exp(_mm512_sub_ps(_mm512_setzero_ps(), zv))));
    const __m512 y = _mm512_fmadd_ps(d, u, _mm512_add_ps(acc0, acc1));
    if (a.ungated) _mm512_storeu_ps(a.ungated + t * a.di + c0, y);
    _mm512_storeu_ps(a.out + t * a.di + c0, _mm512_mul_ps(y, gate));
  }
}

// Decode-sized calls: channel by channel on the state as it lies ([d_inner][d_state], a channel's
// states contiguous, 16 per register), so nothing is transposed in or out; h and A are the whole
// layer's, a.z its rows.
inline void scan_in_place(const ScanArgs& a, float* h_all, const float* A) {
  const index_t n = a.n;
  for (index_t t = 0; t < a.T; ++t) {
    const float* B = a.bc + t * a.bc_stride;
    const float* C = B + n;
    for (index_t c = 0; c < a.di; ++c) {
      const float dt = a.delta[t * a.di + c], u = a.uc[t * a.di + c];
      const __m512 vdt = _mm512_set1_ps(dt), du = _mm512_set1_ps(dt * u);
      float* h = h_all + c * n;
      const float* ac = A + c * n;
      __m512 acc = _mm512_setzero_ps();
      for (index_t s = 0; s < n; s += 16) {
        const __mmask16 m = n - s >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - s)) - 1u);
        const __m512 e = fast_exp(_mm512_mul_ps(vdt, _mm512_maskz_loadu_ps(m, ac + s)));
        const __m512 hv = _mm512_fmadd_ps(e, _mm512_maskz_loadu_ps(m, h + s),
                                          _mm512_mul_ps(du, _mm512_maskz_loadu_ps(m, B + s)));
        _mm512_mask_storeu_ps(h + s, m, hv);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, C + s), hv, acc);
      }
      const float zv = a.z(t, c), yv = _mm512_reduce_add_ps(acc) + a.D[c] * u;
      if (a.ungated) a.ungated[t * a.di + c] = yv;
      a.out[t * a.di + c] = yv * (zv / (1.0f + cpu_detail::fast_exp(-zv)));
    }
  }
}

}  // namespace avx512
SAMBA_TARGET_END
#endif

}  // namespace cpu_detail

template <StorageType W>
struct MambaKernel<cpu, W> {
  using Layer = MambaLayer<cpu, W>;
  using State = typename Layer::State;

  // Host memory and every size run on the CPU.
  static void check(const Layer&, ConstMatrixView<float>, MatrixView<float>) {}

  static void linear(const Layer& layer, Tensor<W> MambaWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    cpu_detail::linear(x, layer.weights().*weight, y);
  }

  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> u,
                        MatrixView<float> out) {
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      causal_conv_silu(layer, st, u.slice(r0, len), out.slice(r0, len));
    });
  }

  // Δ = softplus(dt + dt_bias) in a pass of its own (in dt's place), then each sequence's scan.
  static void selective_scan(const Layer& layer, std::span<State* const> states,
                             std::span<const index_t> lengths, const MambaScanInputs& in,
                             MatrixView<float> y) {
    const index_t T = in.u.rows(), di = layer.config().d_inner();
    detail::check(in.u.stride(0) == di && in.dt.stride(0) == di && y.stride(0) == di &&
                      in.u.stride(1) == 1 && in.dt.stride(1) == 1 && y.stride(1) == 1 &&
                      in.bc.stride(1) == 1,
                  "MambaKernel<cpu>::selective_scan: u', dt and y must be contiguous [T, d_inner]");
    const float* dt_bias = layer.weights().dt_bias.data();
    SAMBA_PARALLEL_FOR_IF(T * di >= cpu_detail::parallel_min_work)
    for (index_t t = 0; t < T; ++t) {
      float* delta = in.dt.row(t);
      for (index_t ch = 0; ch < di; ++ch) delta[ch] = cpu_detail::softplus(delta[ch] + dt_bias[ch]);
    }
    const index_t bc_stride = in.bc.stride(0);
    const bool ungated = in.ungated.data() != nullptr;
    detail::check(!ungated || (in.ungated.rows() == T && in.ungated.cols() == di &&
                               in.ungated.stride(0) == di && in.ungated.stride(1) == 1),
                  "MambaKernel<cpu>::selective_scan: the ungated output must be a contiguous [", T,
                  ", ", di, "]");
    cpu_detail::for_each_sequence(states, lengths, [&](State& st, index_t r0, index_t len) {
      scan_sequence(layer, st, in.u.row(r0), in.dt.row(r0), in.bc.data() + r0 * bc_stride,
                    bc_stride, in.z.slice(r0, len), y.row(r0),
                    ungated ? in.ungated.row(r0) : nullptr);
    });
  }

  // The causal conv + SiLU of one sequence's chunk (cpu/conv.hpp), advancing state.conv.
  static void causal_conv_silu(const Layer& layer, State& state, ConstMatrixView<float> u,
                               MatrixView<float> out) {
    cpu_detail::causal_conv_silu(u, layer.weights().conv_weight.data(),
                                 layer.weights().conv_bias.data(), layer.config().d_conv,
                                 state.conv.data(), out);
  }

  // h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u'_t;  y_t = (C_t · h_t + D ⊙ u'_t) ⊙ silu(z_t).
  // bc points at B_0 (C_0 = B_0 + d_state); rows of B and C are bc_stride apart.
  //
  // Channels go in blocks of one vector register (8 with AVX2, 16 with AVX-512), with the time
  // loop inside the block: the block's h and A are transposed into [d_state][width] scratch that
  // stays in L1, Δ, u', z and the output are read and written a register at a time, and B_t[s],
  // C_t[s] are broadcast to the block's channels. exp is cpu/simd.hpp's fast_exp (≤ 2 ulp).
  // Blocks are independent and split over the threads; each thread runs its blocks through the
  // sequence scan_time_chunk steps at a time. On a CPU without AVX2 (cpu/isa.hpp), and for the
  // last d_inner mod width channels, the same loops run on plain arrays (which the compiler
  // vectorises with the ISA of the program's flags). With AVX-512, calls of up to
  // scan_in_place_max steps (decode) skip the transposition and run on the state as it lies,
  // a channel's d_state values a register.
  static constexpr index_t scan_in_place_max = 4;
  static void scan_sequence(const Layer& layer, State& state, const float* uc, const float* delta,
                            const float* bc, index_t bc_stride, ConstMatrixView<float> z,
                            float* out, float* ungated = nullptr) {
#if SAMBA_CPU_HAS_AVX2_KERNELS
    if (cpu_detail::active_isa() >= cpu_detail::Isa::avx512) {
      if (z.rows() <= scan_in_place_max) {
        const index_t di = layer.config().d_inner();
        const cpu_detail::ScanArgs args{z.rows(),  di, layer.config().d_state,   uc,  delta,  bc,
                                        bc_stride, z,  layer.weights().D.data(), out, ungated};
        return cpu_detail::avx512::scan_in_place(args, state.ssm.data(), layer.A().data());
      }
      if (z.stride(1) == 1)
        return scan_blocks<cpu_detail::scan_block_avx512>(layer, state, uc, delta, bc, bc_stride, z,
                                                          out, ungated);
    }
#endif
    scan_blocks<cpu_detail::scan_block>(layer, state, uc, delta, bc, bc_stride, z, out, ungated);
  }

 private:
  template <index_t scan_block>
  static void scan_blocks(const Layer& layer, State& state, const float* uc, const float* delta,
                          const float* bc, index_t bc_stride, ConstMatrixView<float> z, float* out,
                          float* ungated) {
    using cpu_detail::scan_time_chunk;
    const index_t T = z.rows(), di = layer.config().d_inner(), n = layer.config().d_state;
    const float* A = layer.A().data();
    const float* D = layer.weights().D.data();
    float* h_all = state.ssm.data();
    const cpu_detail::Isa isa = cpu_detail::active_isa();
    const index_t blocks = (di + scan_block - 1) / scan_block;
    const index_t parts = std::max<index_t>(
        1, std::min<index_t>(static_cast<long long>(T) * di * n >= cpu_detail::parallel_min_work
                                 ? cpu_detail::max_threads()
                                 : 1,
                             blocks));
    SAMBA_PARALLEL_FOR_IF(parts > 1)
    for (index_t part = 0; part < parts; ++part) {
      const index_t b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
      // [block][n][scan_block]: h and A of this part's channels, transposed for the blocks.
      const index_t size = (b1 - b0) * n * scan_block;
      ScratchBuffer<float> hs(size), as(size);  // the lanes read are written below
      auto each_lane = [&](auto f) {
        for (index_t b = b0; b < b1; ++b)
          for (index_t j = 0; j < std::min(scan_block, di - b * scan_block); ++j)
            for (index_t s = 0; s < n; ++s)
              f(((b - b0) * n + s) * scan_block + j, (b * scan_block + j) * n + s);
      };
      each_lane([&](index_t to, index_t from) {
        hs[to] = h_all[from];
        as[to] = A[from];
      });
      // Time in chunks, every block of the part within a chunk: the rows of u', Δ, z and the
      // output that a chunk touches are shared by the part's blocks while they are in cache (one
      // block over the whole sequence would touch a new page on every step).
      for (index_t t0 = 0; t0 < T; t0 += scan_time_chunk) {
        const index_t tc = std::min(scan_time_chunk, T - t0);
        const cpu_detail::ScanArgs args{tc,
                                        di,
                                        n,
                                        uc + t0 * di,
                                        delta + t0 * di,
                                        bc + t0 * bc_stride,
                                        bc_stride,
                                        z.slice(t0, tc),
                                        D,
                                        out + t0 * di,
                                        ungated ? ungated + t0 * di : nullptr};
        for (index_t b = b0; b < b1; ++b) {
          const index_t c0 = b * scan_block, lanes = std::min(scan_block, di - c0);
          float* hb = hs.data() + (b - b0) * n * scan_block;
          const float* ab = as.data() + (b - b0) * n * scan_block;
          if (lanes < scan_block)
            cpu_detail::portable::scan_block<0, scan_block>(args, c0, lanes, hb, ab);
#if SAMBA_CPU_HAS_AVX2_KERNELS
          else if (scan_block == cpu_detail::scan_block_avx512)
            cpu_detail::avx512::scan_block(args, c0, hb, ab);
          else if (isa >= cpu_detail::Isa::avx2 && z.stride(1) == 1)
            cpu_detail::avx2::scan_block(args, c0, hb, ab);
#endif
          else
            cpu_detail::portable::scan_block<scan_block, scan_block>(args, c0, lanes, hb, ab);
        }
      }
      each_lane([&](index_t to, index_t from) { h_all[from] = hs[to]; });
    }
  }
};

}  // namespace samba
