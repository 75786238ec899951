// MambaLayer's primitives on the GPU (the steps are MambaLayer::forward_batch's). Projections
// through cuda/linear.cuh (cuBLAS for prefill, the weight-streaming GEMV for decode); the sequence
// mixer in three kernels per launch of up to 32 sequences:
//
//   conv_silu_kernel     u' = silu(conv_bias + Σ_k conv_w[:, k] ⊙ u_{t−(d_conv−1)+k}), reading the
//                        inputs before the chunk from the state (prefill and the one-token update
//                        are the same kernel);
//   conv_state_kernel    the state's last d_conv − 1 inputs, updated in place;
//   selective scan       Δ = softplus(dt + dt_bias), h_t = exp(Δ A) ⊙ h_{t−1} + Δ B_t u'_t,
//                        y_t = C_t · h_t + D u'_t, gated by silu(z_t):
//     scan_chunked_kernel     (long chunks) a block owns 8 channels of one sequence and walks the
//                             sequence in chunks of 256 steps; within a chunk the recurrence
//                             h_t = a_t h_{t−1} + b_t is an associative scan over (a, b) pairs,
//                             run with cub::BlockScan, whose block-prefix callback carries h from
//                             one chunk into the next. Tiles are staged in shared memory so global
//                             reads are coalesced in the [T, d_inner] layout.
//     scan_sequential_kernel  (short chunks, decode) a thread per channel steps through time with
//                             h in registers.
// Both start from the state's h and leave the final h in it (f32).
#pragma once

#include <cub/block/block_scan.cuh>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/layers/mamba.hpp"

