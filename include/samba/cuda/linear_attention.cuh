// GatedLinearAttention's and MultiScaleRetention's primitives on the GPU (the layers differ only in
// their decay and RoPE, as on the CPU): projections through cuda/linear.cuh, the short conv of
// Mamba-1's kernels (cuda/mamba.cuh) over the q | k | v channels, q scaled and k, v (and GLA's
// per-key decays) copied per head where kv heads are shared, cuda/linear_recurrence.cuh's
// recurrence, and its per-head norm and gate.
//
// Not run on a GPU yet (docs/cuda.md): compiled in CI, tested on a device by tests/cuda/.
#pragma once

#include <memory>

#include "samba/core/math.hpp"
#include "samba/cuda/linear_recurrence.cuh"
#include "samba/cuda/mamba.cuh"
#include "samba/layers/gla.hpp"
#include "samba/layers/retention.hpp"

namespace samba {
namespace cuda_detail {

// GLA's log decays in place: a = max(logsigmoid(a + bias) / normaliser, clamp_min), [T, cols].
template <class = void>
__global__ void gla_decay_kernel(float* __restrict__ a, long long ld,
                                 const float* __restrict__ bias, int cols, float normaliser,
                                 float clamp_min, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / cols;
    const int c = static_cast<int>(i % cols);
    float& x = a[t * ld + c];
    x = fmaxf(logsigmoid(x + bias[c]) / normaliser, clamp_min);
  }
}

// The per-head operands: q[t, h·K + c] = qkv q / √K; with rep > 1, k, v and (per_key) g copied
// for each head from its kv head h / rep.
template <class = void>
__global__ void per_head_operands_kernel(const float* __restrict__ qkv, long long ld, int H, int K,
                                         int V, int rep, float scale, const float* __restrict__ g,
                                         long long ld_g, bool per_key, float* __restrict__ q,
                                         float* __restrict__ k, float* __restrict__ v,
                                         float* __restrict__ gh, long long T) {
  const int kd = H * K, kvk = (H / rep) * K, width = kd + (rep > 1 ? kd + H * V : 0);
  const long long n = T * width;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = i / width;
    const int c = static_cast<int>(i % width);
    const float* row = qkv + t * ld;
    if (c < kd) {
      q[t * kd + c] = row[c] * scale;
    } else if (c < 2 * kd) {
      const int j = c - kd, h = j / K;
      k[t * kd + j] = row[kd + (h / rep) * K + j % K];
      if (per_key) gh[t * kd + j] = g[t * ld_g + (h / rep) * K + j % K];
    } else {
      const int j = c - 2 * kd, h = j / V;
      v[t * H * V + j] = row[kd + kvk + (h / rep) * V + j % V];
    }
  }
}

// Retention: g[t, h] = log γ_h for every row.
template <class = void>
__global__ void fill_decays_kernel(const float* __restrict__ log_gamma, int H,
                                   float* __restrict__ g, long long n) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    g[i] = log_gamma[i % H];
}

// Rotate-half RoPE over the K dims of each of `heads` heads in columns [col0, …) of each row, at
// the row's absolute position.
struct RopeSeq {
  int row0 = 0, len = 0;
  long long pos0 = 0;
};
template <class = void>
__global__ void linear_attention_rope_kernel(LaunchBatch<RopeSeq> batch, float* __restrict__ x,
                                             long long ld, int q_heads, int kv_heads, int K,
                                             const double* __restrict__ inv_freq) {
  const RopeSeq seq = batch.seq[blockIdx.y];
  const int half = K / 2, heads = q_heads + kv_heads;
  for (int t = blockIdx.x; t < seq.len; t += gridDim.x) {
    float* row = x + (seq.row0 + static_cast<long long>(t)) * ld;
    const double p = static_cast<double>(seq.pos0 + t);
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
      const int head = idx / half, i = idx % half;
      float* h = row + head * K;  // q heads, then the kv heads' keys right after them
      double s, c;
      sincos(p * inv_freq[i], &s, &c);
      const float cs = static_cast<float>(c), sn = static_cast<float>(s);
      const float x0 = h[i], x1 = h[i + half];
      h[i] = x0 * cs - x1 * sn;
      h[i + half] = x1 * cs + x0 * sn;
    }
  }
}

