// Differential attention's primitives on the GPU: the projections through cuda/linear.cuh, the
// paired heads (layers/differential_attention.hpp) through the flash kernel of cuda/attention.cuh,
// over the same KV cache layout; pairing the queries and the per-pair combination + sub-layer norm
// are small kernels of their own.
#pragma once

#include <cmath>
#include <limits>
#include <span>

#include "samba/cuda/attention.cuh"
#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"
#include "samba/cuda/linear.cuh"
#include "samba/layers/differential_attention.hpp"

namespace samba {
namespace cuda_detail {

// paired row t = [queries as 2·hd-wide heads (2·q_dim) | qkv's keys and values (kv_width)].
template <class = void>
__global__ void pair_queries_kernel(const float* __restrict__ qkv, long long ld_qkv,
                                    float* __restrict__ paired, long long ld_paired, int n_heads,
                                    int head_dim, int kv_width, int T) {
  const int q_dim = n_heads * head_dim, width = 2 * q_dim + kv_width;
  for (int t = blockIdx.x; t < T; t += gridDim.x) {
    const float* in = qkv + static_cast<long long>(t) * ld_qkv;
    float* out = paired + static_cast<long long>(t) * ld_paired;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
      float v = 0.0f;
      if (i < 2 * q_dim) {
        const int h = i / (2 * head_dim), e = i % (2 * head_dim);
        // Head h's own half: the first for even heads, the second for odd ones.
        const int lo = (h % 2) * head_dim;
        if (e >= lo && e < lo + head_dim) v = in[h * head_dim + (e - lo)];
      } else {
        v = in[q_dim + (i - 2 * q_dim)];
      }
      out[i] = v;
    }
  }
}

// o[t, pair j] = RMSNorm(out[t, head 2j] − λ · out[t, head 2j+1]) ⊙ subln · scale: a warp per
// (token, pair).
template <class = void>
__global__ void diff_combine_kernel(const float* __restrict__ out, float* __restrict__ o,
                                    long long ld_o, const float* __restrict__ subln, int pairs,
                                    int width, float lambda, float scale, float eps, int T) {
  const int warps = blockDim.x / 32, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const long long total = static_cast<long long>(T) * pairs;
  for (long long item = static_cast<long long>(blockIdx.x) * warps + warp; item < total;
       item += static_cast<long long>(gridDim.x) * warps) {
    const long long t = item / pairs;
    const int j = static_cast<int>(item % pairs);
    const float* a1 = out + (t * pairs + j) * 2 * width;
    const float* a2 = a1 + width;
    float ss = 0.0f;
    for (int i = lane; i < width; i += 32) {
      const float d = a1[i] - lambda * a2[i];
      ss = fmaf(d, d, ss);
    }
    ss = warp_sum(ss);
    const float r = scale * rsqrtf(ss / static_cast<float>(width) + eps);
    float* dst = o + t * ld_o + static_cast<long long>(j) * width;
    for (int i = lane; i < width; i += 32) dst[i] = (a1[i] - lambda * a2[i]) * r * subln[i];
  }
}

}  // namespace cuda_detail

template <StorageType W>
struct DiffAttentionKernel<cuda, W> {
  using Base = detail::DiffAttentionBase<cuda, W>;
  using Cache = DiffAttentionCache<cuda>;

  struct Resident {
    cuda_detail::DeviceMatrix<W> wqkv;  // [q_dim (+ 2·kv_dim), d_model]
    cuda_detail::DeviceFloats bqkv;     // or null
    cuda_detail::DeviceMatrix<W> wo;
    cuda_detail::DeviceFloats bo;     // or null
    cuda_detail::DeviceFloats subln;  // [2·head_dim]
    Resident() = default;
    explicit Resident(const Base& layer)
        : wqkv(cuda_detail::upload(layer.weights().wqkv)),
          bqkv(cuda_detail::upload_floats(layer.weights().bqkv)),
          wo(cuda_detail::upload(layer.weights().wo)),
          bo(cuda_detail::upload_floats(layer.weights().bo)),
          subln(cuda_detail::upload_floats(layer.weights().subln)) {}
  };