namespace samba {
namespace cuda_detail {

struct MambaSeq {
  int row0 = 0, len = 0;
  float* conv = nullptr;  // [d_conv − 1, d_inner]
  float* ssm = nullptr;   // [d_inner, d_state]
};

// What the scan reads and writes, for every sequence of a launch (rows are global rows of the
// batch; each sequence adds its row0).
struct ScanArgs {
  const float* u = nullptr;   // [T, d_inner]: conv output u'
  const float* dt = nullptr;  // [T, d_inner]: dt_proj · δ, before bias and softplus
  const float* dt_bias = nullptr;
  const float* A = nullptr;  // [d_inner, d_state]: −exp(A_log)
  const float* B = nullptr;  // row t at B + t · ld_bc; C follows B by d_state
  long long ld_bc = 0;
  const float* D = nullptr;
  const float* z = nullptr;  // row t at z + t · ld_z
  long long ld_z = 0;
  float* y = nullptr;        // [T, d_inner]: (y + D u') ⊙ silu(z)
  float* ungated = nullptr;  // null, or [T, d_inner]: y + D u', before the gate (a GMU's memory)
  int d_inner = 0, d_state = 0;
};

inline constexpr int mamba_max_conv = 8, mamba_max_d_state = 64;
inline constexpr int conv_threads = 128, conv_steps = 32;

template <class = void>
__global__ void __launch_bounds__(conv_threads)
    conv_silu_kernel(LaunchBatch<MambaSeq> batch, const float* __restrict__ xz, long long ld_xz,
                     const float* __restrict__ w, const float* __restrict__ bias, int d_inner,
                     int d_conv, float* __restrict__ out, bool apply_silu) {
  const MambaSeq seq = batch.seq[blockIdx.z];
  const int c = blockIdx.x * conv_threads + threadIdx.x;
  if (c >= d_inner) return;
  float wc[mamba_max_conv];
#pragma unroll
  for (int k = 0; k < mamba_max_conv; ++k) wc[k] = k < d_conv ? w[c * d_conv + k] : 0.0f;
  for (int t0 = blockIdx.y * conv_steps; t0 < seq.len; t0 += gridDim.y * conv_steps) {
    const int t1 = min(seq.len, t0 + conv_steps);
    for (int t = t0; t < t1; ++t) {
      float acc = bias[c];
#pragma unroll
      for (int k = 0; k < mamba_max_conv; ++k) {
        if (k < d_conv) {
          const int src = conv_source(t, k, d_conv);  // < 0: an input from before this chunk
          const float v = src >= 0 ? xz[(seq.row0 + src) * ld_xz + c]
                                   : seq.conv[(d_conv - 1 + src) * d_inner + c];
          acc = fmaf(wc[k], v, acc);
        }
      }
      out[static_cast<long long>(seq.row0 + t) * d_inner + c] = apply_silu ? silu(acc) : acc;
    }
  }
}

// The state keeps the last d_conv − 1 inputs; row j is input len − (d_conv − 1) + j. In place:
// row j reads old row len + j ≥ j, so ascending j never reads a row it has overwritten.
template <class = void>
__global__ void __launch_bounds__(conv_threads)
    conv_state_kernel(LaunchBatch<MambaSeq> batch, const float* __restrict__ xz, long long ld_xz,
                      int d_inner, int d_conv) {
  const MambaSeq seq = batch.seq[blockIdx.y];
  const int c = blockIdx.x * conv_threads + threadIdx.x;
  if (c >= d_inner) return;
  for (int j = 0; j < d_conv - 1; ++j) {
    const int src = conv_state_source(j, seq.len, d_conv);
    seq.conv[j * d_inner + c] =
        src >= 0 ? xz[(seq.row0 + src) * ld_xz + c] : seq.conv[(seq.len + j) * d_inner + c];
  }
}

// The causal conv + SiLU over `channels` columns of `in` (row stride free, unit column stride)
// into out [T, channels], for every layer whose State keeps the conv's last inputs in `conv`
// ([d_conv − 1, channels]): Mamba-1's over u, Mamba-2's over xBC, GLA's and retention's short conv
// over q | k | v; without apply_silu, RG-LRU's conv, which has no activation. `layer` names the
// caller in errors.
template <class State>
void conv_silu(std::string_view layer, std::span<State* const> states,
               std::span<const index_t> lengths, ConstMatrixView<float> in, const float* weight,
               const float* bias, index_t channels, index_t d_conv, MatrixView<float> out,
               bool apply_silu = true) {
  detail::check(d_conv <= mamba_max_conv, layer, " on CUDA: a conv width up to ", mamba_max_conv,
                " is compiled in, got ", d_conv);
  detail::check(in.stride(1) == 1 && out.stride(0) == channels && out.stride(1) == 1, layer,
                " on CUDA: the conv's output must be [T, channels] rows");
  const cudaStream_t stream = CudaContext::current().stream();
  const int C = to_int(channels, "conv channels"), K = static_cast<int>(d_conv);
  for_each_launch<MambaSeq>(
      states, lengths,
      [](State& s, int row0, int len) {
        return MambaSeq{row0, len, s.conv.data(), nullptr};
      },
      [&](const LaunchBatch<MambaSeq>& batch) {
        const dim3 grid(blocks_for(channels, conv_threads),
                        std::min((batch.max_len + conv_steps - 1) / conv_steps, 65535), batch.n);
        conv_silu_kernel<><<<grid, conv_threads, 0, stream>>>(
            batch, in.data(), in.stride(0), weight, bias, C, K, out.data(), apply_silu);
        check_launch("conv_silu_kernel");
        if (K > 1) {
          conv_state_kernel<>
              <<<dim3(blocks_for(channels, conv_threads), batch.n), conv_threads, 0, stream>>>(
                  batch, in.data(), in.stride(0), C, K);
          check_launch("conv_state_kernel");
        }
      });
}

// --- selective scan: sequential (decode, short chunks) -----------------------------------------

inline constexpr int scan_sequential_threads = 128;
inline constexpr int scan_sequential_max_len = 32;  // longer chunks take the chunked scan

template <int NMAX>
__global__ void __launch_bounds__(scan_sequential_threads)
    scan_sequential_kernel(LaunchBatch<MambaSeq> batch, ScanArgs a) {
  const MambaSeq seq = batch.seq[blockIdx.y];
  const int c = blockIdx.x * scan_sequential_threads + threadIdx.x;
  if (c >= a.d_inner) return;
  const int n = a.d_state;
  float h[NMAX], A[NMAX];
#pragma unroll
  for (int i = 0; i < NMAX; ++i) {
    h[i] = i < n ? seq.ssm[c * n + i] : 0.0f;
    A[i] = i < n ? a.A[c * n + i] : 0.0f;
  }
  const float bias = a.dt_bias[c], D = a.D[c];
  for (int t = 0; t < seq.len; ++t) {
    const long long row = seq.row0 + t;
    const float u = a.u[row * a.d_inner + c];
    const float dt = softplus(a.dt[row * a.d_inner + c] + bias);
    const float* B = a.B + row * a.ld_bc;
    const float* C = B + n;
    float y = 0.0f;
#pragma unroll
    for (int i = 0; i < NMAX; ++i) {
      if (i < n) {
        h[i] = fmaf(expf(dt * A[i]), h[i], dt * B[i] * u);
        y = fmaf(C[i], h[i], y);
      }
    }
    y = fmaf(D, u, y);
    if (a.ungated) a.ungated[row * a.d_inner + c] = y;
    a.y[row * a.d_inner + c] = y * silu(a.z[row * a.ld_z + c]);
  }
#pragma unroll
  for (int i = 0; i < NMAX; ++i)
    if (i < n) seq.ssm[c * n + i] = h[i];
}

// --- selective scan: chunked, CUB block scan (prefill) -----------------------------------------

inline constexpr int scan_threads = 128, scan_items = 2, scan_chunk = scan_threads * scan_items;
inline constexpr int scan_channels = 8;
inline constexpr int scan_tile_stride = scan_channels + 1;  // padding: fewer bank conflicts

// The recurrence's pairs and their composition: core/math.hpp.
struct ScanPairOp {
  __device__ ScanPair operator()(const ScanPair& l, const ScanPair& r) const {
    return compose(l, r);
  }
};
// Block-prefix callback: called by the first warp with the chunk's aggregate; returns the state
// before the chunk, (1, h), and advances h past the chunk.
struct ScanCarry {
  float* h;
  __device__ ScanPair operator()(const ScanPair& aggregate) {
    const ScanPair before{1.0f, *h};
    __syncwarp();
    if (threadIdx.x % 32 == 0) *h = fmaf(aggregate.a, before.b, aggregate.b);
    return before;
  }
};

inline std::size_t scan_chunked_smem(int d_state) {
  return sizeof(float) * (3 * scan_chunk * scan_tile_stride + 2 * scan_chunk * (d_state + 1) +
                          scan_channels * d_state);
}

template <class = void>
__global__ void __launch_bounds__(scan_threads)
    scan_chunked_kernel(LaunchBatch<MambaSeq> batch, ScanArgs a) {
  using BlockScan = cub::BlockScan<ScanPair, scan_threads, cub::BLOCK_SCAN_WARP_SCANS>;
  __shared__ typename BlockScan::TempStorage scan_temp;
  extern __shared__ float smem[];
  const int n = a.d_state, bc_stride = n + 1;
  float* u_tile = smem;                                      // [chunk][channels (+1)]
  float* dt_tile = u_tile + scan_chunk * scan_tile_stride;   // Δ after softplus
  float* zy_tile = dt_tile + scan_chunk * scan_tile_stride;  // z in, gated y out
  float* B_tile = zy_tile + scan_chunk * scan_tile_stride;   // [chunk][d_state (+1)]
  float* C_tile = B_tile + scan_chunk * bc_stride;
  float* h = C_tile + scan_chunk * bc_stride;  // [channels][d_state]

  const MambaSeq seq = batch.seq[blockIdx.y];
  const int c0 = blockIdx.x * scan_channels;
  const int tid = threadIdx.x;

  for (int i = tid; i < scan_channels * n; i += scan_threads) {
    const int c = c0 + i / n;
    h[i] = c < a.d_inner ? seq.ssm[c * n + i % n] : 0.0f;
  }

  for (int chunk0 = 0; chunk0 < seq.len; chunk0 += scan_chunk) {
    __syncthreads();  // the previous chunk's tiles are consumed
    for (int i = tid; i < scan_chunk * scan_channels; i += scan_threads) {
      const int tt = i / scan_channels, ch = i % scan_channels, c = c0 + ch;
      const int t = chunk0 + tt;
      const bool valid = t < seq.len && c < a.d_inner;
      const long long row = seq.row0 + t;
      // Padding steps are the identity of the recurrence: Δ = 0 gives a = 1, b = 0.
      u_tile[tt * scan_tile_stride + ch] = valid ? a.u[row * a.d_inner + c] : 0.0f;
      dt_tile[tt * scan_tile_stride + ch] =
          valid ? softplus(a.dt[row * a.d_inner + c] + a.dt_bias[c]) : 0.0f;
      zy_tile[tt * scan_tile_stride + ch] = valid ? a.z[row * a.ld_z + c] : 0.0f;
    }
    for (int i = tid; i < scan_chunk * n; i += scan_threads) {
      const int tt = i / n, k = i % n, t = chunk0 + tt;
      const float* B = a.B + (seq.row0 + static_cast<long long>(t)) * a.ld_bc;
      B_tile[tt * bc_stride + k] = t < seq.len ? B[k] : 0.0f;
      C_tile[tt * bc_stride + k] = t < seq.len ? B[n + k] : 0.0f;
    }
    __syncthreads();

    for (int ch = 0; ch < scan_channels && c0 + ch < a.d_inner; ++ch) {
      const int c = c0 + ch;
      float y[scan_items] = {};
      for (int k = 0; k < n; ++k) {
        const float A = a.A[c * n + k];
        ScanPair p[scan_items];
#pragma unroll
        for (int i = 0; i < scan_items; ++i) {
          const int tt = tid * scan_items + i;
          const float dt = dt_tile[tt * scan_tile_stride + ch];
          p[i] = {expf(dt * A),
                  dt * B_tile[tt * bc_stride + k] * u_tile[tt * scan_tile_stride + ch]};
        }
        ScanCarry carry{&h[ch * n + k]};
        BlockScan(scan_temp).InclusiveScan(p, p, ScanPairOp{}, carry);
        __syncthreads();  // scan_temp is reused; the carried h is visible to the next chunk
#pragma unroll
        for (int i = 0; i < scan_items; ++i)
          y[i] = fmaf(C_tile[(tid * scan_items + i) * bc_stride + k], p[i].b, y[i]);
      }
#pragma unroll
      for (int i = 0; i < scan_items; ++i) {
        const int tt = tid * scan_items + i;
        const float u = u_tile[tt * scan_tile_stride + ch];
        float& zy = zy_tile[tt * scan_tile_stride + ch];
        const float yu = fmaf(a.D[c], u, y[i]);
        if (a.ungated && chunk0 + tt < seq.len)
          a.ungated[(seq.row0 + static_cast<long long>(chunk0 + tt)) * a.d_inner + c] = yu;
        zy = yu * silu(zy);
      }
    }
    __syncthreads();
    for (int i = tid; i < scan_chunk * scan_channels; i += scan_threads) {
      const int tt = i / scan_channels, ch = i % scan_channels, c = c0 + ch;
      const int t = chunk0 + tt;
      if (t < seq.len && c < a.d_inner)
        a.y[(seq.row0 + static_cast<long long>(t)) * a.d_inner + c] =
            zy_tile[tt * scan_tile_stride + ch];
    }
  }
  __syncthreads();
  for (int i = tid; i < scan_channels * n; i += scan_threads) {
    const int c = c0 + i / n;
    if (c < a.d_inner) seq.ssm[c * n + i % n] = h[i];
  }
}

// The chunked scan's shared memory exceeds the 48 KiB default: check this device has enough and
// opt in. Set at every launch (a host call, no synchronisation): the setting belongs to the
// current device, which may change between calls.
inline void prepare_scan_chunked(int d_state) {
  using TempStorage =
      cub::BlockScan<ScanPair, scan_threads, cub::BLOCK_SCAN_WARP_SCANS>::TempStorage;
  const std::size_t bytes = scan_chunked_smem(d_state);
  int device = 0, limit = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  check_cuda(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
             "cudaDeviceGetAttribute");
  detail::check(bytes + sizeof(TempStorage) <= static_cast<std::size_t>(limit),
                "MambaLayer on CUDA: d_state ", d_state, " needs ", bytes + sizeof(TempStorage),
                " bytes of shared memory per block for the chunked scan; this device has ", limit);
  check_cuda(
      cudaFuncSetAttribute(scan_chunked_kernel<>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(bytes)),
      "cudaFuncSetAttribute (scan_chunked_kernel)");
}

// The selective scan of one launch: the sequential kernel for decode-sized chunks, the chunked
// CUB scan for longer ones. Also what bench/cuda times on its own.
inline void selective_scan(const LaunchBatch<MambaSeq>& batch, const ScanArgs& args,
                           cudaStream_t stream) {
  detail::check(args.d_state <= mamba_max_d_state, "MambaLayer on CUDA: d_state up to ",
                mamba_max_d_state, " is compiled in, got ", args.d_state);
  if (batch.max_len <= scan_sequential_max_len) {
    const dim3 grid(blocks_for(args.d_inner, scan_sequential_threads), batch.n);
    if (args.d_state <= 16)
      scan_sequential_kernel<16><<<grid, scan_sequential_threads, 0, stream>>>(batch, args);
    else
      scan_sequential_kernel<mamba_max_d_state>
          <<<grid, scan_sequential_threads, 0, stream>>>(batch, args);
    check_launch("scan_sequential_kernel");
  } else {
    prepare_scan_chunked(args.d_state);
    const dim3 grid(blocks_for(args.d_inner, scan_channels), batch.n);
    scan_chunked_kernel<>
        <<<grid, scan_threads, scan_chunked_smem(args.d_state), stream>>>(batch, args);
    check_launch("scan_chunked_kernel");
  }
}

}  // namespace cuda_detail

template <StorageType W>
struct MambaKernel<cuda, W> {
  using Layer = MambaLayer<cuda, W>;

