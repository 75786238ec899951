// The small math and index algebra that every backend and the references share, written once:
// activations (silu, softplus as PyTorch defines them), RoPE frequencies, KV-cache growth, the
// causal conv's indices, the sliding window's key ranges and the online softmax step, the scan's
// pair algebra. Plain C++ (templates over float and double) that nvcc compiles into the CUDA
// kernels (SAMBA_HOST_DEVICE) and the host compiler into the CPU kernels, the references and the
// tests that replay the CUDA kernels' decomposition on the host (tests/core/math.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#if defined(__CUDACC__)
#define SAMBA_HOST_DEVICE __host__ __device__
#else
#define SAMBA_HOST_DEVICE
#endif

namespace samba::math {

// --- activations ---------------------------------------------------------------------------------

template <class T>
SAMBA_HOST_DEVICE inline T exp_of(T a) {
  if constexpr (std::is_same_v<T, float>) {
    return expf(a);
  } else {
    return exp(a);
  }
}

template <class T>
SAMBA_HOST_DEVICE inline T sigmoid(T a) {
  return T(1) / (T(1) + exp_of(-a));
}
// silu(a) = a · sigmoid(a)
template <class T>
SAMBA_HOST_DEVICE inline T silu(T a) {
  return a / (T(1) + exp_of(-a));
}
// log(sigmoid(a)) = min(a, 0) − log(1 + e^−|a|), without overflow for large |a| (PyTorch's
// F.logsigmoid).
template <class T>
SAMBA_HOST_DEVICE inline T logsigmoid(T a) {
  const T neg = a < T(0) ? a : T(0);
  if constexpr (std::is_same_v<T, float>) {
    return neg - log1pf(expf(-fabsf(a)));
  } else {
    return neg - log1p(exp(-fabs(a)));
  }
}
// GELU, tanh approximation (PyTorch's gelu(approximate="tanh"), Hugging Face's
// "gelu_pytorch_tanh"): a/2 · (1 + tanh(√(2/π) · (a + 0.044715 a³))).
template <class T>
SAMBA_HOST_DEVICE inline T gelu_tanh(T a) {
  const T inner = T(0.7978845608028654) * (a + T(0.044715) * a * a * a);
  if constexpr (std::is_same_v<T, float>) {
    return T(0.5) * a * (T(1) + tanhf(inner));
  } else {
    return T(0.5) * a * (T(1) + tanh(inner));
  }
}
// PyTorch's softplus (beta 1, threshold 20): log(1 + e^a), and a itself above the threshold.
template <class T>
SAMBA_HOST_DEVICE inline T softplus(T a) {
  if constexpr (std::is_same_v<T, float>) {
    return a > 20.0f ? a : log1pf(expf(a));
  } else {
    return a > 20.0 ? a : log1p(exp(a));
  }
}

// --- RoPE ----------------------------------------------------------------------------------------

// Rotate-half RoPE turns dims i and i + rotary_dims / 2 of a head by position · inv_freq(i), with
// inv_freq(i) = base^(−2i / rotary_dims), in double (positions in the millions keep f32 accuracy).
inline double rope_inv_freq(double base, long long i, long long rotary_dims) {
  return std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(rotary_dims));
}

// --- KV cache ------------------------------------------------------------------------------------

// The rows a KV cache of `capacity` rows grows to so that `needed` rows fit: at least double (so
// that growth is amortised), at least 16, at most max_rows (the window of a ring buffer).
inline long long grown_capacity(long long capacity, long long needed, long long max_rows) {
  return std::min(max_rows, std::max({needed, 2 * capacity, 16LL}));
}

// --- attention -----------------------------------------------------------------------------------

// An inclusive range of absolute key positions; empty when lo > hi.
struct KeySpan {
  long long lo = 0, hi = -1;
};

// The query rows of a block are (token, head of the KV group) pairs: row r is token r / group.
// The keys some row of rows [tile0, tile0 + block_rows) ∩ [0, rows) may see, for a chunk whose
// first token is at absolute position pos0: from the first token's window start to the last
// token itself.
SAMBA_HOST_DEVICE inline KeySpan block_keys(long long pos0, int tile0, int block_rows, int rows,
                                            int group, long long window) {
  const long long first = pos0 + tile0 / group;
  const long long last =
      pos0 + (tile0 + block_rows - 1 < rows - 1 ? tile0 + block_rows - 1 : rows - 1) / group;
  const long long lo = first - window + 1;
  return {lo > 0 ? lo : 0, last};
}

// Split `split` of `splits` equal shares of `keys`, each a whole number of tiles of tile_keys.
// The shares cover keys exactly once; trailing shares may be empty.
SAMBA_HOST_DEVICE inline KeySpan split_keys(KeySpan keys, int splits, int split, int tile_keys) {
  const long long n = keys.hi - keys.lo + 1;
  const long long share = ((n + splits - 1) / splits + tile_keys - 1) / tile_keys * tile_keys;
  const long long lo = keys.lo + split * share;
  const long long hi = lo + share - 1 < keys.hi ? lo + share - 1 : keys.hi;
  return {lo, hi};
}

// The query at absolute position pos sees keys pos − window + 1 … pos.
SAMBA_HOST_DEVICE inline bool key_visible(long long key, long long pos, long long window) {
  return key <= pos && key > pos - window;
}

// One tile of the online softmax for one query row: the running max m, the running sum l and the
// factor by which the accumulated output must be rescaled, given the tile's maximum score (−∞ when
// the row sees nothing in the tile). Returns false when the row has seen nothing yet.
struct SoftmaxStep {
  float m_new = 0, correction = 1;
};
SAMBA_HOST_DEVICE inline bool softmax_step(float m, float tile_max, SoftmaxStep& step) {
  step.m_new = m > tile_max ? m : tile_max;
  if (step.m_new == -INFINITY) return false;
  step.correction = m == -INFINITY ? 0.0f : expf(m - step.m_new);
  return true;
}

// --- selective scan ------------------------------------------------------------------------------

// An element of the linear recurrence h_t = a h_{t−1} + b; composing "first l, then r" gives
// (l.a · r.a, r.a · l.b + r.b), which is associative, with identity (1, 0).
struct ScanPair {
  float a, b;
};
SAMBA_HOST_DEVICE inline ScanPair compose(const ScanPair& l, const ScanPair& r) {
  return {l.a * r.a, fmaf(r.a, l.b, r.b)};
}

// --- causal conv ---------------------------------------------------------------------------------

// Tap k of the conv at chunk step t reads input t − (d_conv − 1) + k: a row of the chunk when ≥ 0,
// else row d_conv − 1 + (that) of the state, which holds the last d_conv − 1 inputs, oldest first.
template <class I>
SAMBA_HOST_DEVICE inline I conv_source(I t, I k, I d_conv) {
  return t - (d_conv - 1) + k;
}

// After a chunk of len ≥ 1 steps, state row j holds input len − (d_conv − 1) + j: a row of the
// chunk when ≥ 0, else the old state's row len + j (≥ j: ascending j may update in place).
template <class I>
SAMBA_HOST_DEVICE inline I conv_state_source(I j, I len, I d_conv) {
  return len - (d_conv - 1) + j;
}

}  // namespace samba::math
