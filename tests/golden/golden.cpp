// Golden values from PyTorch: every layer and a small Samba stack, run on weights and inputs read
// from tests/golden/data/*.txt, against outputs that tests/golden/generate.py computed in float64
// with torch, independently of this library. Three checks per case:
//
//   f32 weights    the layer (whole, and in chunks that carry the state) against torch;
//   bf16 weights   the same layer with Weights::to<bf16>() against the same torch output;
//   reference      reference::forward (double precision) against torch: the two statements of
//                  the math agree, so the reference the fast paths are tested against is right.
//
// Tolerances are relative L2 errors ‖got − want‖ / ‖want‖, set at about 2x the error measured
// with this data (see each case), so a change that makes a layer measurably less accurate fails.
#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <samba/reference/stack.hpp>
#include <samba/samba.hpp>

#include "golden/golden_file.hpp"
#include "support.hpp"

namespace samba {
namespace {

using reference::Matrix;
using test::GoldenFile;

// f32 compute against a float64 reference: a few units of f32 rounding (2^-24 ≈ 6e-8). The
// measured errors are 7e-8 … 1.7e-7 (GCC at -O0, -O3 and -O2 -march=native alike), so 4e-7 keeps
// a 2x margin (changing one of mamba's 230 outputs by 1e-4 of its value already fails).
constexpr double f32_tolerance = 4e-7;
// bf16 weights carry 8 significant bits (relative rounding error up to 2^-9 ≈ 2e-3 per weight);
// through a layer that shows as 2.0e-3 … 2.7e-3. Measured per case below; bounds have ~2x margin.
constexpr double bf16_tolerance = 5e-3;
// reference::forward computes in double, as torch did: only the order of the sums (and libm's
// last bit) differs. Measured: 0 … 2.5e-16.
constexpr double reference_tolerance = 1e-12;
// Chunk sizes, cycled, for the run that carries the state between calls.
const std::vector<index_t> chunks = {1, 3, 5, 2};

GoldenFile load(const std::string& name) {
  return GoldenFile::load(std::string(SAMBA_GOLDEN_DIR) + "/" + name + ".txt");
}

double rel_error(const Matrix& got, const Matrix& want) {
  REQUIRE(got.rows == want.rows);
  REQUIRE(got.cols == want.cols);
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < want.data.size(); ++i) {
    num += (got.data[i] - want.data[i]) * (got.data[i] - want.data[i]);
    den += want.data[i] * want.data[i];
  }
  return std::sqrt(num / den);
}

// Catch prints doubles in fixed notation (1e-7 shows as 0.0000001), so the message says it again.
void check_error(double error, double tolerance, const GoldenFile& g, const std::string& run) {
  INFO(g.name() << ", " << run << ": relative error " << error << ", tolerance " << tolerance);
  CHECK(error <= tolerance);
}

// Runs `layer` (whose weights are `weights`: "f32" or "bf16") on the file's x, whole and in
// chunks, and compares both with its y.
template <class L>
void check_layer(const L& layer, const GoldenFile& g, const std::string& weights,
                 double tolerance) {
  const Tensor<float> x = g.f32("x");
  const Matrix want = g.matrix("y");
  const index_t T = want.rows, d = want.cols;

  HostBuffer<float> y(T * d);
  auto state = layer.make_state();
  layer.forward(state, x.view<2>(), y.view<2>({T, d}));
  check_error(test::rel_error(y.view<2>({T, d}), want), tolerance, g,
              weights + " weights, whole sequence");

  const HostBuffer<float> y_chunked = test::run_chunked(layer, x.view<2>(), chunks);
  check_error(test::rel_error(y_chunked.view<2>({T, d}), want), tolerance, g,
              weights + " weights, in chunks");
}

// reference::forward on the file's x against its y.
template <class L>
void check_reference(const L& layer, const GoldenFile& g) {
  const Matrix got = reference::forward(layer, Matrix::from(g.f32("x").view<2>()));
  check_error(rel_error(got, g.matrix("y")), reference_tolerance, g, "reference::forward");
}

// --- layers from a golden file's config and tensors (prefix: "" or "block<i>.") ---------------

RMSNorm<> make_rmsnorm(const GoldenFile& g, const std::string& weight) {
  const RMSNormConfig c{g.config_int("d_model"), static_cast<float>(g.config_double("eps"))};
  return RMSNorm<>(c, RMSNormWeights{g.f32(weight)});
}

template <StorageType W>
SwiGLU<cpu, W> make_layer(std::type_identity<SwiGLU<cpu, W>>, const GoldenFile& g,
                          const std::string& p) {
  const SwiGLUConfig c{g.config_int("d_model"), g.config_int("d_ff")};
  const SwiGLUWeights<float> w{g.f32(p + "gate"), g.f32(p + "up"), g.f32(p + "down")};
  return SwiGLU<cpu, W>(c, w.template to<W>());
}

template <StorageType W>
MambaLayer<cpu, W> make_layer(std::type_identity<MambaLayer<cpu, W>>, const GoldenFile& g,
                              const std::string& p) {
  const MambaConfig c{g.config_int("d_model"), g.config_int("d_state"), g.config_int("d_conv"),
                      g.config_int("expand"), g.config_int("dt_rank")};
  const MambaWeights<float> w{
      g.f32(p + "in_proj"), g.f32(p + "conv_weight"), g.f32(p + "conv_bias"),
      g.f32(p + "x_proj"),  g.f32(p + "dt_proj"),     g.f32(p + "dt_bias"),
      g.f32(p + "A_log"),   g.f32(p + "D"),           g.f32(p + "out_proj")};
  return MambaLayer<cpu, W>(c, w.template to<W>());
}

template <StorageType W, AttentionKind Kind>
Attention<cpu, W, Kind> make_layer(std::type_identity<Attention<cpu, W, Kind>>, const GoldenFile& g,
                                   const std::string& p) {
  AttentionConfig c;
  c.d_model = g.config_int("d_model");
  c.n_heads = g.config_int("n_heads");
  c.n_kv_heads = g.config_int("n_kv_heads");
  c.head_dim = g.config_int("head_dim");
  if constexpr (Kind == AttentionKind::sliding_window) c.window = g.config_int("window");
  c.rope_base = g.config_double("rope_base");
  c.rotary_dims = g.config_int("rotary_dims");
  const AttentionWeights<float> w{g.f32(p + "wq"), g.f32(p + "wk"), g.f32(p + "wv"),
                                  g.f32(p + "wo")};
  return Attention<cpu, W, Kind>(c, w.template to<W>());
}

template <class L>
L make_layer(const GoldenFile& g, const std::string& prefix = "") {
  return make_layer(std::type_identity<L>{}, g, prefix);
}

// The stack of samba_stack.txt: Samba's pattern, block b built from the tensors "block<b>.*".
template <StorageType W>
presets::Samba<cpu, W> make_samba_stack(const GoldenFile& g) {
  return presets::Samba<cpu, W>::build(
      g.config_int("n_blocks"), [&]<class Block>(std::type_identity<Block>, index_t b) {
        const std::string p = "block" + std::to_string(b) + ".";
        return Block(make_rmsnorm(g, p + "norm"), make_layer<typename Block::layer_type>(g, p));
      });
}

// --- the cases ---------------------------------------------------------------------------------
// Each states the relative errors measured with GCC 12 on x86-64.

TEST_CASE("golden: RMSNorm matches PyTorch", "[golden]") {
  const GoldenFile g = load("rmsnorm");
  const RMSNorm<> layer = make_rmsnorm(g, "weight");
  // Measured: f32 8.2e-8 (whole / in chunks). RMSNorm has no bf16 weights.
  check_layer(layer, g, "f32", f32_tolerance);
  check_reference(layer, g);
}

TEST_CASE("golden: SwiGLU matches PyTorch", "[golden]") {
  const GoldenFile g = load("swiglu");
  const auto layer = make_layer<SwiGLU<cpu, float>>(g);
  // Measured: f32 1.3e-7 / 1.4e-7 (whole / in chunks), bf16 2.7e-3.
  check_layer(layer, g, "f32", f32_tolerance);
  check_layer(make_layer<SwiGLU<cpu, bf16>>(g), g, "bf16", bf16_tolerance);
  check_reference(layer, g);
}

TEST_CASE("golden: MambaLayer matches PyTorch", "[golden]") {
  const GoldenFile g = load("mamba");
  const auto layer = make_layer<MambaLayer<cpu, float>>(g);
  // Measured: f32 1.7e-7 / 1.7e-7 (whole / in chunks), bf16 2.1e-3.
  check_layer(layer, g, "f32", f32_tolerance);
  check_layer(make_layer<MambaLayer<cpu, bf16>>(g), g, "bf16", bf16_tolerance);
  check_reference(layer, g);
}

TEST_CASE("golden: SlidingWindowAttention (GQA, partial RoPE) matches PyTorch", "[golden]") {
  const GoldenFile g = load("sliding_window_attention");
  const auto layer = make_layer<SlidingWindowAttention<cpu, float>>(g);
  // Measured: f32 1.5e-7 / 1.4e-7 (whole / in chunks), bf16 2.2e-3.
  check_layer(layer, g, "f32", f32_tolerance);
  check_layer(make_layer<SlidingWindowAttention<cpu, bf16>>(g), g, "bf16", bf16_tolerance);
  check_reference(layer, g);
}

TEST_CASE("golden: CausalAttention matches PyTorch", "[golden]") {
  const GoldenFile g = load("causal_attention");
  const auto layer = make_layer<CausalAttention<cpu, float>>(g);
  // Measured: f32 1.4e-7 / 1.3e-7 (whole / in chunks), bf16 2.1e-3.
  check_layer(layer, g, "f32", f32_tolerance);
  check_layer(make_layer<CausalAttention<cpu, bf16>>(g), g, "bf16", bf16_tolerance);
  check_reference(layer, g);
}

TEST_CASE("golden: a 6-block Samba stack matches PyTorch", "[golden]") {
  const GoldenFile g = load("samba_stack");
  const auto stack = make_samba_stack<float>(g);
  REQUIRE(stack.n_blocks() == 6);
  // Measured: f32 7.1e-8 / 7.3e-8 (whole / in chunks), bf16 6.3e-4 (bound 2.4x): below a single
  // layer's, as the residual stream carries much of y.
  check_layer(stack, g, "f32", f32_tolerance);
  check_layer(make_samba_stack<bf16>(g), g, "bf16", 1.5e-3);
  check_reference(stack, g);
}

// --- the reader itself -------------------------------------------------------------------------

TEST_CASE("golden: malformed golden files are rejected, naming the file and line", "[golden]") {
  const std::string header = "# generated by tests/golden/generate.py — do not edit\n";
  auto parse = [](const std::string& text) {
    std::istringstream in(text);
    return GoldenFile::parse(in, "bad.txt");
  };

  const GoldenFile ok = parse(header + "config d 2\ntensor x 2 1 2\n0x1.8p+1 -0x1p-2\n");
  CHECK(ok.config_int("d") == 2);
  CHECK(ok.matrix("x").data == std::vector<double>{3.0, -0.25});

  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(parse("config d 2\n"), Contains("bad.txt:1:") && Contains("header"));
  CHECK_THROWS_WITH(parse(header + "config d\n"), Contains("bad.txt:2:"));
  CHECK_THROWS_WITH(parse(header + "conf d 2\n"), Contains("bad.txt:2:"));
  CHECK_THROWS_WITH(parse(header + "config d 2\nconfig d 3\n"),
                    Contains("bad.txt:3:") && Contains("twice"));
  CHECK_THROWS_WITH(parse(header + "tensor x 5 1 1 1 1 1\n0x1p+0\n"), Contains("bad.txt:2:"));
  CHECK_THROWS_WITH(parse(header + "tensor x 2 1\n0x1p+0\n"), Contains("bad.txt:2:"));
  CHECK_THROWS_WITH(parse(header + "tensor x 1 2\n"),
                    Contains("bad.txt:2:") && Contains("no line of values"));
  CHECK_THROWS_WITH(parse(header + "tensor x 1 2\n0x1p+0\n"),
                    Contains("bad.txt:3:") && Contains("needs 2 values, got 1"));
  CHECK_THROWS_WITH(parse(header + "tensor x 1 2\n0x1p+0 0x1q+0\n"),
                    Contains("bad.txt:3:") && Contains("'0x1q+0'"));
  CHECK_THROWS_WITH(parse(header + "tensor x 1 1\nnan\n"), Contains("bad.txt:3:"));
  CHECK_THROWS_WITH(parse(header + "tensor x 1 1\n0x1p+0\ntensor x 1 1\n0x1p+0\n"),
                    Contains("bad.txt:4:") && Contains("twice"));
  // Weights must be float32 values; expected outputs may be any double.
  const GoldenFile wide = parse(header + "tensor w 1 1\n0x1.0000000000001p+0\n");
  CHECK_THROWS_WITH(wide.f32("w"), Contains("bad.txt") && Contains("not a float32 value"));
  CHECK_THROWS_WITH(load("no_such_case"), Contains("no_such_case.txt") && Contains("cannot open"));
}

}  // namespace
}  // namespace samba