  struct Resident {
    cuda_detail::DeviceMatrix<W> in_proj, x_proj, dt_proj, out_proj;
    cuda_detail::DeviceMatrix<float> conv_weight, conv_bias, dt_bias, A, D;
    Resident() = default;
    explicit Resident(const Layer& layer) {
      const auto& w = layer.weights();
      in_proj = cuda_detail::upload(w.in_proj);
      x_proj = cuda_detail::upload(w.x_proj);
      dt_proj = cuda_detail::upload(w.dt_proj);
      out_proj = cuda_detail::upload(w.out_proj);
      conv_weight = cuda_detail::upload(w.conv_weight);
      conv_bias = cuda_detail::upload(w.conv_bias);
      dt_bias = cuda_detail::upload(w.dt_bias);
      A = cuda_detail::upload(layer.A());
      D = cuda_detail::upload(w.D);
    }
  };

  // Device memory, and the sizes the kernels compile in.
  static void check(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    using namespace cuda_detail;
    check_device_views("MambaLayer", x, y);
    const MambaConfig& c = layer.config();
    detail::check(c.d_conv <= mamba_max_conv, "MambaLayer on CUDA: d_conv up to ", mamba_max_conv,
                  " is compiled in, got ", c.d_conv);
    detail::check(c.d_state <= mamba_max_d_state, "MambaLayer on CUDA: d_state up to ",
                  mamba_max_d_state, " is compiled in, got ", c.d_state);
  }