// The recurrence of a linear-attention layer over q | k | v (cpu/linear_attention.hpp's, on the
// GPU): g is [T, kv·K] (per_key) or [T, H].
template <class State>
void linear_attention_recurrence(std::span<State* const> states, std::span<const index_t> lengths,
                                 ConstMatrixView<float> qkv, ConstMatrixView<float> g, bool per_key,
                                 index_t H, index_t Hkv, index_t K, index_t V,
                                 MatrixView<float> o) {
  const index_t T = qkv.rows(), rep = H / Hkv, kd = H * K;
  const cudaStream_t stream = CudaContext::current().stream();
  auto q = detail::scratch<float, cuda>(T * kd);
  auto k = detail::scratch<float, cuda>(rep > 1 ? T * kd : 0);
  auto v = detail::scratch<float, cuda>(rep > 1 ? T * H * V : 0);
  auto gh = detail::scratch<float, cuda>(rep > 1 && per_key ? T * kd : 0);
  const long long width = kd + (rep > 1 ? kd + H * V : 0);
  per_head_operands_kernel<><<<elementwise_grid(T * width), 256, 0, stream>>>(
      qkv.data(), qkv.stride(0), to_int(H, "heads"), to_int(K, "key width"),
      to_int(V, "value width"), to_int(rep, "kv groups"), 1.0f / std::sqrt(static_cast<float>(K)),
      g.data(), g.stride(0), per_key, q.data(), k.data(), v.data(), gh.data(), T);
  check_launch("per_head_operands_kernel");
  RecurrenceArgs a;
  a.q = q.data();
  a.ld_q = kd;
  a.k = rep > 1 ? k.data() : qkv.data() + kd;
  a.ld_k = rep > 1 ? kd : qkv.stride(0);
  a.v = rep > 1 ? v.data() : qkv.data() + kd + Hkv * K;
  a.ld_v = rep > 1 ? H * V : qkv.stride(0);
  a.g = rep > 1 && per_key ? gh.data() : g.data();
  a.ld_g = rep > 1 && per_key ? kd : g.stride(0);
  a.o = o.data();
  a.ld_o = o.stride(0);
  a.heads = a.groups = to_int(H, "heads");
  a.key_dim = to_int(K, "key width");
  a.value_dim = to_int(V, "value width");
  a.per_key = per_key;
  gated_linear_recurrence<State>(
      states, lengths, a, [](State& s) { return s.ssm.data(); }, stream);
}

}  // namespace cuda_detail

template <>
inline constexpr bool has_gla_kernel<cuda> = true;
template <>
inline constexpr bool has_retention_kernel<cuda> = true;

template <StorageType W>
struct GLAKernel<cuda, W> {
  using Layer = GatedLinearAttention<cuda, W>;
  static constexpr std::string_view layer_name = "GatedLinearAttention";

  struct Resident {
    cuda_detail::DeviceMatrix<W> in_proj, gk_up, o_proj;
    cuda_detail::DeviceMatrix<float> gk_bias, conv_weight, conv_bias, norm_weight;
    Resident() = default;
    explicit Resident(const Layer& layer) {
      const auto& w = layer.weights();
      in_proj = cuda_detail::upload(w.in_proj);
      gk_up = cuda_detail::upload(w.gk_up);
      o_proj = cuda_detail::upload(w.o_proj);
      gk_bias = cuda_detail::upload(w.gk_bias);
      if (!w.conv_weight.empty()) {
        conv_weight = cuda_detail::upload(w.conv_weight);
        conv_bias = cuda_detail::upload(w.conv_bias);
      }
      norm_weight = cuda_detail::upload(w.norm_weight);
    }
  };

  static void check(const Layer&, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("GatedLinearAttention", x, y);
  }

  static void linear(const Layer& layer, ConstMatrixView<float> x, Tensor<W> GLAWeights<W>::*weight,
                     MatrixView<float> y) {
    const Resident& r = layer.resident();
    cuda_detail::linear(x,
                        weight == &GLAWeights<W>::in_proj ? r.in_proj
                        : weight == &GLAWeights<W>::gk_up ? r.gk_up
                                                          : r.o_proj,
                        y, CudaContext::current());
  }

  template <class State>
  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                        MatrixView<float> out) {
    const Resident& r = layer.resident();
    cuda_detail::conv_silu<State>(layer_name, states, lengths, qkv, r.conv_weight.data(),
                                  r.conv_bias.data(), layer.config().qkv_dim(),
                                  layer.config().conv_size, out);
  }

  template <class State>
  static void recurrence(const Layer& layer, std::span<State* const> states,
                         std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                         MatrixView<float> alpha, MatrixView<float> o) {
    using namespace cuda_detail;
    const GLAConfig& c = layer.config();
    const index_t kvk = c.kv_key_dim();
    const long long n = static_cast<long long>(alpha.rows()) * kvk;
    if (n > 0) {
      gla_decay_kernel<><<<elementwise_grid(n), 256, 0, CudaContext::current().stream()>>>(
          alpha.data(), alpha.stride(0), layer.resident().gk_bias.data(), to_int(kvk, "key dim"),
          c.gate_logit_normalizer, c.clamp_min, n);
      check_launch("gla_decay_kernel");
    }
    linear_attention_recurrence<State>(states, lengths, qkv, alpha, /*per_key=*/true, c.n_heads,
                                       c.resolved_n_kv_heads(), c.head_k_dim(), c.head_v_dim(), o);
  }

  static void norm_gate(const Layer& layer, ConstMatrixView<float> g, MatrixView<float> o) {
    const GLAConfig& c = layer.config();
    cuda_detail::head_norm_gate(o, g, layer.resident().norm_weight.data(), c.n_heads,
                                c.head_v_dim(), c.norm_eps, CudaContext::current().stream());
  }
};

