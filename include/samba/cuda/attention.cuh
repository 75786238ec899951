// Sliding-window and causal attention on the GPU (GQA, rotate-half RoPE), over the same ring-buffer
// KV cache as the CPU: the key of absolute position p lives in row p % capacity.
//
// The primitives of layers/attention.hpp's pipeline:
//   1. project_qkv: x · [W_q; W_k; W_v]ᵀ one projection (cuda/linear.cuh) into [T, q + 2·kv];
//   2. rope_kernel                       rotates q and k in place at each row's absolute position;
//   3. attention_kernel                  flash-style: a block takes 32 query rows — (token, head)
//                                        pairs of one KV head's group, so GQA heads share every
//                                        K/V tile — and walks 32-key tiles of K and V through
//                                        shared memory with an online softmax. Only the tiles
//                                        that hold keys some row of the block can see are loaded:
//                                        work ∝ T · (W + tile). Keys before the chunk come from
//                                        the cache, the chunk's own keys from step 1 (so a chunk
//                                        longer than the window never reads a row it overwrote).
//                                        Decode-sized calls split each row's keys over several
//                                        blocks (flash-decoding) and combine_kernel merges the
//                                        partial softmaxes;
//   4. cache_write_kernel                stores the chunk's last min(T, capacity) keys and values;
//   5. y = o · W_oᵀ.
// Softmax and accumulation are f32; RoPE angles are computed in double, as on the CPU.
#pragma once

#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/layers/attention.hpp"

