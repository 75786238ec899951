// The gated linear recurrence (reference/linear_recurrence.hpp) on the GPU, the primitive of
// Mamba-2, GLA and Multi-Scale Retention there, and the small kernels those layers share:
//
//   recurrence_kernel   S_t = diag(exp(g_t)) · S_{t−1} + k_t · v_tᵀ, o_t = S_tᵀ · q_t, per head,
//                       from each sequence's S (left advanced). A block owns one head of one
//                       sequence and 128 of its value columns; a thread owns one column of S
//                       (in the state, in global memory, coalesced across the block) and steps
//                       through time; q, k and the decays of a step are staged in shared memory.
//                       This is the recurrent form, the same for prefill and decode: the chunked,
//                       GEMM-shaped prefill of the CPU (cpu/linear_recurrence.hpp) is not written
//                       for CUDA yet.
//   head_norm_gate_kernel   RMSNorm over each head's V channels ⊙ weight, then ⊙ swish(gate)
//                       (GLA, retention).
//
// Not run on a GPU yet (docs/cuda.md): compiled in CI, tested on a device by tests/cuda/.
#pragma once

#include <span>

#include "samba/cuda/backend.cuh"
#include "samba/cuda/common.cuh"

namespace samba {
namespace cuda_detail {

struct RecurrenceSeq {
  int row0 = 0, len = 0;
  float* S = nullptr;  // [H, K, V]
};

// Rows are global rows of the batch (each sequence adds its row0); head h reads q and k of group
// h / (H / G) (columns g·K …), v, g and o of its own (v, o: columns h·V …; g: column h, or h·K …
// per key channel).
struct RecurrenceArgs {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* g = nullptr;  // log decays
  float* o = nullptr;
  long long ld_q = 0, ld_k = 0, ld_v = 0, ld_g = 0, ld_o = 0;
  int heads = 0, groups = 0, key_dim = 0, value_dim = 0;
  bool per_key = false;
};

inline constexpr int recurrence_threads = 128;

template <class = void>
__global__ void __launch_bounds__(recurrence_threads)
    recurrence_kernel(LaunchBatch<RecurrenceSeq> batch, RecurrenceArgs a) {
  extern __shared__ float staged[];  // q, k, exp(g): K each
  const RecurrenceSeq seq = batch.seq[blockIdx.z];
  const int h = blockIdx.y, K = a.key_dim, V = a.value_dim;
  const int e = blockIdx.x * recurrence_threads + threadIdx.x;
  const int group = h / (a.heads / a.groups);
  float* qs = staged;
  float* ks = staged + K;
  float* ds = staged + 2 * K;
  float* S = seq.S + static_cast<long long>(h) * K * V;
  for (int t = 0; t < seq.len; ++t) {
    const long long row = seq.row0 + t;
    __syncthreads();  // the previous step has read the staged values
    for (int c = threadIdx.x; c < K; c += recurrence_threads) {
      qs[c] = a.q[row * a.ld_q + group * K + c];
      ks[c] = a.k[row * a.ld_k + group * K + c];
      ds[c] = expf(a.per_key ? a.g[row * a.ld_g + h * K + c] : a.g[row * a.ld_g + h]);
    }
    __syncthreads();
    if (e < V) {
      const float ve = a.v[row * a.ld_v + h * V + e];
      float acc = 0.0f;
      for (int c = 0; c < K; ++c) {
        float& s = S[static_cast<long long>(c) * V + e];
        s = fmaf(ds[c], s, ks[c] * ve);
        acc = fmaf(qs[c], s, acc);
      }
      a.o[row * a.ld_o + h * V + e] = acc;
    }
  }
}

// One launch per group of at most max_launch_seqs sequences; S(state) is the state's [H, K, V].
template <class State, class StateOf>
void gated_linear_recurrence(std::span<State* const> states, std::span<const index_t> lengths,
                             const RecurrenceArgs& a, StateOf&& state_of, cudaStream_t stream) {
  const std::size_t shared = 3 * static_cast<std::size_t>(a.key_dim) * sizeof(float);
  for_each_launch<RecurrenceSeq>(
      states, lengths,
      [&](State& s, int row0, int len) {
        return RecurrenceSeq{row0, len, state_of(s)};
      },
      [&](const LaunchBatch<RecurrenceSeq>& b) {
        const dim3 grid(blocks_for(a.value_dim, recurrence_threads), a.heads, b.n);
        recurrence_kernel<><<<grid, recurrence_threads, shared, stream>>>(b, a);
        check_launch("recurrence_kernel");
      });
}

// o [T, H·V] in place: per (row, head) the RMS over V channels (eps), ⊙ weight [V], ⊙ silu(gate)
// where gate is given (row t at gate + t · ld_gate, head h's V columns from h·V).
template <class = void>
__global__ void head_norm_gate_kernel(float* __restrict__ o, long long ld_o,
                                      const float* __restrict__ gate, long long ld_gate,
                                      const float* __restrict__ weight, int heads, int V,
                                      float eps) {
  __shared__ float partial[32];
  const long long t = blockIdx.x;
  const int h = blockIdx.y;
  float* x = o + t * ld_o + static_cast<long long>(h) * V;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) ss = fmaf(x[i], x[i], ss);
  ss = warp_sum(ss);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.0f;
    v = warp_sum(v);
    if (threadIdx.x == 0) partial[0] = v;
  }
  __syncthreads();
  const float r = rsqrtf(partial[0] / static_cast<float>(V) + eps);
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    float y = x[i] * r * weight[i];
    if (gate) y *= silu(gate[t * ld_gate + static_cast<long long>(h) * V + i]);
    x[i] = y;
  }
}

inline void head_norm_gate(MatrixView<float> o, ConstMatrixView<float> gate, const float* weight,
                           index_t heads, index_t V, float eps, cudaStream_t stream) {
  if (o.rows() == 0) return;
  head_norm_gate_kernel<>
      <<<dim3(to_int(o.rows(), "rows"), to_int(heads, "heads")), 128, 0, stream>>>(
          o.data(), o.stride(0), gate.cols() > 0 ? gate.data() : nullptr, gate.stride(0), weight,
          to_int(heads, "heads"), to_int(V, "head width"), eps);
  check_launch("head_norm_gate_kernel");
}

}  // namespace cuda_detail
}  // namespace samba