  static void check(const Base& layer, ConstMatrixView<float> x, MatrixView<float> y) {
    using namespace cuda_detail;
    check_device_views("DifferentialAttention", x, y);
    const index_t pd = 2 * layer.config().resolved_head_dim();
    detail::check(pd <= attn_max_head_dim, "DifferentialAttention on CUDA: paired heads of up to ",
                  attn_max_head_dim, " (head_dim ", attn_max_head_dim / 2,
                  ") are compiled in, got head_dim ", pd / 2);
  }

  static void project(const Base& layer, ConstMatrixView<float> x, MatrixView<float> qkv) {
    cuda_detail::linear(x, layer.resident().wqkv, layer.resident().bqkv, qkv,
                        CudaContext::current());
  }

  static void pair_queries(const Base& layer, ConstMatrixView<float> qkv,
                           MatrixView<float> paired) {
    using namespace cuda_detail;
    const auto& c = layer.config();
    const index_t T = qkv.rows();
    if (T == 0) return;
    const int kv_width = to_int(qkv.cols() - c.q_dim(), "kv width");
    pair_queries_kernel<><<<std::min<index_t>(T, 65535), 256, 0, CudaContext::current().stream()>>>(
        qkv.data(), qkv.stride(0), paired.data(), paired.stride(0), to_int(c.n_heads, "n_heads"),
        to_int(c.resolved_head_dim(), "head_dim"), kv_width, to_int(T, "tokens"));
    check_launch("pair_queries_kernel");
  }

  static void reserve(const Base&, Cache& s, index_t len) {
    cuda_detail::grow_kv_cache(s, len, "DifferentialAttention");
  }

  // paired: queries, then (self kinds) keys and values; without keys (the cross kind) the chunk's
  // keys are read from the cache.
  template <class Layer>
  static void attend(const Layer& layer, std::span<const Cache* const> caches,
                     std::span<const index_t> lengths, ConstMatrixView<float> paired,
                     MatrixView<float> out) {
    using namespace cuda_detail;
    const AttentionConfig pc = layer.config().paired();
    const index_t T = paired.rows(), nh = pc.n_heads, pd = pc.resolved_head_dim();
    detail::check(out.stride(0) == pc.q_dim() && out.stride(1) == 1,
                  "DifferentialAttention on CUDA: the attention output must be contiguous");
    index_t window = std::numeric_limits<index_t>::max();
    if constexpr (requires { layer.window(); }) window = layer.window();
    const bool cross = paired.cols() == pc.q_dim();
    AttnArgs args = make_args(layer, paired, out.data());
    args.window = window;
    args.keys_in_cache = cross;
    // The chunk's first position: the cache's position before the chunk (self), or the position
    // the shared layer has already reached minus the chunk (cross).
    auto seq_of = [cross](const Cache& s, int row0, int len) {
      return AttnSeq{row0,
                     len,
                     cross ? s.position - len : s.position,
                     s.capacity,
                     const_cast<float*>(s.k.data()),
                     const_cast<float*>(s.v.data())};
    };
    index_t longest = 0;
    for (std::size_t s = 0; s < caches.size(); ++s)
      longest = std::max(longest, std::min(window, caches[s]->position + (cross ? 0 : lengths[s])));
    const index_t max_len = *std::max_element(lengths.begin(), lengths.end());
    const bool split = max_len <= attn_split_max_len && longest > attn_keys_per_split;
    DeviceBuffer<float> part_o, part_ml;
    if (split) {
      args.splits = static_cast<int>(std::min<index_t>(
          attn_max_splits, (longest + attn_keys_per_split - 1) / attn_keys_per_split));
      part_o = DeviceBuffer<float>(args.splits * T * nh * pd, DeviceBuffer<float>::uninitialized);
      part_ml = DeviceBuffer<float>(args.splits * T * nh * 2, DeviceBuffer<float>::uninitialized);
      args.part_o = part_o.data();
      args.part_ml = part_ml.data();
    }
    const cudaStream_t stream = CudaContext::current().stream();
    for_each_launch<AttnSeq>(caches, lengths, seq_of, [&](const LaunchBatch<AttnSeq>& b) {
      flash_attention(b, args, stream);
    });
  }

