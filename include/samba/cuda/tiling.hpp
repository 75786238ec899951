// The index math and small algebra of the CUDA kernels, as plain C++ that nvcc compiles into the
// kernels and the host compiler compiles into the CPU test suite (tests/cuda/tiling.cpp), which
// replays the kernels' decomposition — key ranges, splits, masks, online softmax, chunked scan — on
// the host against the references. No CUDA syntax here.
#pragma once

#include <algorithm>
#include <cmath>

#if defined(__CUDACC__)
#define SAMBA_HOST_DEVICE __host__ __device__
#else
#define SAMBA_HOST_DEVICE
#endif

namespace samba::cuda_detail {

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
SAMBA_HOST_DEVICE inline int conv_source(int t, int k, int d_conv) {
  return t - (d_conv - 1) + k;
}

// After a chunk of len ≥ 1 steps, state row j holds input len − (d_conv − 1) + j: a row of the
// chunk when ≥ 0, else the old state's row len + j (≥ j: ascending j may update in place).
SAMBA_HOST_DEVICE inline int conv_state_source(int j, int len, int d_conv) {
  return len - (d_conv - 1) + j;
}

}  // namespace samba::cuda_detail