namespace samba {
namespace cuda_detail {

struct AttnSeq {
  int row0 = 0, len = 0;
  long long pos0 = 0;      // absolute position of the chunk's first token
  long long capacity = 0;  // rows of the cache
  float* k = nullptr;      // [capacity, kv_dim]
  float* v = nullptr;
};

struct AttnArgs {
  const float* qkv = nullptr;  // row t: q (q_dim), k (kv_dim), v (kv_dim), RoPE applied
  long long ld_qkv = 0;
  float* out = nullptr;      // [T, q_dim]
  float* part_o = nullptr;   // split partials: [splits][T · n_heads][head_dim], unnormalised
  float* part_ml = nullptr;  // [splits][T · n_heads][2]: running max, sum of exponentials
  int n_heads = 0, n_kv_heads = 0, head_dim = 0, q_dim = 0, kv_dim = 0;
  int splits = 1, total_rows = 0;
  long long window = 0;  // keys a query sees, itself included
  float scale = 1.0f;    // 1 / sqrt(head_dim)
  // Every key from the cache, the chunk's own too (a cross-attention layer reading the cache of
  // the layer that already stored them); otherwise the chunk's keys come from qkv.
  bool keys_in_cache = false;
};

inline constexpr int attn_warps = 4, attn_rows_per_warp = 8;
inline constexpr int attn_threads = attn_warps * 32;
inline constexpr int attn_block_rows = attn_warps * attn_rows_per_warp;  // query rows per block
inline constexpr int attn_block_keys = 32;  // keys per tile (a lane each)

// --- RoPE ----------------------------------------------------------------------------------------

template <class = void>
__global__ void rope_kernel(LaunchBatch<AttnSeq> batch, AttnArgs a, float* __restrict__ qkv,
                            const double* __restrict__ inv_freq, int rotary_dims) {
  const AttnSeq seq = batch.seq[blockIdx.y];
  const int half = rotary_dims / 2, heads = a.n_heads + a.n_kv_heads;
  for (int t = blockIdx.x; t < seq.len; t += gridDim.x) {
    float* row = qkv + (seq.row0 + static_cast<long long>(t)) * a.ld_qkv;
    const double p = static_cast<double>(seq.pos0 + t);
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
      const int head = idx / half, i = idx % half;
      float* x =
          row + (head < a.n_heads ? head * a.head_dim : a.q_dim + (head - a.n_heads) * a.head_dim);
      double s, c;
      sincos(p * inv_freq[i], &s, &c);
      const float cs = static_cast<float>(c), sn = static_cast<float>(s);
      const float x0 = x[i], x1 = x[i + half];
      x[i] = x0 * cs - x1 * sn;
      x[i + half] = x1 * cs + x0 * sn;
    }
  }
}

// --- flash attention -----------------------------------------------------------------------------

// DPL: head dims per lane (head_dim ≤ 32 · DPL).
template <int DPL>
__global__ void __launch_bounds__(attn_threads)
    attention_kernel(LaunchBatch<AttnSeq> batch, AttnArgs a) {
  constexpr int dims = 32 * DPL, stride = dims + 1;  // padded rows: conflict-free column reads
  extern __shared__ float smem[];
  float* Qs = smem;                           // [block_rows][stride], pre-scaled
  float* Ks = Qs + attn_block_rows * stride;  // [block_keys][stride]
  float* Vs = Ks + attn_block_keys * stride;  // [block_keys][stride]

  const AttnSeq seq = batch.seq[blockIdx.z];
  const int group = a.n_heads / a.n_kv_heads;
  const int rows = seq.len * group;  // (token, head of the group) pairs
  const int tile0 = blockIdx.x * attn_block_rows;
  if (tile0 >= rows) return;
  const int g = blockIdx.y / a.splits, split = blockIdx.y % a.splits;
  const int D = a.head_dim, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;

  for (int i = tid; i < attn_block_rows * dims; i += attn_threads) {
    const int r = i / dims, d = i % dims, row = tile0 + r;
    float q = 0.0f;
    if (row < rows && d < D) {
      const int t = row / group, h = g * group + row % group;
      q = a.qkv[(seq.row0 + static_cast<long long>(t)) * a.ld_qkv + h * D + d] * a.scale;
    }
    Qs[r * stride + d] = q;
  }

  // Keys some row of the block sees, and this split's share of them (core/math.hpp).
  const KeySpan keys =
      split_keys(block_keys(seq.pos0, tile0, attn_block_rows, rows, group, a.window), a.splits,
                 split, attn_block_keys);
  const long long s_lo = keys.lo, s_hi = keys.hi;

  long long pos[attn_rows_per_warp];
  bool valid[attn_rows_per_warp];
  float m[attn_rows_per_warp], l[attn_rows_per_warp], o[attn_rows_per_warp][DPL];
#pragma unroll
  for (int i = 0; i < attn_rows_per_warp; ++i) {
    const int row = tile0 + warp * attn_rows_per_warp + i;
    valid[i] = row < rows;
    pos[i] = seq.pos0 + row / group;
    m[i] = -INFINITY;
    l[i] = 0.0f;
#pragma unroll
    for (int e = 0; e < DPL; ++e) o[i][e] = 0.0f;
  }

  const long long chunk_start = seq.pos0;
  for (long long k0 = s_lo; k0 <= s_hi; k0 += attn_block_keys) {
    __syncthreads();  // Q is staged / the previous tile is consumed
    for (int i = tid; i < attn_block_keys * dims; i += attn_threads) {
      const int kk = i / dims, d = i % dims;
      const long long j = k0 + kk;
      float kv = 0.0f, vv = 0.0f;
      if (j <= s_hi && d < D) {
        const float *kr, *vr;
        if (j < chunk_start || a.keys_in_cache) {  // cached: row j % capacity of the ring
          const long long slot = j % seq.capacity;
          kr = seq.k + slot * a.kv_dim;
          vr = seq.v + slot * a.kv_dim;
        } else {  // this chunk's own keys, straight from the projection
          const float* r = a.qkv + (seq.row0 + (j - chunk_start)) * a.ld_qkv;
          kr = r + a.q_dim;
          vr = r + a.q_dim + a.kv_dim;
        }
        kv = kr[g * D + d];
        vv = vr[g * D + d];
      }
      Ks[kk * stride + d] = kv;
      Vs[kk * stride + d] = vv;
    }
    __syncthreads();

    // Scores: lane = key of the tile.
    const long long j = k0 + lane;
    float s[attn_rows_per_warp] = {};
    const float* q = Qs + warp * attn_rows_per_warp * stride;
    const float* k = Ks + lane * stride;
    for (int d = 0; d < D; ++d) {
      const float kd = k[d];
#pragma unroll
      for (int i = 0; i < attn_rows_per_warp; ++i) s[i] = fmaf(q[i * stride + d], kd, s[i]);
    }
    float p[attn_rows_per_warp];
#pragma unroll
    for (int i = 0; i < attn_rows_per_warp; ++i) {
      const bool visible = valid[i] && j <= s_hi && key_visible(j, pos[i], a.window);
      const float si = visible ? s[i] : -INFINITY;
      SoftmaxStep step;
      if (!softmax_step(m[i], warp_max(si), step)) {  // nothing visible to this row yet
        p[i] = 0.0f;
        continue;
      }
      p[i] = visible ? expf(si - step.m_new) : 0.0f;
      l[i] = l[i] * step.correction + warp_sum(p[i]);
#pragma unroll
      for (int e = 0; e < DPL; ++e) o[i][e] *= step.correction;
      m[i] = step.m_new;
    }
    // o += p · V: lane = head dims lane, lane + 32, ...
    for (int kk = 0; kk < attn_block_keys; ++kk) {
      float v[DPL];
#pragma unroll
      for (int e = 0; e < DPL; ++e) v[e] = Vs[kk * stride + lane + 32 * e];
#pragma unroll
      for (int i = 0; i < attn_rows_per_warp; ++i) {
        const float pk = __shfl_sync(0xffffffffu, p[i], kk);
#pragma unroll
        for (int e = 0; e < DPL; ++e) o[i][e] = fmaf(pk, v[e], o[i][e]);
      }
    }
  }

#pragma unroll
  for (int i = 0; i < attn_rows_per_warp; ++i) {
    if (!valid[i]) continue;
    const int row = tile0 + warp * attn_rows_per_warp + i;
    const int t = row / group, h = g * group + row % group;
    const long long grow = seq.row0 + static_cast<long long>(t);
    if (a.splits == 1) {
      const float inv = 1.0f / l[i];
#pragma unroll
      for (int e = 0; e < DPL; ++e) {
        const int d = lane + 32 * e;
        if (d < D) a.out[grow * a.q_dim + h * D + d] = o[i][e] * inv;
      }
    } else {
      const long long idx = (static_cast<long long>(split) * a.total_rows + grow) * a.n_heads + h;
#pragma unroll
      for (int e = 0; e < DPL; ++e) {
        const int d = lane + 32 * e;
        if (d < D) a.part_o[idx * D + d] = o[i][e];
      }
      if (lane == 0) {
        a.part_ml[2 * idx] = m[i];
        a.part_ml[2 * idx + 1] = l[i];
      }
    }
  }
}

// Merges the splits' partial softmaxes: o = Σ_s e^{m_s − M} o_s / Σ_s e^{m_s − M} l_s.
template <class = void>
__global__ void combine_kernel(LaunchBatch<AttnSeq> batch, AttnArgs a) {
  const AttnSeq seq = batch.seq[blockIdx.y];
  const int D = a.head_dim;
  for (int r = blockIdx.x; r < seq.len * a.n_heads; r += gridDim.x) {
    const long long grow = seq.row0 + r / a.n_heads;
    const int h = r % a.n_heads;
    float M = -INFINITY;
    for (int s = 0; s < a.splits; ++s)
      M = fmaxf(M,
                a.part_ml[2 * ((static_cast<long long>(s) * a.total_rows + grow) * a.n_heads + h)]);
    float L = 0.0f;
    for (int s = 0; s < a.splits; ++s) {
      const long long idx = (static_cast<long long>(s) * a.total_rows + grow) * a.n_heads + h;
      const float ms = a.part_ml[2 * idx];
      if (ms != -INFINITY) L += a.part_ml[2 * idx + 1] * expf(ms - M);
    }
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float acc = 0.0f;
      for (int s = 0; s < a.splits; ++s) {
        const long long idx = (static_cast<long long>(s) * a.total_rows + grow) * a.n_heads + h;
        const float ms = a.part_ml[2 * idx];
        if (ms != -INFINITY) acc += a.part_o[idx * D + d] * expf(ms - M);
      }
      a.out[grow * a.q_dim + h * D + d] = acc / L;
    }
  }
}

