#include "model/checkpoints.hpp"
#include "support.hpp"

using namespace samba;

TEST_CASE("checkpoints of every family reproduce the reference logits", "[model][load]") {
  const std::string name = GENERATE(from_range(test::checkpoint_names));
  INFO("checkpoint " << name);
  const auto dir = test::model_data_dir / name;
  const auto model = load_model(dir);
  const auto prompt = test::read_prompt(dir);
  const auto want = test::read_logits(dir);
  REQUIRE(want.size() == prompt.size() * static_cast<std::size_t>(model->info().n_logits));
  // References are computed in float64 from the stored weights, so every dtype gets the f32 bound.
  for (index_t chunk : {index_t{0}, index_t{5}, index_t{1}}) {
    INFO("chunk " << chunk);
    CHECK(test::rel_error(test::run_logits(*model, prompt, chunk), want) < 1e-5);
  }
}

// Bf16Products::rounded reaches a bf16 model's prefill projections (where the CPU has bf16
// products) and costs bf16's rounding of the activations, no more.
TEST_CASE("bf16 checkpoints with Bf16Products::rounded stay near the reference logits",
          "[model][load]") {
  const std::string name = GENERATE("samba_bf16", "llama_bf16_tied", "mamba2_bf16_tied");
  INFO("checkpoint " << name);
  const auto dir = test::model_data_dir / name;
  const auto model = load_model(dir);
  const auto prompt = test::read_prompt(dir);
  const auto want = test::read_logits(dir);
  const auto exact = test::run_logits(*model, prompt, 0);
  const test::Bf16ProductsScope rounded(Bf16Products::rounded);
  const auto got = test::run_logits(*model, prompt, 0);
  const double err = test::rel_error(got, want);
  INFO("relative error " << err);
  CHECK(err < 2e-2);
  if (cpu_detail::active_isa() >= cpu_detail::Isa::avx512bf16)
    CHECK(err > 1e-5);  // the prompt's rows went through the rounded products
  else
    CHECK(got == exact);
}

TEST_CASE("load_model reports family, pattern and dtype", "[model][load]") {
  const auto samba = load_model(test::model_data_dir / "samba_bf16");
  CHECK(samba->info().family == "samba");
  CHECK(samba->info().pattern == "Samba [Mamba, MLP, SWA, MLP] x 2");
  CHECK(samba->info().weight_dtype == dtype::bf16);
  CHECK(samba->info().tied_embeddings);
  CHECK(samba->info().n_logits > samba->info().vocab_size);  // padded vocabulary
  const auto mistral = load_model(test::model_data_dir / "mistral_f32");
  CHECK(mistral->info().pattern == "LlamaSWA [SWA, MLP] x 3");
  CHECK(mistral->info().bounded_state);
  const auto llama = load_model(test::model_data_dir / "llama_f16_sharded");
  CHECK(llama->info().pattern == "Llama [attention, MLP] x 4");
  CHECK_FALSE(llama->info().bounded_state);
  CHECK(llama->info().weight_dtype == dtype::f16);
  const auto mamba2 = load_model(test::model_data_dir / "mamba2_bf16_tied");
  CHECK(mamba2->info().family == "mamba2");
  CHECK(mamba2->info().pattern == "Mamba2 [Mamba-2] x 2");
  CHECK(mamba2->info().bounded_state);
  CHECK(mamba2->info().tied_embeddings);
  // fla's GLA with sliding-window attention at layer 1 (a Sliding GLA checkpoint), and with full
  // attention at layers 0 and 2.
  const auto gla = load_model(test::model_data_dir / "gla_f32");
  CHECK(gla->info().pattern == "GLA [GLA, MLP, SWA, MLP, GLA, MLP]");
  CHECK(gla->info().bounded_state);
  const auto gla_full = load_model(test::model_data_dir / "gla_f16_sharded");
  CHECK(gla_full->info().pattern == "GLA [attention, MLP, GLA, MLP, attention, MLP]");
  CHECK_FALSE(gla_full->info().bounded_state);
  CHECK(load_model(test::model_data_dir / "retnet_f32")->info().pattern ==
        "RetNet [RetNet, MLP, SWA, MLP, RetNet, MLP]");
  const auto nemotron = load_model(test::model_data_dir / "nemotron_h_f32");
  CHECK(nemotron->info().pattern == "NemotronH [Mamba-2, MLP, Mamba-2, attention, MLP, Mamba-2]");
  CHECK_FALSE(nemotron->info().bounded_state);
  CHECK(load_model(test::model_data_dir / "nemotron_h_bf16_tied")->info().tied_embeddings);
  // RecurrentGemma: block_types repeated to the layer count, each layer's MLP after its block.
  const auto griffin = load_model(test::model_data_dir / "recurrent_gemma_f32");
  CHECK(griffin->info().pattern ==
        "Griffin [RG-LRU, MLP, RG-LRU, MLP, local attention, MLP, RG-LRU, MLP]");
  CHECK(griffin->info().bounded_state);
  CHECK(griffin->info().tied_embeddings);
  CHECK(load_model(test::model_data_dir / "recurrent_gemma_bf16")->info().pattern ==
        "Griffin [RG-LRU, MLP, local attention, MLP, RG-LRU, MLP]");
  // fla's Samba: its attn dict's layers, or SambaConfig's default (the odd layers) without one.
  CHECK(load_model(test::model_data_dir / "samba_fla_f32")->info().pattern ==
        "Samba [Mamba, MLP, SWA, MLP] x 2");
  CHECK(load_model(test::model_data_dir / "samba_fla_bf16_default_attn")->info().pattern ==
        "Samba [Mamba, MLP, SWA, MLP, Mamba, MLP]");
  // Conversion on request: the same checkpoint with f32 weight matrices.
  LoadOptions to_f32;
  to_f32.weight_dtype = dtype::f32;
  CHECK(load_model(test::model_data_dir / "llama_f16_sharded", to_f32)->info().weight_dtype ==
        dtype::f32);
}

TEST_CASE("Samba checkpoints of any mb_per_layer and attn_layer_pos load in their order",
          "[model][load]") {
  // lit-gpt layer i is Mamba when i % mb_per_layer == 0 (never for 0), else SWA; then its MLP.
  const auto pattern = [](const char* name) {
    return load_model(test::model_data_dir / name)->info().pattern;
  };
  CHECK(pattern("samba_mb0_f32") == "Samba [SWA, MLP] x 5");
  CHECK(pattern("samba_mb1_bf16") == "Samba [Mamba, MLP] x 5");
  CHECK(pattern("samba_mb3_f32") == "Samba [Mamba, MLP, SWA, MLP, SWA, MLP, Mamba, MLP, SWA, MLP]");
  CHECK(pattern("samba_mb4_f16") == "Samba [Mamba, MLP, SWA, MLP, SWA, MLP, SWA, MLP, Mamba, MLP]");
  // attn_layer_pos "[1, 2]" and no MLP: one block per lit-gpt layer.
  CHECK(pattern("samba_attn_pos_no_mlp_f32") == "Samba [Mamba, SWA, SWA, Mamba, Mamba]");
}