template <StorageType W>
struct RetentionKernel<cuda, W> {
  using Layer = MultiScaleRetention<cuda, W>;
  static constexpr std::string_view layer_name = "MultiScaleRetention";

  struct Resident {
    cuda_detail::DeviceMatrix<W> in_proj, o_proj;
    cuda_detail::DeviceMatrix<float> conv_weight, conv_bias, norm_weight;
    std::shared_ptr<const DeviceBuffer<double>> inv_freq;  // RoPE over the K dims of a head
    std::shared_ptr<const DeviceBuffer<float>> log_gamma;  // log(1 − 2^(−5−h))
    Resident() = default;
    explicit Resident(const Layer& layer) {
      const auto& w = layer.weights();
      const RetentionConfig& c = layer.config();
      in_proj = cuda_detail::upload(w.in_proj);
      o_proj = cuda_detail::upload(w.o_proj);
      if (!w.conv_weight.empty()) {
        conv_weight = cuda_detail::upload(w.conv_weight);
        conv_bias = cuda_detail::upload(w.conv_bias);
      }
      norm_weight = cuda_detail::upload(w.norm_weight);
      const index_t K = c.head_k_dim();
      HostBuffer<double> f(K / 2);
      for (index_t i = 0; i < K / 2; ++i) f[i] = math::rope_inv_freq(c.rope_base, i, K);
      inv_freq = std::make_shared<const DeviceBuffer<double>>(to_device(f));
      HostBuffer<float> lg(c.n_heads);
      for (index_t h = 0; h < c.n_heads; ++h)
        lg[h] = static_cast<float>(RetentionConfig::log_decay(h));
      log_gamma = std::make_shared<const DeviceBuffer<float>>(to_device(lg));
    }
  };

  static void check(const Layer&, ConstMatrixView<float> x, MatrixView<float> y) {
    cuda_detail::check_device_views("MultiScaleRetention", x, y);
  }

  static void linear(const Layer& layer, ConstMatrixView<float> x,
                     Tensor<W> RetentionWeights<W>::*weight, MatrixView<float> y) {
    const Resident& r = layer.resident();
    cuda_detail::linear(x, weight == &RetentionWeights<W>::in_proj ? r.in_proj : r.o_proj, y,
                        CudaContext::current());
  }

  template <class State>
  static void conv_silu(const Layer& layer, std::span<State* const> states,
                        std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                        MatrixView<float> out) {
    const Resident& r = layer.resident();
    cuda_detail::conv_silu<State>(layer_name, states, lengths, qkv, r.conv_weight.data(),
                                  r.conv_bias.data(), layer.config().qkv_dim(),
                                  layer.config().conv_size, out);
  }

  template <class State>
  static void rope(const Layer& layer, std::span<State* const> states,
                   std::span<const index_t> lengths, MatrixView<float> qkv) {
    using namespace cuda_detail;
    const RetentionConfig& c = layer.config();
    const cudaStream_t stream = CudaContext::current().stream();
    for_each_launch<RopeSeq>(
        states, lengths,
        [](State& s, int row0, int len) {
          return RopeSeq{row0, len, static_cast<long long>(s.position)};
        },
        [&](const LaunchBatch<RopeSeq>& b) {
          linear_attention_rope_kernel<><<<dim3(std::min(b.max_len, 65535), b.n), 128, 0, stream>>>(
              b, qkv.data(), qkv.stride(0), to_int(c.n_heads, "heads"),
              to_int(c.resolved_n_kv_heads(), "kv heads"), to_int(c.head_k_dim(), "key width"),
              layer.resident().inv_freq->data());
          check_launch("linear_attention_rope_kernel");
        });
  }

  template <class State>
  static void recurrence(const Layer& layer, std::span<State* const> states,
                         std::span<const index_t> lengths, ConstMatrixView<float> qkv,
                         MatrixView<float> o) {
    using namespace cuda_detail;
    const RetentionConfig& c = layer.config();
    const index_t T = qkv.rows(), H = c.n_heads;
    auto g = detail::scratch<float, cuda>(T * H);
    const long long n = static_cast<long long>(T) * H;
    if (n > 0) {
      fill_decays_kernel<><<<elementwise_grid(n), 256, 0, CudaContext::current().stream()>>>(
          layer.resident().log_gamma->data(), to_int(H, "heads"), g.data(), n);
      check_launch("fill_decays_kernel");
    }
    linear_attention_recurrence<State>(states, lengths, qkv, g.template view<2>({T, H}),
                                       /*per_key=*/false, H, c.resolved_n_kv_heads(),
                                       c.head_k_dim(), c.head_v_dim(), o);
  }

  static void norm_gate(const Layer& layer, ConstMatrixView<float> g, MatrixView<float> o) {
    const RetentionConfig& c = layer.config();
    cuda_detail::head_norm_gate(o, g, layer.resident().norm_weight.data(), c.n_heads,
                                c.head_v_dim(), c.norm_eps, CudaContext::current().stream());
  }
};

}  // namespace samba