// Stores the chunk's last min(len, capacity) keys and values at rows (pos0 + t) % capacity.
template <class = void>
__global__ void cache_write_kernel(LaunchBatch<AttnSeq> batch, AttnArgs a) {
  const AttnSeq seq = batch.seq[blockIdx.y];
  const long long first = max(0LL, seq.len - seq.capacity);
  const long long n = (seq.len - first) * a.kv_dim;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = first + i / a.kv_dim, c = i % a.kv_dim;
    const long long slot = (seq.pos0 + t) % seq.capacity;
    const float* r = a.qkv + (seq.row0 + t) * a.ld_qkv + a.q_dim;
    seq.k[slot * a.kv_dim + c] = r[c];
    seq.v[slot * a.kv_dim + c] = r[a.kv_dim + c];
  }
}

template <int DPL>
std::size_t attention_smem() {
  return sizeof(float) * (attn_block_rows + 2 * attn_block_keys) * (32 * DPL + 1);
}

// The kernel's shared memory may exceed the 48 KiB default: opt in. Set at every launch (a host
// call, no synchronisation): the setting belongs to the current device.
template <int DPL>
void prepare_attention() {
  check_cuda(
      cudaFuncSetAttribute(attention_kernel<DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(attention_smem<DPL>())),
      "cudaFuncSetAttribute (attention_kernel)");
}

