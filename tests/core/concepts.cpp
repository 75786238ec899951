#include <catch2/catch.hpp>
#include <samba/samba.hpp>

using namespace samba;

TEST_CASE("library layers, blocks and presets model samba::Layer", "[core][concepts]") {
  STATIC_REQUIRE(Backend<cpu>);
  STATIC_REQUIRE(Layer<RMSNorm<cpu>>);
  STATIC_REQUIRE(Layer<SwiGLU<cpu, float>>);
  STATIC_REQUIRE(Layer<SwiGLU<cpu, bf16>>);
  STATIC_REQUIRE(Layer<MambaLayer<cpu, f16>>);
  STATIC_REQUIRE(Layer<SlidingWindowAttention<cpu, bf16>>);
  STATIC_REQUIRE(Layer<CausalAttention<>>);
  STATIC_REQUIRE(Layer<PreNorm<MambaLayer<>>>);
  STATIC_REQUIRE(Layer<presets::Samba<>>);
  STATIC_REQUIRE(Layer<presets::MambaSWAMLP<cpu, bf16>>);
  STATIC_REQUIRE(Layer<presets::MambaMLP<>>);
  STATIC_REQUIRE(Layer<presets::MambaOnly<>>);
  STATIC_REQUIRE(Layer<presets::Llama<>>);
  STATIC_REQUIRE(Layer<presets::LlamaSWA<>>);
  STATIC_REQUIRE(LayerState<NoState>);
  STATIC_REQUIRE_FALSE(Layer<int>);
  STATIC_REQUIRE_FALSE(Layer<Tensor<float>>);
}
