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

TEST_CASE("load_model reports family, pattern and dtype", "[model][load]") {
  const auto samba = load_model(test::model_data_dir / "samba_bf16");
  CHECK(samba->info().family == "samba");
  CHECK(samba->info().pattern == "Samba [Mamba, MLP, SWA, MLP]");
  CHECK(samba->info().weight_dtype == dtype::bf16);
  CHECK(samba->info().tied_embeddings);
  CHECK(samba->info().n_logits > samba->info().vocab_size);  // padded vocabulary
  const auto mistral = load_model(test::model_data_dir / "mistral_f32");
  CHECK(mistral->info().pattern == "LlamaSWA [SWA, MLP]");
  CHECK(mistral->info().bounded_state);
  const auto llama = load_model(test::model_data_dir / "llama_f16_sharded");
  CHECK(llama->info().pattern == "Llama [attention, MLP]");
  CHECK_FALSE(llama->info().bounded_state);
  CHECK(llama->info().weight_dtype == dtype::f16);
  // Conversion on request: the same checkpoint with f32 weight matrices.
  LoadOptions to_f32;
  to_f32.weight_dtype = dtype::f32;
  CHECK(load_model(test::model_data_dir / "llama_f16_sharded", to_f32)->info().weight_dtype ==
        dtype::f32);
}
