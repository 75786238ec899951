// The gated linear recurrence (Mamba-2, GLA, RetNet's primitive): the reference's two forms
// against each other, then the CPU's chunked and stepped paths against them, whole and in pieces.
#include <samba/cpu/linear_recurrence.hpp>
#include <samba/reference/linear_recurrence.hpp>

#include "support.hpp"

using namespace samba;

namespace {

struct Case {
  cpu_detail::GatedRecurrenceShape shape;
  index_t T;
  double g_lo;  // log decays uniform in [g_lo, 0]
};

struct Inputs {
  HostBuffer<float> q, k, v, g, state;
};

Inputs make_inputs(const Case& c, std::uint64_t seed) {
  const auto& s = c.shape;
  Inputs in{test::random_activations(c.T, s.groups * s.key_dim, seed, 0.5f),
            test::random_activations(c.T, s.groups * s.key_dim, seed + 1, 0.5f),
            test::random_activations(c.T, s.heads * s.value_dim, seed + 2),
            HostBuffer<float>(c.T * (s.per_key_decay ? s.heads * s.key_dim : s.heads)),
            test::random_activations(s.heads * s.key_dim, s.value_dim, seed + 3)};
  Random rng(seed + 4);
  for (auto& x : in.g) x = static_cast<float>(c.g_lo * rng.uniform());
  return in;
}

reference::GatedRecurrence ref_shape(const cpu_detail::GatedRecurrenceShape& s) {
  return {s.heads, s.groups, s.key_dim, s.value_dim, s.per_key_decay};
}

reference::Matrix matrix(const HostBuffer<float>& b, index_t rows) {
  return reference::Matrix::from(
      ConstMatrixView<float>(b.data(), {rows, b.size() / std::max<index_t>(rows, 1)}));
}

// Runs the CPU primitive over the inputs in calls of the given lengths (cycled).
std::pair<HostBuffer<float>, HostBuffer<float>> run_cpu(const Case& c, const Inputs& in,
                                                        const std::vector<index_t>& pieces,
                                                        index_t chunk = 64) {
  const auto& s = c.shape;
  const index_t qk = s.groups * s.key_dim, hv = s.heads * s.value_dim, gc = in.g.size() / c.T;
  HostBuffer<float> o(c.T * hv), state = in.state;
  index_t t = 0;
  for (std::size_t i = 0; t < c.T; ++i) {
    const index_t n = std::min(pieces[i % pieces.size()], c.T - t);
    cpu_detail::gated_linear_recurrence(s, ConstMatrixView<float>(in.q.data() + t * qk, {n, qk}),
                                        ConstMatrixView<float>(in.k.data() + t * qk, {n, qk}),
                                        ConstMatrixView<float>(in.v.data() + t * hv, {n, hv}),
                                        ConstMatrixView<float>(in.g.data() + t * gc, {n, gc}),
                                        state.data(), MatrixView<float>(o.data() + t * hv, {n, hv}),
                                        chunk);
    t += n;
  }
  return {std::move(o), std::move(state)};
}

}  // namespace

TEST_CASE("Gated linear recurrence: the reference's recurrent and parallel forms agree",
          "[cpu][recurrence]") {
  const bool per_key = GENERATE(false, true);
  const auto [H, G, K, V, T] = GENERATE(table<index_t, index_t, index_t, index_t, index_t>(
      {{1, 1, 1, 1, 1}, {2, 1, 3, 4, 9}, {4, 2, 5, 3, 17}, {3, 3, 4, 2, 12}}));
  const Case c{{H, G, K, V, per_key}, T, -3.0};
  INFO("heads " << H << " groups " << G << " K " << K << " V " << V << " T " << T
                << (per_key ? " per-key decay" : " per-head decay"));
  const Inputs in = make_inputs(c, 10);
  const auto r = ref_shape(c.shape);
  reference::Matrix s1 = matrix(in.state, H * K), s2 = s1;
  const auto o1 = reference::recurrent(r, matrix(in.q, T), matrix(in.k, T), matrix(in.v, T),
                                       matrix(in.g, T), s1);
  const auto o2 = reference::parallel(r, matrix(in.q, T), matrix(in.k, T), matrix(in.v, T),
                                      matrix(in.g, T), s2);
  double err = 0.0, err_s = 0.0;
  for (std::size_t i = 0; i < o1.data.size(); ++i)
    err = std::max(err, std::fabs(o1.data[i] - o2.data[i]) / (1.0 + std::fabs(o1.data[i])));
  for (std::size_t i = 0; i < s1.data.size(); ++i)
    err_s = std::max(err_s, std::fabs(s1.data[i] - s2.data[i]) / (1.0 + std::fabs(s1.data[i])));
  CHECK(err <= 1e-12);
  CHECK(err_s <= 1e-12);
}

