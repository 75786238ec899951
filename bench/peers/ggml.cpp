// The workloads of bench/cpu/layers.cpp and bench/cpu/blocks.cpp on ggml's CPU backend, the engine
// under llama.cpp (samba_bench_ggml, built against the ggml source tree SAMBA_GGML_DIR): the same
// names, sizes, weights and counters as ours (../cpu/common.hpp), so that bench/report.py can put
// each row beside ours as samba ÷ ggml. `scripts/run-bench.sh --ggml DIR` runs it between ours.
//
// Each workload is the graph llama.cpp builds for it, run as llama.cpp runs it:
//   - weights: the samba layer's own (common.hpp's seeds), copied into one CPU backend buffer, f32
//     or bf16 (GGML_TYPE_BF16: ggml rounds the activations to bf16 for those dot products);
//   - the graph is built once per benchmark, its intermediates placed by ggml_gallocr; one
//     iteration is one ggml_backend_graph_compute on --threads threads (ggml's OpenMP build);
//   - Mamba (llama.cpp's build_mamba_layer): in_proj; the conv over [state, uᵀ] (ggml_concat,
//     ggml_ssm_conv, + bias, silu); x_proj; dt_proj + bias; ggml_ssm_scan (softplus(Δ) inside);
//     + D·u; ⊙ silu(z) (ggml_swiglu_split); out_proj; both states written back (ggml_cpy);
//   - attention (llama.cpp's build_attn with its CPU defaults): Q, K, V projections; NeoX RoPE
//     (samba's rotate-half); the chunk's K and V written into an f16 KV cache;
//     ggml_flash_attn_ext over the cache with an f16 mask (causality and window); out_proj. Batched
//     decode keeps one cache per sequence (llama.cpp's per-sequence KV streams);
//   - SwiGLU: gate, up, ggml_swiglu_split, down; RMSNorm: ggml_rms_norm × weight; a block adds its
//     input to its layer's output;
//   - Mamba-2 (llama.cpp's build_mamba2_layer): in_proj → z | xBC | dt; the conv over [state,
//     xBCᵀ] + bias, silu; ggml_ssm_scan with head_dim > 1 (softplus(dt + dt_bias) inside, A one
//     scalar per head); + D·x; ⊙ silu(z); rms_norm over each norm group × weight; out_proj;
//   - GLA (ggml_gated_linear_attn, as llama.cpp's RWKV-style GLA users call it): in_proj → q | k |
//     v | g | the gate's low rank; the gate's second product + bias, decay = exp(log σ(·) / 16);
//     ggml's op takes square heads (key width = value width), so each head of value width r·K
//     runs as r heads of K that share its q, k and decay (the same multiply-adds); per-head
//     rms_norm × weight ⊙ silu(g); o_proj;
//   - selective_scan and causal_conv alone: the ggml ops that do what samba's one kernel does.
//     Scan: ggml_ssm_scan (with softplus(Δ), which samba applies before its scan), the state
//     write-back, + D·u, ⊙ silu(z). Conv: concat, ggml_ssm_conv, + bias, silu, the state
//     write-back.
// Prefill: T tokens of one sequence from a fresh (zero) state in one graph (llama.cpp would split
// a prompt into ubatches of 512). Decode: one token for each of `batch` sequences, every state
// filled to ctx with random contents: a sliding-window cache holds the W keys the query sees, a
// causal one ctx + 1 (llama.cpp pads to 256, masked); the new key goes to the same row each step.
//
// Flags (before Google Benchmark's own): common.hpp's --full and --threads; --set=layers or
// --set=blocks registers only the workloads of that program of ours (default: both), so that
// run-bench.sh can interleave the two; --check, instead of benchmarking, runs every graph at small
// dims against samba's forward on the same weights, inputs and states and prints the relative
// error (exit status 1 if one is too large).
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpp.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <variant>

#include "../cpu/common.hpp"

#ifndef SAMBA_GGML_DIR
#define SAMBA_GGML_DIR "unknown"
#endif

namespace samba_bench {
namespace {

// --- weights -------------------------------------------------------------------------------------

template <StorageType T>
constexpr ggml_type ggml_type_of() {
  if constexpr (std::is_same_v<T, float>) return GGML_TYPE_F32;
  if constexpr (std::is_same_v<T, bf16>) return GGML_TYPE_BF16;
  if constexpr (std::is_same_v<T, f16>) return GGML_TYPE_F16;
}

// ggml copies of samba tensors in one CPU backend buffer, as llama.cpp keeps a model's weights.
// samba's row-major [rows, cols] is ggml's {cols, rows} (ne[0] is the contiguous dimension), and
// bf16 and f16 have the same bits in both: the bytes are copied as they are.
class WeightStore {
 public:
  WeightStore() : ctx_(ggml_init({1024 * ggml_tensor_overhead(), nullptr, true})) {}

  template <StorageType T>
  ggml_tensor* add(const Tensor<T>& t) {
    const Shape& s = t.shape();
    std::array<int64_t, 4> ne{1, 1, 1, 1};
    for (std::size_t i = 0; i < s.rank(); ++i) ne[i] = s[s.rank() - 1 - i];
    ggml_tensor* g =
        ggml_new_tensor(ctx_.get(), ggml_type_of<T>(), static_cast<int>(s.rank()), ne.data());
    pending_.push_back({g, t.data(), t.bytes()});
    return g;
  }

  // Allocates the buffer and copies the tensors added so far (their samba owners must be alive).
  void upload() {
    buffer_.reset(
        ggml_backend_alloc_ctx_tensors_from_buft(ctx_.get(), ggml_backend_cpu_buffer_type()));
    detail::check(buffer_ != nullptr, "samba_bench_ggml: cannot allocate the weights");
    for (const Pending& p : pending_) ggml_backend_tensor_set(p.tensor, p.data, 0, p.bytes);
    pending_.clear();
  }

