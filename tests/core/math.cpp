// core/math.hpp: the activations, RoPE frequencies and cache growth every backend shares; and the
// CUDA kernels' decomposition replayed on the host (part of samba_tests, so it runs in CI without
// a GPU): the same index math and algebra that the kernels compile, driven by host loops shaped
// like the kernels' — query tiles × key splits × key tiles with an online softmax and the merge of
// the splits; the chunked selective scan with its carry; the chunked causal conv with its in-place
// state update — against direct computations.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <samba/core/math.hpp>
#include <samba/core/random.hpp>

namespace samba::math {
namespace {

TEST_CASE("shared activations, RoPE frequencies and KV-cache growth", "[core][math]") {
  for (const double a : {-30.0, -3.5, -1e-3, 0.0, 0.25, 7.0, 19.9, 20.5, 80.0}) {
    CAPTURE(a);
    const double s = 1.0 / (1.0 + std::exp(-a));
    CHECK(sigmoid(a) == Approx(s).epsilon(1e-15));
    CHECK(silu(a) == Approx(a * s).epsilon(1e-15).margin(1e-300));
    // PyTorch's softplus: log(1 + e^a), the identity above 20.
    if (a > 20.0) {
      CHECK(softplus(a) == a);
    } else {
      CHECK(softplus(a) == Approx(std::log1p(std::exp(a))).epsilon(1e-15));
    }
    const auto f = static_cast<float>(a);
    CHECK(silu(f) == Approx(a * s).epsilon(1e-6).margin(1e-30));
    CHECK(softplus(f) == Approx(a > 20.0 ? a : std::log1p(std::exp(a))).epsilon(1e-6));
  }
  CHECK(rope_inv_freq(10000.0, 0, 64) == 1.0);
  CHECK(rope_inv_freq(10000.0, 16, 64) == Approx(0.01).epsilon(1e-15));  // 10000^(−1/2)
  // Doubling, at least 16 rows, never past the window.
  CHECK(grown_capacity(0, 1, 2048) == 16);
  CHECK(grown_capacity(16, 17, 2048) == 32);
  CHECK(grown_capacity(16, 100, 2048) == 100);
  CHECK(grown_capacity(1024, 1500, 2048) == 2048);
  CHECK(grown_capacity(0, 5, 6) == 6);
}

constexpr int block_rows = 32,
              tile_keys = 32;  // attention_kernel's attn_block_rows, attn_block_keys

struct AttentionCase {
  long long pos0;  // the chunk's first position; keys 0 … pos0 + len − 1 exist
  int len, group, head_dim;
  long long window;
  int splits;
};

// Scores s(row, key) and values v(key) of one KV head, random; a row is (token, head of group).
struct Problem {
  AttentionCase c;
  std::vector<float> q, k, v;  // q: [len·group][hd], k, v: [pos0 + len][hd]
  explicit Problem(const AttentionCase& ac) : c(ac) {
    Random rng(static_cast<std::uint64_t>(ac.pos0 * 131 + ac.len * 7 + ac.splits));
    const auto keys = static_cast<std::size_t>(ac.pos0 + ac.len);
    q.resize(static_cast<std::size_t>(ac.len * ac.group * ac.head_dim));
    k.resize(keys * static_cast<std::size_t>(ac.head_dim));
    v.resize(k.size());
    for (auto* vec : {&q, &k, &v})
      for (auto& x : *vec) x = rng.normal();
  }
  float score(int row, long long key) const {
    float s = 0;
    for (int d = 0; d < c.head_dim; ++d)
      s += q[static_cast<std::size_t>(row * c.head_dim + d)] *
           k[static_cast<std::size_t>(key * c.head_dim + d)];
    return s / std::sqrt(static_cast<float>(c.head_dim));
  }
  float value(long long key, int d) const {
    return v[static_cast<std::size_t>(key * c.head_dim + d)];
  }
  long long position(int row) const { return c.pos0 + row / c.group; }
};

// Softmax over the keys row `row` sees, directly, in double.
std::vector<double> direct(const Problem& p, int row) {
  const long long pos = p.position(row);
  const long long lo = std::max(0LL, pos - p.c.window + 1);
  double m = -std::numeric_limits<double>::infinity(), l = 0;
  for (long long j = lo; j <= pos; ++j) m = std::max(m, static_cast<double>(p.score(row, j)));
  std::vector<double> o(static_cast<std::size_t>(p.c.head_dim));
  for (long long j = lo; j <= pos; ++j) {
    const double e = std::exp(p.score(row, j) - m);
    l += e;
    for (int d = 0; d < p.c.head_dim; ++d) o[static_cast<std::size_t>(d)] += e * p.value(j, d);
  }
  for (auto& x : o) x /= l;
  return o;
}

struct Partial {
  float m = -INFINITY, l = 0;
  std::vector<float> o;
};

// attention_kernel's loops for one (query tile, split): key tiles, mask, online softmax.
std::vector<Partial> tile_split(const Problem& p, int tile0, int split, int rows) {
  const KeySpan keys =
      split_keys(block_keys(p.c.pos0, tile0, block_rows, rows, p.c.group, p.c.window), p.c.splits,
                 split, tile_keys);
  std::vector<Partial> out;
  for (int r = tile0; r < std::min(rows, tile0 + block_rows); ++r) {
    Partial part;
    part.o.assign(static_cast<std::size_t>(p.c.head_dim), 0.0f);
    const long long pos = p.position(r);
    for (long long k0 = keys.lo; k0 <= keys.hi; k0 += tile_keys) {
      float s[tile_keys];
      bool visible[tile_keys];
      float tile_max = -INFINITY;
      for (int lane = 0; lane < tile_keys; ++lane) {
        const long long j = k0 + lane;
        visible[lane] = j <= keys.hi && key_visible(j, pos, p.c.window);
        s[lane] = visible[lane] ? p.score(r, j) : -INFINITY;
        tile_max = std::max(tile_max, s[lane]);
      }
      SoftmaxStep step;
      if (!softmax_step(part.m, tile_max, step)) continue;
      float sum = 0;
      for (int d = 0; d < p.c.head_dim; ++d) part.o[static_cast<std::size_t>(d)] *= step.correction;
      for (int lane = 0; lane < tile_keys; ++lane) {
        const float e = visible[lane] ? std::exp(s[lane] - step.m_new) : 0.0f;
        sum += e;
        for (int d = 0; d < p.c.head_dim; ++d)
          part.o[static_cast<std::size_t>(d)] += e * (visible[lane] ? p.value(k0 + lane, d) : 0.0f);
      }
      part.l = part.l * step.correction + sum;
      part.m = step.m_new;
    }
    out.push_back(std::move(part));
  }
  return out;
}

TEST_CASE("attention tiling: query tiles x key splits x key tiles == direct softmax",
          "[cuda][tiling]") {
  const AttentionCase cases[] = {
      {0, 50, 1, 8, 7, 1},    {0, 50, 3, 8, 33, 1},        {37, 1, 1, 16, 600, 2},
      {700, 1, 4, 8, 600, 5}, {700, 3, 2, 8, 600, 16},     {520, 4, 1, 8, 1LL << 60, 3},
      {100, 70, 3, 4, 40, 1}, {2, 40, 2, 4, 1LL << 60, 1}, {600, 2, 1, 4, 64, 16},
  };
  for (const AttentionCase& c : cases) {
    CAPTURE(c.pos0, c.len, c.group, c.window, c.splits);
    const Problem p(c);
    const int rows = c.len * c.group;
    double worst = 0;
    for (int tile0 = 0; tile0 < rows; tile0 += block_rows) {
      std::vector<std::vector<Partial>> parts;
      for (int split = 0; split < c.splits; ++split)
        parts.push_back(tile_split(p, tile0, split, rows));
      // combine_kernel: o = Σ_s e^{m_s − M} o_s / Σ_s e^{m_s − M} l_s.
      for (std::size_t i = 0; i < parts[0].size(); ++i) {
        float M = -INFINITY;
        for (const auto& ps : parts) M = std::max(M, ps[i].m);
        double L = 0;
        std::vector<double> o(static_cast<std::size_t>(c.head_dim));
        for (const auto& ps : parts) {
          if (ps[i].m == -INFINITY) continue;
          const double f = std::exp(ps[i].m - M);
          L += ps[i].l * f;
          for (int d = 0; d < c.head_dim; ++d)
            o[static_cast<std::size_t>(d)] += ps[i].o[static_cast<std::size_t>(d)] * f;
        }
        const auto want = direct(p, tile0 + static_cast<int>(i));
        for (int d = 0; d < c.head_dim; ++d)
          worst = std::max(worst, std::abs(o[static_cast<std::size_t>(d)] / L -
                                           want[static_cast<std::size_t>(d)]));
      }
    }
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("attention tiling: splits cover a block's keys exactly once, in whole tiles",
          "[cuda][tiling]") {
  for (const long long window : {5LL, 32LL, 600LL, 1LL << 60}) {
    for (const int group : {1, 3, 11}) {
      for (const int splits : {1, 2, 7, 16}) {
        const long long pos0 = 1000;
        const int rows = 40 * group;
        for (int tile0 = 0; tile0 < rows; tile0 += block_rows) {
          const KeySpan all = block_keys(pos0, tile0, block_rows, rows, group, window);
          CHECK(all.lo == std::max(0LL, pos0 + tile0 / group - window + 1));
          CHECK(all.hi == pos0 + std::min(rows - 1, tile0 + block_rows - 1) / group);
          long long next = all.lo;
          for (int s = 0; s < splits; ++s) {
            const KeySpan k = split_keys(all, splits, s, tile_keys);
            if (k.lo > k.hi) continue;
            CHECK(k.lo == next);
            CHECK((k.lo - all.lo) % tile_keys == 0);
            next = k.hi + 1;
          }
          CHECK(next == all.hi + 1);
        }
      }
    }
  }
}

TEST_CASE("scan tiling: chunks carried by the block prefix == the sequential recurrence",
          "[cuda][tiling]") {
  for (const int T : {1, 255, 256, 257, 700}) {
    CAPTURE(T);
    Random rng(static_cast<std::uint64_t>(T));
    std::vector<ScanPair> x(static_cast<std::size_t>(T));
    for (auto& e : x) e = {rng.uniform(0.5f, 1.0f), rng.normal()};
    const float h0 = 0.7f;
    std::vector<float> want(x.size());
    float h = h0;
    for (std::size_t t = 0; t < x.size(); ++t) want[t] = h = x[t].a * h + x[t].b;
    // scan_chunked_kernel: chunks of 256 steps, padded with the identity (1, 0); inclusive scan of
    // each chunk from the carried prefix (1, h); the carry advances by the chunk's aggregate.
    constexpr int chunk = 256;
    float carry = h0;
    double worst = 0;
    for (int c0 = 0; c0 < T; c0 += chunk) {
      ScanPair acc{1.0f, carry}, agg{1.0f, 0.0f};
      for (int i = 0; i < chunk; ++i) {
        const ScanPair e = c0 + i < T ? x[static_cast<std::size_t>(c0 + i)] : ScanPair{1.0f, 0.0f};
        acc = compose(acc, e);
        agg = compose(agg, e);
        if (c0 + i < T)
          worst = std::max(
              worst, static_cast<double>(std::abs(acc.b - want[static_cast<std::size_t>(c0 + i)])));
      }
      carry = agg.a * carry + agg.b;
    }
    CHECK(worst < 1e-4);
    CHECK(std::abs(carry - want.back()) < 1e-4);
    // Associativity, which the block scan relies on to regroup the pairs.
    for (std::size_t t = 2; t < x.size(); ++t) {
      const ScanPair l = compose(compose(x[t - 2], x[t - 1]), x[t]);
      const ScanPair r = compose(x[t - 2], compose(x[t - 1], x[t]));
      CHECK(std::abs(l.a - r.a) < 1e-5f);
      CHECK(std::abs(l.b - r.b) < 1e-4f);
    }
  }
}

TEST_CASE("conv tiling: chunks reading and updating the state == the whole sequence",
          "[cuda][tiling]") {
  for (const int d_conv : {1, 2, 4, 7}) {
    CAPTURE(d_conv);
    Random rng(static_cast<std::uint64_t>(d_conv));
    const int T = 60;
    std::vector<float> u(T), w(static_cast<std::size_t>(d_conv));
    for (auto& e : u) e = rng.normal();
    for (auto& e : w) e = rng.normal();
    std::vector<float> want(T);
    for (int t = 0; t < T; ++t)
      for (int k = 0; k < d_conv; ++k) {
        const int src = t - (d_conv - 1) + k;
        want[static_cast<std::size_t>(t)] +=
            src >= 0 ? w[static_cast<std::size_t>(k)] * u[static_cast<std::size_t>(src)] : 0.0f;
      }
    // conv_silu_kernel + conv_state_kernel over chunks of 1, 5, 2, 13, ... (cycled).
    std::vector<float> state(static_cast<std::size_t>(std::max(d_conv - 1, 0))), got(T);
    const int chunks[] = {1, 5, 2, 13};
    for (int t0 = 0, i = 0; t0 < T; ++i) {
      const int len = std::min(chunks[i % 4], T - t0);
      const float* x = u.data() + t0;
      for (int t = 0; t < len; ++t) {
        float acc = 0;
        for (int k = 0; k < d_conv; ++k) {
          const int src = conv_source(t, k, d_conv);
          acc += w[static_cast<std::size_t>(k)] *
                 (src >= 0 ? x[src] : state[static_cast<std::size_t>(d_conv - 1 + src)]);
        }
        got[static_cast<std::size_t>(t0 + t)] = acc;
      }
      for (int j = 0; j < d_conv - 1; ++j) {  // in place, ascending j
        const int src = conv_state_source(j, len, d_conv);
        state[static_cast<std::size_t>(j)] =
            src >= 0 ? x[src] : state[static_cast<std::size_t>(len + j)];
      }
      t0 += len;
    }
    for (int t = 0; t < T; ++t)
      CHECK(got[static_cast<std::size_t>(t)] ==
            Approx(want[static_cast<std::size_t>(t)]).margin(1e-5));
  }
}

}  // namespace
}  // namespace samba::math