template <int DPL>
void launch_attention(const LaunchBatch<AttnSeq>& batch, const AttnArgs& a, int group,
                      cudaStream_t stream) {
  prepare_attention<DPL>();
  const dim3 grid(blocks_for(static_cast<index_t>(batch.max_len) * group, attn_block_rows),
                  a.n_kv_heads * a.splits, batch.n);
  attention_kernel<DPL><<<grid, attn_threads, attention_smem<DPL>(), stream>>>(batch, a);
  check_launch("attention_kernel");
}

inline constexpr int attn_max_head_dim = 256;
inline constexpr int attn_split_max_len = 4;  // decode-sized calls split their keys
inline constexpr long long attn_keys_per_split = 512;
inline constexpr int attn_max_splits = 16;

// Attention of one launch (step 3): the tiles, then the merge of the splits if there are several.
// Also what bench/cuda times on its own.
inline void flash_attention(const LaunchBatch<AttnSeq>& batch, const AttnArgs& args,
                            cudaStream_t stream) {
  const int group = args.n_heads / args.n_kv_heads;
  if (args.head_dim <= 64)
    launch_attention<2>(batch, args, group, stream);
  else if (args.head_dim <= 128)
    launch_attention<4>(batch, args, group, stream);
  else
    launch_attention<8>(batch, args, group, stream);
  if (args.splits > 1) {
    combine_kernel<>
        <<<dim3(std::min(batch.max_len * args.n_heads, 65535), batch.n), 128, 0, stream>>>(batch,
                                                                                           args);
    check_launch("combine_kernel");
  }
}

// Grows a KV cache on the device (Attention's or DifferentialAttention's State) so that len more
// tokens fit: the capacity doubles, up to max_rows. Not allowed while a graph is captured (the
// graph would keep writing the old buffers): CudaGraphDecoder reserves every attention block
// before it captures a step.
template <class State>
void grow_kv_cache(State& s, index_t len, std::string_view layer) {
  const index_t needed = std::min(s.max_rows, s.position + len);
  if (s.capacity >= needed) return;
  CudaContext& ctx = CudaContext::current();
  if (ctx.capturing())
    throw capture_conflict(detail::concat(
        layer, ": the KV cache must grow, which cannot happen inside graph capture"));
  const auto cap = static_cast<index_t>(math::grown_capacity(s.capacity, needed, s.max_rows));
  DeviceBuffer<float> k(cap * s.kv_dim), v(cap * s.kv_dim);
  const std::size_t held = static_cast<std::size_t>(s.capacity * s.kv_dim) * sizeof(float);
  if (held > 0) {
    check_cuda(cudaMemcpyAsync(k.data(), s.k.data(), held, cudaMemcpyDeviceToDevice, ctx.stream()),
               "cudaMemcpyAsync (KV cache growth)");
    check_cuda(cudaMemcpyAsync(v.data(), s.v.data(), held, cudaMemcpyDeviceToDevice, ctx.stream()),
               "cudaMemcpyAsync (KV cache growth)");
  }
  s.k = std::move(k);
  s.v = std::move(v);
  s.capacity = cap;
}

}  // namespace cuda_detail