 private:
  struct Pending {
    ggml_tensor* tensor;
    const void* data;
    std::size_t bytes;
  };
  ggml_context_ptr ctx_;
  ggml_backend_buffer_ptr buffer_;
  std::vector<Pending> pending_;
};

struct NormOnGgml {
  float eps;
  ggml_tensor* weight;
};
struct MlpOnGgml {
  ggml_tensor *gate, *up, *down;
};
struct MambaOnGgml {
  MambaConfig config;
  ggml_tensor *in_proj, *conv_weight, *conv_bias, *x_proj, *dt_proj, *dt_bias, *A, *D, *out_proj;
};
struct Mamba2OnGgml {
  Mamba2Config config;
  ggml_tensor *in_proj, *conv_weight, *conv_bias, *dt_bias, *A, *D, *norm_weight, *out_proj;
};
struct GLAOnGgml {
  GLAConfig config;
  ggml_tensor *in_proj, *gk_up, *gk_bias, *norm_weight, *o_proj;
};
struct AttentionOnGgml {
  AttentionConfig config;
  index_t window;  // keys a query may see (the largest index_t for causal attention)
  ggml_tensor *wq, *wk, *wv, *wo;
};
struct StackOnGgml {
  struct Block {
    NormOnGgml norm;
    std::variant<MlpOnGgml, MambaOnGgml, AttentionOnGgml> layer;
  };
  std::vector<Block> blocks;
};

inline NormOnGgml to_ggml(WeightStore& s, const RMSNorm<cpu>& l) {
  return {l.config().eps, s.add(l.weights().weight)};
}
template <StorageType W>
MlpOnGgml to_ggml(WeightStore& s, const SwiGLU<cpu, W>& l) {
  const auto& w = l.weights();
  return {s.add(w.gate), s.add(w.up), s.add(w.down)};
}
template <StorageType W>
MambaOnGgml to_ggml(WeightStore& s, const MambaLayer<cpu, W>& l) {
  const auto& w = l.weights();  // A = −exp(A_log), as llama.cpp's converter stores it
  return {l.config(),      s.add(w.in_proj), s.add(w.conv_weight), s.add(w.conv_bias),
          s.add(w.x_proj), s.add(w.dt_proj), s.add(w.dt_bias),     s.add(l.A()),
          s.add(w.D),      s.add(w.out_proj)};
}
template <StorageType W>
Mamba2OnGgml to_ggml(WeightStore& s, const Mamba2Layer<cpu, W>& l) {
  const auto& w = l.weights();
  const index_t H = l.config().n_heads();
  // A and D as {1, H} (samba [H, 1]): ggml_ssm_scan's A, and D broadcast over each head's channels.
  return {l.config(),
          s.add(w.in_proj),
          s.add(w.conv_weight),
          s.add(w.conv_bias),
          s.add(w.dt_bias),
          s.add(l.A().reshaped({H, 1})),
          s.add(w.D.reshaped({H, 1})),
          s.add(w.norm_weight),
          s.add(w.out_proj)};
}
template <StorageType W>
GLAOnGgml to_ggml(WeightStore& s, const GatedLinearAttention<cpu, W>& l) {
  const auto& w = l.weights();
  detail::check(l.config().conv_size == 0 && l.config().output_gate &&
                    l.config().resolved_n_kv_heads() == l.config().n_heads &&
                    l.config().head_v_dim() % l.config().head_k_dim() == 0,
                "samba_bench_ggml: the GLA graph takes no short conv, an output gate, no shared kv "
                "heads and a value width that is a multiple of the key width");
  return {l.config(),       s.add(w.in_proj),     s.add(w.gk_up),
          s.add(w.gk_bias), s.add(w.norm_weight), s.add(w.o_proj)};
}
template <StorageType W, AttentionKind K>
AttentionOnGgml to_ggml(WeightStore& s, const Attention<cpu, W, K>& l) {
  const auto& w = l.weights();
  return {l.config(), l.window(), s.add(w.wq), s.add(w.wk), s.add(w.wv), s.add(w.wo)};
}
template <class... Blocks>
StackOnGgml to_ggml(WeightStore& s, const HybridStack<Blocks...>& stack) {
  StackOnGgml out;
  stack.for_each_block([&](const auto& block, index_t) {
    out.blocks.push_back({to_ggml(s, block.norm()), to_ggml(s, block.layer())});
  });
  return out;
}

// A samba layer (or stack) and its weights on ggml. The samba object stays: the work is counted
// from it (common.hpp), and --check runs it.
template <class L>
struct Peer {
  using Weights = decltype(to_ggml(std::declval<WeightStore&>(), std::declval<const L&>()));
  explicit Peer(L l) : layer(std::move(l)), weights(to_ggml(store, layer)) { store.upload(); }

  L layer;
  WeightStore store;
  Weights weights;
};

// --- graphs --------------------------------------------------------------------------------------

// One benchmark's graph. Its leaves (input, states, KV caches, positions, mask) live in a buffer of
// their own and are filled once; the intermediates are placed by ggml_gallocr, as llama.cpp places
// them. State leaves start at zero for prefill (a fresh state) and random for decode (primed).
class Graph {
 public:
  explicit Graph(const Size& size)
      : size_(size),
        leaves_(ggml_init({256 * ggml_tensor_overhead(), nullptr, true})),
        ops_(ggml_init(
            {max_nodes * ggml_tensor_overhead() + ggml_graph_overhead_custom(max_nodes, false),
             nullptr, true})) {}

  const Size& size() const { return size_; }
  ggml_context* ops() const { return ops_.get(); }

  // A leaf whose element i (in ggml's order) is value(i), converted to its type once allocated.
  ggml_tensor* leaf(ggml_type type, std::vector<int64_t> ne, std::function<float(int64_t)> value) {
    ggml_tensor* t = ggml_new_tensor(leaves_.get(), type, static_cast<int>(ne.size()), ne.data());
    fills_.push_back({t, std::move(value)});
    return t;
  }
  ggml_tensor* random_leaf(ggml_type type, std::vector<int64_t> ne, float lo, float hi) {
    return leaf(type, std::move(ne),
                [rng = Random(++seed_), lo, hi](int64_t) mutable { return rng.uniform(lo, hi); });
  }
  // Zero in prefill, random in [lo, hi) in decode.
  ggml_tensor* state_leaf(ggml_type type, std::vector<int64_t> ne, float lo, float hi) {
    if (size_.decode) return random_leaf(type, std::move(ne), lo, hi);
    return leaf(type, std::move(ne), [](int64_t) { return 0.0f; });
  }