  static void cache_append(const Base& layer, std::span<Cache* const> states,
                           std::span<const index_t> lengths, ConstMatrixView<float> paired) {
    using namespace cuda_detail;
    const AttnArgs args = make_args(layer, paired, nullptr);
    const cudaStream_t stream = CudaContext::current().stream();
    auto seq_of = [](Cache& s, int row0, int len) {
      return AttnSeq{row0, len, s.position, s.capacity, s.k.data(), s.v.data()};
    };
    for_each_launch<AttnSeq>(states, lengths, seq_of, [&](const LaunchBatch<AttnSeq>& b) {
      cache_write_kernel<>
          <<<dim3(std::min<unsigned>(blocks_for(b.max_len * args.kv_dim, 256), 4096), b.n), 256, 0,
             stream>>>(b, args);
      check_launch("cache_write_kernel");
    });
  }

  static void combine(const Base& layer, ConstMatrixView<float> out, MatrixView<float> o) {
    using namespace cuda_detail;
    const auto& c = layer.config();
    const index_t T = out.rows(), pairs = c.n_heads / 2;
    if (T == 0) return;
    detail::check(out.stride(0) == 2 * c.q_dim() && o.stride(1) == 1,
                  "DifferentialAttention on CUDA: the combination reads contiguous rows");
    const long long items = static_cast<long long>(T) * pairs;
    const unsigned blocks = static_cast<unsigned>(std::min<long long>((items + 7) / 8, 65535));
    diff_combine_kernel<><<<blocks, 256, 0, CudaContext::current().stream()>>>(
        out.data(), o.data(), o.stride(0), layer.resident().subln->data(), to_int(pairs, "pairs"),
        to_int(2 * c.resolved_head_dim(), "pair width"), layer.lambda(), layer.output_scale(),
        c.norm_eps, to_int(T, "tokens"));
    check_launch("diff_combine_kernel");
  }

  static void output(const Base& layer, ConstMatrixView<float> o, MatrixView<float> y) {
    cuda_detail::linear(o, layer.resident().wo, layer.resident().bo, y, CudaContext::current());
  }

 private:
  // The paired geometry (n_heads heads of 2·head_dim over n_kv_heads / 2 KV heads; the score
  // scale of the unpaired head_dim) over rows of paired.
  static cuda_detail::AttnArgs make_args(const Base& layer, ConstMatrixView<float> paired,
                                         float* out) {
    using cuda_detail::to_int;
    const AttentionConfig pc = layer.config().paired();
    cuda_detail::AttnArgs args;
    args.qkv = paired.data();
    args.ld_qkv = paired.stride(0);
    args.out = out;
    args.n_heads = to_int(pc.n_heads, "n_heads");
    args.n_kv_heads = to_int(pc.resolved_n_kv_heads(), "n_kv_heads");
    args.head_dim = to_int(pc.resolved_head_dim(), "head_dim");
    args.q_dim = to_int(pc.q_dim(), "q_dim");
    args.kv_dim = to_int(pc.kv_dim(), "kv_dim");
    args.total_rows = to_int(paired.rows(), "tokens");
    args.window = std::numeric_limits<index_t>::max();
    args.scale = 1.0f / std::sqrt(static_cast<float>(layer.config().resolved_head_dim()));
    return args;
  }
};

}  // namespace samba