TEST_CASE("Gated linear recurrence on the CPU matches the reference, whole, in pieces and stepped",
          "[cpu][recurrence]") {
  const bool per_key = GENERATE(false, true);
  const double g_lo = GENERATE(0.0, -0.3, -25.0);  // none (linear attention), mild, steep
  const auto [H, G, K, V, T] = GENERATE(table<index_t, index_t, index_t, index_t, index_t>(
      {{1, 1, 1, 1, 5}, {2, 1, 16, 8, 70}, {4, 2, 7, 5, 150}, {3, 3, 33, 17, 65}}));
  const Case c{{H, G, K, V, per_key}, T, g_lo};
  INFO("heads " << H << " groups " << G << " K " << K << " V " << V << " T " << T << " g in ["
                << g_lo << ", 0]" << (per_key ? ", per-key decay" : ", per-head decay"));
  const Inputs in = make_inputs(c, static_cast<std::uint64_t>(H * 100 + K + T));
  reference::Matrix want_state = matrix(in.state, H * K);
  const auto want = reference::recurrent(ref_shape(c.shape), matrix(in.q, T), matrix(in.k, T),
                                         matrix(in.v, T), matrix(in.g, T), want_state);
  for (const auto& pieces : std::vector<std::vector<index_t>>{{T}, {1}, {5}, {7, 1, 20}}) {
    for (const index_t chunk : {64, 16}) {
      INFO("pieces of " << pieces[0] << (pieces.size() > 1 ? " …" : "") << ", chunk " << chunk);
      const auto [o, state] = run_cpu(c, in, pieces, chunk);
      CHECK(test::rel_error(ConstMatrixView<float>(o.data(), {T, H * V}), want) <= 2e-5);
      CHECK(test::rel_error(ConstMatrixView<float>(state.data(), {H * K, V}), want_state) <= 2e-5);
    }
  }
}

TEST_CASE("Gated linear recurrence: shapes that do not fit are an error", "[cpu][recurrence]") {
  HostBuffer<float> q(4 * 6), k(4 * 6), v(4 * 8), g(4 * 2), o(4 * 8), s(2 * 3 * 4);
  const cpu_detail::GatedRecurrenceShape ok{2, 2, 3, 4, false};
  const auto call = [&](cpu_detail::GatedRecurrenceShape sh, index_t gcols) {
    cpu_detail::gated_linear_recurrence(sh, q.view<2>({4, 6}), k.view<2>({4, 6}), v.view<2>({4, 8}),
                                        ConstMatrixView<float>(g.data(), {4, gcols}), s.data(),
                                        o.view<2>({4, 8}));
  };
  CHECK_NOTHROW(call(ok, 2));
  CHECK_THROWS_WITH(call({3, 2, 3, 4, false}, 2), Catch::Contains("heads 3, groups 2"));
  CHECK_THROWS_WITH(call(ok, 1), Catch::Contains("g [4, 1]"));
  CHECK_THROWS_WITH(call({2, 2, 3, 4, true}, 2), Catch::Contains("g [4, 2]"));
}