  // A node that writes into a state leaf: computed before the nodes that lead to the output.
  void write(ggml_tensor* node) { writes_.push_back(node); }

  // Builds the graph that computes `out`, allocates and fills the leaves, places the intermediates.
  void finish(ggml_tensor* out) {
    ggml_set_output(out);
    out_ = out;
    graph_ = ggml_new_graph_custom(ops(), max_nodes, false);
    for (ggml_tensor* w : writes_) ggml_build_forward_expand(graph_, w);
    ggml_build_forward_expand(graph_, out);
    buffer_.reset(
        ggml_backend_alloc_ctx_tensors_from_buft(leaves_.get(), ggml_backend_cpu_buffer_type()));
    detail::check(buffer_ != nullptr, "samba_bench_ggml: cannot allocate the graph's inputs");
    for (const auto& [t, value] : fills_) fill(t, value);
    fills_.clear();
    allocator_.reset(ggml_gallocr_new(ggml_backend_cpu_buffer_type()));
    detail::check(ggml_gallocr_alloc_graph(allocator_.get(), graph_),
                  "samba_bench_ggml: ggml_gallocr_alloc_graph failed");
  }

  void compute(ggml_backend_t backend) const {
    detail::check(ggml_backend_graph_compute(backend, graph_) == GGML_STATUS_SUCCESS,
                  "samba_bench_ggml: ggml_backend_graph_compute failed");
  }
  std::vector<float> output() const {
    std::vector<float> y(static_cast<std::size_t>(ggml_nelements(out_)));
    ggml_backend_tensor_get(out_, y.data(), 0, ggml_nbytes(out_));
    return y;
  }

  // Writes values (f32) into a filled leaf from element `offset` on, converted to its type.
  static void set(ggml_tensor* t, int64_t offset, std::span<const float> values) {
    const auto n = static_cast<int64_t>(values.size());
    if (t->type == GGML_TYPE_F32) {
      ggml_backend_tensor_set(t, values.data(), offset * 4, n * 4);
    } else if (t->type == GGML_TYPE_F16) {
      std::vector<ggml_fp16_t> h(values.size());
      ggml_fp32_to_fp16_row(values.data(), h.data(), n);
      ggml_backend_tensor_set(t, h.data(), offset * 2, n * 2);
    } else if (t->type == GGML_TYPE_I32) {
      std::vector<int32_t> v(values.begin(), values.end());
      ggml_backend_tensor_set(t, v.data(), offset * 4, n * 4);
    } else {
      detail::check(false, "samba_bench_ggml: no conversion to ", ggml_type_name(t->type));
    }
  }

 private:
  static constexpr std::size_t max_nodes = 4096;