  // y = x · weightᵀ with the device copy of that weight.
  static void linear(const Layer& layer, Tensor<W> MambaWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    const Resident& r = layer.resident();
    const cuda_detail::DeviceMatrix<W>& m = weight == &MambaWeights<W>::in_proj   ? r.in_proj
                                            : weight == &MambaWeights<W>::x_proj  ? r.x_proj
                                            : weight == &MambaWeights<W>::dt_proj ? r.dt_proj
                                                                                  : r.out_proj;
    cuda_detail::linear(x, m, y, CudaContext::current());
  }

  // Causal conv + SiLU, then the conv states. State is Layer::State (a template parameter: the
  // layer is incomplete where this is read).
  template <class State>
  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> u,
                        MatrixView<float> out) {
    const Resident& w = layer.resident();
    cuda_detail::conv_silu<State>("MambaLayer", states, lengths, u, w.conv_weight.data(),
                                  w.conv_bias.data(), layer.config().d_inner(),
                                  layer.config().d_conv, out);
  }

  // The scan forms Δ = softplus(dt + dt_bias) itself; dt is read, not overwritten.
  template <class State>
  static void selective_scan(const Layer& layer, std::span<State* const> states,
                             std::span<const index_t> lengths, const MambaScanInputs& in,
                             MatrixView<float> y) {
    using namespace cuda_detail;
    const index_t di = layer.config().d_inner();
    detail::check(in.u.stride(0) == di && in.dt.stride(0) == di && y.stride(0) == di &&
                      in.u.stride(1) == 1 && in.dt.stride(1) == 1 && y.stride(1) == 1 &&
                      in.bc.stride(1) == 1 && in.z.stride(1) == 1,
                  "MambaKernel<cuda>::selective_scan: u', dt and y must be [T, d_inner] rows");
    detail::check(
        in.ungated.data() == nullptr || (in.ungated.stride(0) == di && in.ungated.stride(1) == 1),
        "MambaKernel<cuda>::selective_scan: the ungated output must be [T, d_inner] rows");
    const Resident& w = layer.resident();
    ScanArgs args;
    args.u = in.u.data();
    args.dt = in.dt.data();
    args.dt_bias = w.dt_bias.data();
    args.A = w.A.data();
    args.B = in.bc.data();
    args.ld_bc = in.bc.stride(0);
    args.D = w.D.data();
    args.z = in.z.data();
    args.ld_z = in.z.stride(0);
    args.y = y.data();
    args.ungated = in.ungated.data();
    args.d_inner = to_int(di, "d_inner");
    args.d_state = static_cast<int>(layer.config().d_state);
    const cudaStream_t stream = CudaContext::current().stream();
    for_each_launch<MambaSeq>(states, lengths, make_seq<State>,
                              [&](const LaunchBatch<MambaSeq>& batch) {
                                cuda_detail::selective_scan(batch, args, stream);
                              });
  }

 private:
  template <class State>
  static cuda_detail::MambaSeq make_seq(State& s, int row0, int len) {
    return cuda_detail::MambaSeq{row0, len, s.conv.data(), s.ssm.data()};
  }
};

}  // namespace samba