template <StorageType W, AttentionKind Kind>
struct AttentionKernel<cuda, W, Kind> {
  using Layer = Attention<cuda, W, Kind>;

  struct Resident {
    cuda_detail::DeviceMatrix<W> wqkv;                     // [q_dim + 2·kv_dim, d_model]
    cuda_detail::DeviceMatrix<W> wo;                       // [d_model, q_dim]
    cuda_detail::DeviceFloats bo;                          // [d_model] or null: no output bias
    std::shared_ptr<const DeviceBuffer<double>> inv_freq;  // RoPE: base^(−2i / rotary_dims)
    Resident() = default;
    explicit Resident(const Layer& layer) {
      const auto& w = layer.weights();
      wqkv = cuda_detail::upload<W>({&w.wq, &w.wk, &w.wv});
      wo = cuda_detail::upload(w.wo);
      bo = cuda_detail::upload_floats(w.bo);
      const AttentionConfig& c = layer.config();
      const index_t rd = c.resolved_rotary_dims();
      HostBuffer<double> f(std::max<index_t>(rd / 2, 1));
      for (index_t i = 0; i < rd / 2; ++i) f[i] = math::rope_inv_freq(c.rope_base, i, rd);
      inv_freq = std::make_shared<const DeviceBuffer<double>>(to_device(f));
    }
  };

  static void check(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    using namespace cuda_detail;
    check_device_views(Layer::name, x, y);
    const index_t hd = layer.config().resolved_head_dim();
    detail::check(hd <= attn_max_head_dim, Layer::name, " on CUDA: head_dim up to ",
                  attn_max_head_dim, " is compiled in, got ", hd);
  }

  // One GEMM with the fused [W_q; W_k; W_v] upload.
  static void project_qkv(const Layer& layer, ConstMatrixView<float> x, MatrixView<float> qkv) {
    cuda_detail::linear(x, layer.resident().wqkv, qkv, CudaContext::current());
  }

  // Not allowed while a graph is captured (the graph would keep writing the old buffers):
  // CudaGraphDecoder calls this for every attention block before it captures a step. State is
  // Layer::State (a template parameter: the layer is incomplete where this is read).
  template <class State>
  static void reserve(const Layer&, State& s, index_t len) {
    cuda_detail::grow_kv_cache(s, len, Layer::name);
  }

  template <class State>
  static void rope(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, MatrixView<float> qkv) {
    using namespace cuda_detail;
    const int rotary = static_cast<int>(layer.config().resolved_rotary_dims());
    if (rotary == 0) return;
    const AttnArgs args = make_args(layer, qkv, nullptr);
    const cudaStream_t stream = CudaContext::current().stream();
    for_each_launch<AttnSeq>(states, lengths, seq_of<State>, [&](const LaunchBatch<AttnSeq>& b) {
      rope_kernel<><<<dim3(std::min(b.max_len, 65535), b.n), 128, 0, stream>>>(
          b, args, qkv.data(), layer.resident().inv_freq->data(), rotary);
      check_launch("rope_kernel");
    });
  }