  static void fill(ggml_tensor* t, const std::function<float(int64_t)>& value) {
    std::vector<float> v(static_cast<std::size_t>(ggml_nelements(t)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = value(static_cast<int64_t>(i));
    set(t, 0, v);
  }

  Size size_;
  ggml_context_ptr leaves_, ops_;
  std::vector<std::pair<ggml_tensor*, std::function<float(int64_t)>>> fills_;
  std::vector<ggml_tensor*> writes_;
  std::uint64_t seed_ = 100;
  ggml_cgraph* graph_ = nullptr;
  ggml_tensor* out_ = nullptr;
  ggml_backend_buffer_ptr buffer_;
  ggml_gallocr_ptr allocator_;
};

// The state leaves of a Mamba layer and of an attention layer, for --check to load samba's states
// into.
struct MambaLeaves {
  ggml_tensor *conv = nullptr, *ssm = nullptr;
};
struct AttentionLeaves {
  ggml_tensor *k = nullptr, *v = nullptr;
  int64_t first = 0, n_kv = 0;  // the cache holds positions first … first + n_kv − 1
};

// Activations are {features, tokens}: sequence b owns tokens b·T … b·T + T − 1.

inline ggml_tensor* build(Graph& g, const NormOnGgml& w, ggml_tensor* x) {
  return ggml_mul(g.ops(), ggml_rms_norm(g.ops(), x, w.eps), w.weight);
}

inline ggml_tensor* build(Graph& g, const MlpOnGgml& w, ggml_tensor* x) {
  ggml_context* ctx = g.ops();
  ggml_tensor* h = ggml_swiglu_split(ctx, ggml_mul_mat(ctx, w.gate, x), ggml_mul_mat(ctx, w.up, x));
  return ggml_mul_mat(ctx, w.down, h);
}

// silu(bias + conv([state, u])) {d_inner, T, batch} for u {d_inner, T, batch}; the state then
// holds the last d_conv − 1 inputs.
inline ggml_tensor* causal_conv_silu(Graph& g, const MambaOnGgml& w, ggml_tensor* u,
                                     ggml_tensor* conv_state) {
  ggml_context* ctx = g.ops();
  const int64_t T = u->ne[1], K = w.config.d_conv;
  ggml_tensor* window = ggml_concat(ctx, conv_state, ggml_transpose(ctx, u), 0);  // {K−1+T, di, ns}
  g.write(ggml_cpy(ctx,
                   ggml_view_3d(ctx, window, K - 1, window->ne[1], window->ne[2], window->nb[1],
                                window->nb[2], T * window->nb[0]),
                   conv_state));
  ggml_tensor* uc = ggml_ssm_conv(ctx, window, w.conv_weight);
  return ggml_silu(ctx, ggml_add(ctx, uc, w.conv_bias));
}

// The selective scan of uc {d_inner, T, batch} with Δ before softplus (dt, same shape), B and C
// inside xdbl {dt_rank + 2·d_state, T, batch}; then + D·uc and ⊙ silu(z). The state is written
// back.
inline ggml_tensor* selective_scan(Graph& g, const MambaOnGgml& w, ggml_tensor* uc, ggml_tensor* dt,
                                   ggml_tensor* xdbl, ggml_tensor* z, ggml_tensor* ssm_state) {
  ggml_context* ctx = g.ops();
  const int64_t di = uc->ne[0], T = uc->ne[1], ns = uc->ne[2];
  const int64_t n = w.config.d_state, r = w.config.resolved_dt_rank();
  const std::size_t f = sizeof(float);
  ggml_tensor* B = ggml_view_4d(ctx, xdbl, n, 1, T, ns, n * f, xdbl->nb[1], xdbl->nb[2], r * f);
  ggml_tensor* C =
      ggml_view_4d(ctx, xdbl, n, 1, T, ns, n * f, xdbl->nb[1], xdbl->nb[2], (r + n) * f);
  ggml_tensor* ids = g.leaf(GGML_TYPE_I32, {ns}, [](int64_t i) { return static_cast<float>(i); });
  // Mamba-1 as llama.cpp runs it: d_inner heads of head_dim 1, one group of B and C; K = 1 keeps
  // only the final state (more would keep snapshots of earlier ones).
  ggml_tensor* y_and_state =
      ggml_ssm_scan(ctx, ssm_state, ggml_reshape_4d(ctx, uc, 1, di, T, ns), dt, w.A, B, C, ids, 1);
  g.write(ggml_cpy(ctx, ggml_view_1d(ctx, y_and_state, ggml_nelements(ssm_state), di * T * ns * f),
                   ssm_state));
  ggml_tensor* y = ggml_view_3d(ctx, y_and_state, di, T, ns, di * f, di * T * f, 0);
  y = ggml_add(ctx, y, ggml_mul(ctx, uc, w.D));
  return ggml_swiglu_split(ctx, ggml_cont(ctx, z), y);  // silu(z) ⊙ y
}

inline MambaLeaves mamba_states(Graph& g, const MambaOnGgml& w) {
  const int64_t di = w.config.d_inner(), ns = g.size().batch;
  return {g.state_leaf(GGML_TYPE_F32, {w.config.d_conv - 1, di, ns}, -1.0f, 1.0f),
          g.state_leaf(GGML_TYPE_F32, {w.config.d_state, 1, di, ns}, -0.5f, 0.5f)};
}

inline ggml_tensor* build(Graph& g, const MambaOnGgml& w, ggml_tensor* x,
                          MambaLeaves* leaves = nullptr) {
  ggml_context* ctx = g.ops();
  const int64_t T = g.size().T, ns = g.size().batch, di = w.config.d_inner();
  const int64_t r = w.config.resolved_dt_rank();
  const MambaLeaves state = mamba_states(g, w);
  if (leaves) *leaves = state;
  ggml_tensor* xz = ggml_reshape_3d(ctx, ggml_mul_mat(ctx, w.in_proj, x), 2 * di, T, ns);
  ggml_tensor* u = ggml_view_3d(ctx, xz, di, T, ns, xz->nb[1], xz->nb[2], 0);
  ggml_tensor* z = ggml_view_3d(ctx, xz, di, T, ns, xz->nb[1], xz->nb[2], di * sizeof(float));
  ggml_tensor* uc = causal_conv_silu(g, w, u, state.conv);
  ggml_tensor* xdbl = ggml_mul_mat(ctx, w.x_proj, uc);  // {r + 2n, T, ns}
  ggml_tensor* delta = ggml_view_3d(ctx, xdbl, r, T, ns, xdbl->nb[1], xdbl->nb[2], 0);
  ggml_tensor* dt = ggml_add(ctx, ggml_mul_mat(ctx, w.dt_proj, delta), w.dt_bias);
  ggml_tensor* y = selective_scan(g, w, uc, dt, xdbl, z, state.ssm);
  return ggml_mul_mat(ctx, w.out_proj, ggml_reshape_2d(ctx, y, di, T * ns));
}

inline ggml_tensor* build(Graph& g, const Mamba2OnGgml& w, ggml_tensor* x) {
  ggml_context* ctx = g.ops();
  const Mamba2Config& c = w.config;
  const int64_t T = g.size().T, ns = g.size().batch, di = c.resolved_d_inner();
  const int64_t H = c.n_heads(), P = c.head_dim, N = c.d_state, G = c.n_groups;
  const int64_t cd = c.conv_dim(), pd = c.proj_dim(), K = c.d_conv;
  const std::size_t f = sizeof(float);
  ggml_tensor* conv_state = g.state_leaf(GGML_TYPE_F32, {K - 1, cd, ns}, -1.0f, 1.0f);
  ggml_tensor* ssm_state = g.state_leaf(GGML_TYPE_F32, {N, P, H, ns}, -0.5f, 0.5f);
  ggml_tensor* proj = ggml_reshape_3d(ctx, ggml_mul_mat(ctx, w.in_proj, x), pd, T, ns);
  ggml_tensor* z = ggml_view_3d(ctx, proj, di, T, ns, proj->nb[1], proj->nb[2], 0);
  ggml_tensor* xbc = ggml_view_3d(ctx, proj, cd, T, ns, proj->nb[1], proj->nb[2], di * f);
  ggml_tensor* dt = ggml_view_3d(ctx, proj, H, T, ns, proj->nb[1], proj->nb[2], (di + cd) * f);
  // The conv over [state, xBCᵀ], as for Mamba-1; the state keeps the last K − 1 inputs.
  ggml_tensor* window = ggml_concat(ctx, conv_state, ggml_transpose(ctx, xbc), 0);
  g.write(ggml_cpy(ctx,
                   ggml_view_3d(ctx, window, K - 1, window->ne[1], window->ne[2], window->nb[1],
                                window->nb[2], T * window->nb[0]),
                   conv_state));
  ggml_tensor* conv =
      ggml_silu(ctx, ggml_add(ctx, ggml_ssm_conv(ctx, window, w.conv_weight), w.conv_bias));
  ggml_tensor* u = ggml_view_4d(ctx, conv, P, H, T, ns, P * f, conv->nb[1], conv->nb[2], 0);
  ggml_tensor* B = ggml_view_4d(ctx, conv, N, G, T, ns, N * f, conv->nb[1], conv->nb[2], di * f);
  ggml_tensor* C =
      ggml_view_4d(ctx, conv, N, G, T, ns, N * f, conv->nb[1], conv->nb[2], (di + G * N) * f);
  dt = ggml_add(ctx, dt, w.dt_bias);  // contiguous {H, T, ns}; softplus inside the scan
  ggml_tensor* ids = g.leaf(GGML_TYPE_I32, {ns}, [](int64_t i) { return static_cast<float>(i); });
  ggml_tensor* y_and_state = ggml_ssm_scan(ctx, ssm_state, u, dt, w.A, B, C, ids, 1);
  g.write(ggml_cpy(ctx, ggml_view_1d(ctx, y_and_state, ggml_nelements(ssm_state), di * T * ns * f),
                   ssm_state));
  ggml_tensor* y = ggml_view_4d(ctx, y_and_state, P, H, T, ns, P * f, di * f, di * T * f, 0);
  y = ggml_add(ctx, y, ggml_mul(ctx, u, w.D));
  y = ggml_swiglu_split(ctx, ggml_cont(ctx, z), ggml_reshape_3d(ctx, y, di, T, ns));
  // The gated RMSNorm over groups of norm_group channels.
  const int64_t ng = c.resolved_norm_group();
  y = ggml_rms_norm(ctx, ggml_reshape_4d(ctx, y, ng, di / ng, T, ns), c.norm_eps);
  y = ggml_mul(ctx, ggml_reshape_3d(ctx, y, di, T, ns), w.norm_weight);
  return ggml_mul_mat(ctx, w.out_proj, ggml_reshape_2d(ctx, y, di, T * ns));
}

inline ggml_tensor* build(Graph& g, const GLAOnGgml& w, ggml_tensor* x) {
  ggml_context* ctx = g.ops();
  const GLAConfig& c = w.config;
  const int64_t T = g.size().T, ns = g.size().batch, n = T * ns;
  const int64_t H = c.n_heads, K = c.head_k_dim(), V = c.head_v_dim(), r = V / K;
  const int64_t kd = c.resolved_key_dim(), vd = c.resolved_value_dim(), pd = c.proj_dim();
  const std::size_t f = sizeof(float);
  ggml_tensor* state = g.state_leaf(GGML_TYPE_F32, {K * K * r * H, ns}, -0.5f, 0.5f);
  ggml_tensor* proj = ggml_mul_mat(ctx, w.in_proj, x);  // {pd, n}
  const auto columns = [&](int64_t width, int64_t offset) {
    return ggml_cont(ctx, ggml_view_2d(ctx, proj, width, n, pd * f, offset * f));
  };
  ggml_tensor* q = columns(kd, 0);
  ggml_tensor* k = columns(kd, kd);
  ggml_tensor* v = columns(vd, 2 * kd);
  ggml_tensor* gate = columns(vd, 2 * kd + vd);
  ggml_tensor* low = columns(c.gate_rank, 2 * kd + 2 * vd);
  ggml_tensor* decay = ggml_add(ctx, ggml_mul_mat(ctx, w.gk_up, low), w.gk_bias);
  decay = ggml_exp(ctx, ggml_scale(ctx, ggml_log(ctx, ggml_sigmoid(ctx, decay)),
                                   1.0f / c.gate_logit_normalizer));
  // Heads of value width r·K as r heads of width K sharing q, k and the decay.
  const auto per_subhead = [&](ggml_tensor* t) {
    return ggml_reshape_3d(
        ctx, ggml_repeat_4d(ctx, ggml_reshape_4d(ctx, t, K, 1, H, n), K, r, H, n), K, r * H, n);
  };
  ggml_tensor* o_and_state = ggml_gated_linear_attn(
      ctx, per_subhead(k), ggml_reshape_3d(ctx, v, K, r * H, n), per_subhead(q), per_subhead(decay),
      state, 1.0f / std::sqrt(static_cast<float>(K)));
  g.write(ggml_cpy(ctx, ggml_view_1d(ctx, o_and_state, ggml_nelements(state), vd * n * f), state));
  ggml_tensor* o = ggml_view_3d(ctx, o_and_state, V, H, n, V * f, vd * f, 0);
  o = ggml_mul(ctx, ggml_rms_norm(ctx, o, c.norm_eps), w.norm_weight);
  o = ggml_swiglu_split(ctx, ggml_reshape_3d(ctx, gate, V, H, n), o);  // silu(g) ⊙ o
  return ggml_mul_mat(ctx, w.o_proj, ggml_reshape_2d(ctx, o, vd, n));
}

inline ggml_tensor* build(Graph& g, const AttentionOnGgml& w, ggml_tensor* x,
                          AttentionLeaves* leaves = nullptr) {
  ggml_context* ctx = g.ops();
  const Size& s = g.size();
  const AttentionConfig& c = w.config;
  const int64_t T = s.T, ns = s.batch, position = s.context, window = w.window;
  const int64_t hd = c.resolved_head_dim(), nh = c.n_heads, nkv = c.resolved_n_kv_heads();
  // The cache holds the keys the chunk's queries may see: from the first query's first key on.
  const int64_t first = position - std::min(position, window - 1), n_kv = position + T - first;
  ggml_tensor* k_cache = g.state_leaf(GGML_TYPE_F16, {hd, nkv, n_kv, ns}, -2.0f, 2.0f);
  ggml_tensor* v_cache = g.state_leaf(GGML_TYPE_F16, {hd, nkv, n_kv, ns}, -1.0f, 1.0f);
  if (leaves) *leaves = {k_cache, v_cache, first, n_kv};
  ggml_tensor* pos = g.leaf(GGML_TYPE_I32, {T * ns},
                            [=](int64_t i) { return static_cast<float>(position + i % T); });
  ggml_tensor* mask = g.leaf(GGML_TYPE_F16, {n_kv, T}, [=](int64_t i) {
    const int64_t key = first + i % n_kv, query = position + i / n_kv;
    return key <= query && query - key < window ? 0.0f : -INFINITY;
  });

  auto rope = [&](ggml_tensor* t) {
    return ggml_rope_ext(ctx, t, pos, nullptr, static_cast<int>(c.resolved_rotary_dims()),
                         GGML_ROPE_TYPE_NEOX, static_cast<int>(default_context),
                         static_cast<float>(c.rope_base), 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
  };
  ggml_tensor* q = rope(ggml_reshape_3d(ctx, ggml_mul_mat(ctx, w.wq, x), hd, nh, T * ns));
  ggml_tensor* k = rope(ggml_reshape_3d(ctx, ggml_mul_mat(ctx, w.wk, x), hd, nkv, T * ns));
  ggml_tensor* v = ggml_mul_mat(ctx, w.wv, x);
  // This chunk's keys and values into the last T rows of each sequence's cache.
  auto store = [&](ggml_tensor* src, ggml_tensor* cache) {
    g.write(ggml_cpy(ctx, ggml_reshape_4d(ctx, src, hd, nkv, T, ns),
                     ggml_view_4d(ctx, cache, hd, nkv, T, ns, cache->nb[1], cache->nb[2],
                                  cache->nb[3], (n_kv - T) * cache->nb[2])));
  };
  store(k, k_cache);
  store(v, v_cache);

  ggml_tensor* o = ggml_flash_attn_ext(
      ctx,
      ggml_permute(ctx, ggml_reshape_4d(ctx, q, hd, nh, T, ns), 0, 2, 1, 3),  // {hd, T, nh, ns}
      ggml_permute(ctx, k_cache, 0, 2, 1, 3), ggml_permute(ctx, v_cache, 0, 2, 1, 3), mask,
      1.0f / std::sqrt(static_cast<float>(hd)), 0.0f, 0.0f);
  ggml_flash_attn_ext_set_prec(o, GGML_PREC_F32);  // o: {hd, nh, T, ns}
  return ggml_mul_mat(ctx, w.wo, ggml_reshape_2d(ctx, o, hd * nh, T * ns));
}

// Every block: x + layer(norm(x)).
inline ggml_tensor* build(Graph& g, const StackOnGgml& stack, ggml_tensor* x) {
  for (const auto& block : stack.blocks) {
    ggml_tensor* h = build(g, block.norm, x);
    ggml_tensor* y = std::visit([&](const auto& layer) { return build(g, layer, h); }, block.layer);
    x = ggml_add(g.ops(), x, y);
  }
  return x;
}

// The input {d_model, T · batch}: values of the scale a pre-norm layer sees (as random_rows).
inline ggml_tensor* input(Graph& g, index_t d_model) {
  return g.random_leaf(GGML_TYPE_F32, {d_model, g.size().T * g.size().batch}, -1.7f, 1.7f);
}

// The Mamba layer's scan or conv alone, on random inputs laid out as the layer lays them out.
inline ggml_tensor* build_part(Graph& g, const MambaOnGgml& w, bool is_scan) {
  const int64_t T = g.size().T, ns = g.size().batch, di = w.config.d_inner();
  const int64_t xw = w.config.resolved_dt_rank() + 2 * w.config.d_state;
  const MambaLeaves state = mamba_states(g, w);
  ggml_tensor* xz = g.random_leaf(GGML_TYPE_F32, {2 * di, T, ns}, -2.0f, 2.0f);  // (u, z)
  ggml_context* ctx = g.ops();
  if (!is_scan)
    return causal_conv_silu(g, w, ggml_view_3d(ctx, xz, di, T, ns, xz->nb[1], xz->nb[2], 0),
                            state.conv);
  ggml_tensor* uc = g.random_leaf(GGML_TYPE_F32, {di, T, ns}, -1.0f, 1.0f);
  // softplus⁻¹ of ours: softplus(dt) is in the init range [1e-3, 0.1].
  ggml_tensor* dt = g.leaf(GGML_TYPE_F32, {di, T, ns}, [rng = Random(5)](int64_t) mutable {
    return std::log(std::expm1(rng.uniform(1e-3f, 0.1f)));
  });
  ggml_tensor* xdbl = g.random_leaf(GGML_TYPE_F32, {xw, T, ns}, -1.0f, 1.0f);
  ggml_tensor* z = ggml_view_3d(ctx, xz, di, T, ns, xz->nb[1], xz->nb[2], di * sizeof(float));
  return selective_scan(g, w, uc, dt, xdbl, z, state.ssm);
}

// --- benchmarks ----------------------------------------------------------------------------------

using CpuBackend = std::shared_ptr<ggml_backend>;

template <class L>
void run_peer(benchmark::State& st, const CpuBackend& backend, const Peer<L>& peer, const Size& s) {
  Graph g(s);
  g.finish(build(g, peer.weights, input(g, peer.layer.d_model())));
  for (auto _ : st) g.compute(backend.get());
  set_counters(st, layer_work(peer.layer, s.context, s.T, s.batch));
}

template <class L>
void add_peer(const CpuBackend& backend, std::string_view workload, const Dims& dims,
              std::string_view dtype, Lazy<Peer<L>> peer, std::vector<index_t> contexts) {
  for (const Size& s : layer_sizes(contexts))
    add(bench_name(workload, dims, dtype, s),
        [=](benchmark::State& st) { run_peer(st, backend, *peer, s); });
}

template <StorageType W>
void add_mamba_parts(const CpuBackend& backend, const Dims& dims,
                     Lazy<Peer<MambaLayer<cpu, W>>> peer) {
  for (const bool is_scan : {true, false})
    for (const Size& s : layer_sizes({default_context}))
      add(bench_name(is_scan ? "selective_scan" : "causal_conv", dims, dtype_name<W>(), s),
          [=](benchmark::State& st) {
            const auto& p = *peer;
            Graph g(s);
            g.finish(build_part(g, p.weights, is_scan));
            for (auto _ : st) g.compute(backend.get());
            const MambaConfig& c = p.layer.config();
            set_counters(st, is_scan ? scan_work(c, s.T, s.batch) : conv_work(c, s.T, s.batch));
          });
}

template <StorageType W>
void add_layers_of_dtype(const CpuBackend& backend, const Dims& dims) {
  const ModelDims m = dims.model;
  const auto dtype = dtype_name<W>();
  using Mamba = MambaLayer<cpu, W>;
  const Lazy<Peer<SwiGLU<cpu, W>>> mlp([m] { return Peer(make_swiglu<W>(m)); });
  const Lazy<Peer<Mamba>> mamba([m] { return Peer(make_mamba<W>(m)); });
  const Lazy<Peer<SlidingWindowAttention<cpu, W>>> swa(
      [m] { return Peer(make_attention<W, AttentionKind::sliding_window>(m)); });
  const Lazy<Peer<CausalAttention<cpu, W>>> attention(
      [m] { return Peer(make_attention<W, AttentionKind::causal>(m)); });

  add_peer(backend, "swiglu", dims, dtype, mlp, {0});
  const Lazy<Peer<Mamba2Layer<cpu, W>>> mamba2([m] { return Peer(make_mamba2<W>(m)); });
  const Lazy<Peer<GatedLinearAttention<cpu, W>>> gla([m] { return Peer(make_gla<W>(m)); });
  add_peer(backend, "mamba", dims, dtype, mamba, {default_context});
  if constexpr (std::is_same_v<W, float>) add_mamba_parts<W>(backend, dims, mamba);
  add_peer(backend, "mamba2", dims, dtype, mamba2, {default_context});
  add_peer(backend, "gla", dims, dtype, gla, {default_context});
  add_peer(backend, "swa", dims, dtype, swa, decode_contexts());
  add_peer(backend, "causal_attention", dims, dtype, attention, decode_contexts());
}

template <StorageType W>
void add_pairs(const CpuBackend& backend, const Dims& dims) {
  const ModelDims m = dims.model;
  const Lazy<Peer<presets::Samba<cpu, W>>> samba([m] { return Peer(make_samba_pair<W>(m)); });
  const Lazy<Peer<presets::Llama<cpu, W>>> llama([m] { return Peer(make_llama_pair<W>(m)); });
  add_peer(backend, "samba_pair", dims, dtype_name<W>(), samba, decode_contexts());
  add_peer(backend, "llama_pair", dims, dtype_name<W>(), llama, decode_contexts());
}

// The workloads of bench/cpu/layers.cpp and of bench/cpu/blocks.cpp, in their order.
void register_benchmarks(const CpuBackend& backend, bool layers, bool blocks) {
  for (const Dims& dims : dims_set()) {
    if (layers) {
      const Lazy<Peer<RMSNorm<cpu>>> norm([m = dims.model] { return Peer(make_rmsnorm(m)); });
      add_peer(backend, "rmsnorm", dims, "f32", norm, {0});
      add_layers_of_dtype<float>(backend, dims);
      add_layers_of_dtype<bf16>(backend, dims);
    }
    if (blocks) {
      add_pairs<float>(backend, dims);
      add_pairs<bf16>(backend, dims);
    }
  }
}

// --- --check: ggml's graphs against samba's forward ------------------------------------------

// Small dims with a window shorter than the prompts, so that the mask's window is exercised.
inline ModelDims check_dims() {
  ModelDims d;
  d.d_model = 64;
  d.n_blocks = 4;
  d.n_heads = 4;
  d.n_kv_heads = 2;
  d.head_dim = 16;
  d.window = 8;
  d.d_ff = 96;
  d.d_state = 16;
  d.d_conv = 4;
  d.expand = 2;
  d.dt_rank = 8;
  return d;
}

inline double relative_error(std::span<const float> got, std::span<const float> want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(diff / norm);
}

// samba's state of sequence b → the ggml leaves (conv: samba [d_conv − 1, d_inner] time-major,
// ggml {d_conv − 1, d_inner} channel-major; ssm: the same order in both).
template <class S>
void load_state(const MambaLeaves& l, const S& s, int64_t b) {
  const int64_t di = s.d_inner, K1 = s.d_conv - 1;
  std::vector<float> conv(static_cast<std::size_t>(K1 * di));
  for (int64_t c = 0; c < di; ++c)
    for (int64_t k = 0; k < K1; ++k) conv[c * K1 + k] = s.conv[k * di + c];
  Graph::set(l.conv, b * K1 * di, conv);
  Graph::set(l.ssm, b * di * s.d_state, std::span<const float>(s.ssm.data(), s.ssm.size()));
}
// The keys and values of positions first … position − 1 (the rows before the chunk's own), from
// samba's ring (position p in row p % capacity), f32 → f16.
template <class S>
void load_state(const AttentionLeaves& l, const S& s, int64_t b) {
  for (int64_t j = 0; l.first + j < s.position; ++j) {
    const int64_t row = (l.first + j) % s.capacity, offset = (b * l.n_kv + j) * s.kv_dim;
    Graph::set(l.k, offset, std::span<const float>(s.k.data() + row * s.kv_dim, s.kv_dim));
    Graph::set(l.v, offset, std::span<const float>(s.v.data() + row * s.kv_dim, s.kv_dim));
  }
}

struct Checker {
  ggml_backend_t backend;
  bool ok = true;

  void report(const std::string& what, double error, double tolerance) {
    const bool pass = error <= tolerance;
    ok = ok && pass;
    std::printf("%-48s relative L2 error %.2e  (tolerance %.0e) %s\n", what.c_str(), error,
                tolerance, pass ? "ok" : "FAILED");
  }

  // Prefill of T tokens from a fresh state, and (for layers with a state) one decode step for each
  // of two sequences that have seen `seen` tokens.
  template <class L>
  void check(const std::string& name, const L& layer, double tolerance) {
    const Peer<L> peer(layer);
    const index_t d = layer.d_model(), T = 24, seen = 20, batch = 2;
    {
      const auto x = random_buffer(T * d, -1.7f, 1.7f, 31);
      HostBuffer<float> want(T * d);
      auto s = layer.make_state();
      layer.forward(s, x.view<2>({T, d}), want.view<2>({T, d}));
      Graph g({false, T, 0, 1});
      g.finish(
          build(g, peer.weights, g.leaf(GGML_TYPE_F32, {d, T}, [&](int64_t i) { return x[i]; })));
      g.compute(backend);
      report(name + " prefill T " + std::to_string(T), relative_error(g.output(), want), tolerance);
    }
    // Decode is compared for Mamba-1 and attention, whose states --check loads into ggml's
    // layout; Mamba-2's and GLA's states are laid out differently and compared in prefill only.
    using S = typename L::State;
    using Leaves = std::conditional_t < MambaState<S>&& requires(S & s) {
      s.d_inner;
    }
    , MambaLeaves, std::conditional_t < KvCacheState<S>, AttentionLeaves, void >> ;
    if constexpr (!std::is_void_v<Leaves>) {
      std::vector<typename L::State> states;
      for (index_t b = 0; b < batch; ++b) {
        const auto prompt = random_buffer(seen * d, -1.7f, 1.7f, 40 + b);
        HostBuffer<float> y(seen * d);
        states.push_back(layer.make_state());
        layer.forward(states.back(), prompt.view<2>({seen, d}), y.view<2>({seen, d}));
      }
      const auto x = random_buffer(batch * d, -1.7f, 1.7f, 50);
      Graph g({true, 1, seen, batch});
      Leaves leaves;
      g.finish(build(g, peer.weights,
                     g.leaf(GGML_TYPE_F32, {d, batch}, [&](int64_t i) { return x[i]; }), &leaves));
      for (index_t b = 0; b < batch; ++b) load_state(leaves, states[b], b);
      g.compute(backend);
      HostBuffer<float> want(batch * d);
      for (index_t b = 0; b < batch; ++b)
        layer.forward(states[b], ConstMatrixView<float>(x.data() + b * d, {1, d}),
                      MatrixView<float>(want.data() + b * d, {1, d}));
      report(name + " decode after " + std::to_string(seen) + ", batch " + std::to_string(batch),
             relative_error(g.output(), want), tolerance);
    }
  }

  // ggml's Mamba path is f32 throughout; its attention reads an f16 KV cache; with bf16 weights
  // it rounds the activations to bf16 before each projection.
  template <StorageType W>
  void check_dtype() {
    const ModelDims m = check_dims();
    const std::string dtype(dtype_name<W>());
    const double tol = std::is_same_v<W, float> ? 2e-3 : 1e-2;
    check("swiglu/" + dtype, make_swiglu<W>(m), tol);
    check("mamba/" + dtype, make_mamba<W>(m), tol);
    check("mamba2/" + dtype, make_mamba2<W>(m), tol);
    check("gla/" + dtype, make_gla<W>(m), tol);
    check("swa/" + dtype, make_attention<W, AttentionKind::sliding_window>(m), tol);
    check("causal_attention/" + dtype, make_attention<W, AttentionKind::causal>(m), tol);
    check("samba_pair/" + dtype, make_samba_pair<W>(m), tol);
    check("llama_pair/" + dtype, make_llama_pair<W>(m), tol);
  }

  int run() {
    const ModelDims m = check_dims();
    std::printf("ggml graphs against samba's forward: d_model %td, window %td, d_inner %td\n",
                m.d_model, m.window, m.expand * m.d_model);
    check("rmsnorm/f32", make_rmsnorm(m), 1e-5);
    check_dtype<float>();
    check_dtype<bf16>();
    std::printf(ok ? "all ok\n" : "some graphs differ from samba's forward\n");
    return ok ? 0 : 1;
  }
};

std::string ggml_features() {
  std::string s;
  const std::pair<const char*, int> features[] = {
      {"avx2", ggml_cpu_has_avx2()},         {"fma", ggml_cpu_has_fma()},
      {"avx512", ggml_cpu_has_avx512()},     {"avx512_bf16", ggml_cpu_has_avx512_bf16()},
      {"amx_int8", ggml_cpu_has_amx_int8()}, {"llamafile", ggml_cpu_has_llamafile()},
  };
  for (const auto& [name, on] : features)
    if (on) s += std::string(s.empty() ? "" : " ") + name;
  return s;
}

}  // namespace
}  // namespace samba_bench

int main(int argc, char** argv) {
  using namespace samba_bench;
  bool check = false, layers = true, blocks = true;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--check") {
      check = true;
    } else if (a == "--set=layers") {
      blocks = false;
    } else if (a == "--set=blocks") {
      layers = false;
    } else if (a.starts_with("--set")) {
      std::fprintf(stderr, "samba_bench_ggml: --set=layers or --set=blocks, not '%s'\n", argv[i]);
      return 1;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (!parse_options(argc, argv)) return 1;
  const CpuBackend backend(ggml_backend_cpu_init(), ggml_backend_free);
  ggml_backend_cpu_set_n_threads(backend.get(), options().threads);
  if (check) return Checker{backend.get()}.run();

  benchmark::AddCustomContext("samba_bench_peer", "ggml");
  benchmark::AddCustomContext("ggml_version", ggml_version());
  benchmark::AddCustomContext("ggml_commit", ggml_commit());
  benchmark::AddCustomContext("ggml_dir", SAMBA_GGML_DIR);
  benchmark::AddCustomContext("ggml_cpu_features", ggml_features());
  benchmark::AddCustomContext("ggml_attention", "flash_attn_ext, f16 KV cache");
  return run_benchmarks(argc, argv, [&] { register_benchmarks(backend, layers, blocks); });
}