  // Decode-sized calls split each row's keys over several blocks (flash-decoding): enough blocks
  // to cover the device.
  template <class State>
  static void attend(const Layer& layer, std::span<State* const> states,
                     std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                     MatrixView<float> out) {
    using namespace cuda_detail;
    const AttentionConfig& c = layer.config();
    detail::check(out.stride(0) == c.q_dim() && out.stride(1) == 1, Layer::name,
                  " on CUDA: the attention output must be contiguous");
    const index_t T = qkv.rows(), nh = c.n_heads, hd = c.resolved_head_dim();
    AttnArgs args = make_args(layer, qkv, out.data());
    index_t longest = 0;
    for (std::size_t s = 0; s < states.size(); ++s)
      longest = std::max(longest, std::min(layer.window(), states[s]->position + lengths[s]));
    const index_t max_len = *std::max_element(lengths.begin(), lengths.end());
    const bool split = max_len <= attn_split_max_len && longest > attn_keys_per_split;
    DeviceBuffer<float> part_o, part_ml;
    if (split) {
      args.splits = static_cast<int>(std::min<index_t>(
          attn_max_splits, (longest + attn_keys_per_split - 1) / attn_keys_per_split));
      part_o = DeviceBuffer<float>(args.splits * T * nh * hd, DeviceBuffer<float>::uninitialized);
      part_ml = DeviceBuffer<float>(args.splits * T * nh * 2, DeviceBuffer<float>::uninitialized);
      args.part_o = part_o.data();
      args.part_ml = part_ml.data();
    }
    const cudaStream_t stream = CudaContext::current().stream();
    for_each_launch<AttnSeq>(states, lengths, seq_of<State>, [&](const LaunchBatch<AttnSeq>& b) {
      flash_attention(b, args, stream);
    });
  }

  template <class State>
  static void cache_append(const Layer& layer, std::span<State* const> states,
                           std::span<const index_t> lengths, ConstMatrixView<float> qkv) {
    using namespace cuda_detail;
    const AttnArgs args = make_args(layer, qkv, nullptr);
    const cudaStream_t stream = CudaContext::current().stream();
    for_each_launch<AttnSeq>(states, lengths, seq_of<State>, [&](const LaunchBatch<AttnSeq>& b) {
      cache_write_kernel<>
          <<<dim3(std::min<unsigned>(blocks_for(b.max_len * args.kv_dim, 256), 4096), b.n), 256, 0,
             stream>>>(b, args);
      check_launch("cache_write_kernel");
    });
  }

  // y = x · W_oᵀ (+ b_o) with the device copy (q, k and v are projected together by
  // project_qkv).
  static void linear(const Layer& layer, Tensor<W> AttentionWeights<W>::*weight,
                     ConstMatrixView<float> x, MatrixView<float> y) {
    detail::check(weight == &AttentionWeights<W>::wo, Layer::name,
                  " on CUDA: wq, wk and wv are applied together by project_qkv");
    cuda_detail::linear(x, layer.resident().wo, layer.resident().bo, y, CudaContext::current());
  }

 private:
  template <class State>
  static cuda_detail::AttnSeq seq_of(State& s, int row0, int len) {
    return {row0, len, s.position, s.capacity, s.k.data(), s.v.data()};
  }

  // The launch arguments every step shares; qkv's rows hold q, k, v (row stride as given).
  static cuda_detail::AttnArgs make_args(const Layer& layer, ConstMatrixView<float> qkv,
                                         float* out) {
    using cuda_detail::to_int;
    const AttentionConfig& c = layer.config();
    const index_t hd = c.resolved_head_dim();
    cuda_detail::AttnArgs args;
    args.qkv = qkv.data();
    args.ld_qkv = qkv.stride(0);
    args.out = out;
    args.n_heads = to_int(c.n_heads, "n_heads");
    args.n_kv_heads = to_int(c.resolved_n_kv_heads(), "n_kv_heads");
    args.head_dim = to_int(hd, "head_dim");
    args.q_dim = to_int(c.q_dim(), "q_dim");
    args.kv_dim = to_int(c.kv_dim(), "kv_dim");
    args.total_rows = to_int(qkv.rows(), "tokens");
    args.window = layer.window();
    args.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    return args;
  }
};

}  // namespace samba
