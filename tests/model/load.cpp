#include <filesystem>
#include <fstream>
#include <sstream>

#include "support.hpp"

using namespace samba;

namespace {

const std::filesystem::path data_dir = SAMBA_MODEL_DATA_DIR;

std::vector<std::int32_t> read_prompt(const std::filesystem::path& dir) {
  std::ifstream in(dir / "prompt.txt");
  std::vector<std::int32_t> ids;
  std::string item;
  while (std::getline(in, item, ',')) ids.push_back(std::stoi(item));
  return ids;
}

std::vector<float> read_logits(const std::filesystem::path& dir) {
  std::ifstream in(dir / "logits.f32", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// Logits for every prompt position, feeding the prompt in chunks of `chunk` (0: all at once).
std::vector<float> run_logits(const LanguageModel& model, const std::vector<std::int32_t>& prompt,
                              index_t chunk) {
  const auto T = static_cast<index_t>(prompt.size());
  const index_t n = model.info().n_logits;
  std::vector<float> out(static_cast<std::size_t>(T * n));
  auto state = model.make_state();
  if (chunk == 0) chunk = T;
  for (index_t t = 0; t < T; t += chunk) {
    const index_t len = std::min(chunk, T - t);
    SequenceState* states[] = {state.get()};
    const index_t lengths[] = {len};
    model.forward_batch(
        states, lengths,
        std::span(prompt).subspan(static_cast<std::size_t>(t), static_cast<std::size_t>(len)),
        MatrixView<float>(out.data() + t * n, {len, n}), LogitsFor::every_token);
  }
  return out;
}

}  // namespace

TEST_CASE("checkpoints of every family reproduce the reference logits", "[model][load]") {
  const std::string name = GENERATE("mamba_f32", "mamba_bf16", "mamba_f16_sharded", "llama_f32",
                                    "llama_bf16_tied", "llama_f16_sharded", "mistral_f32",
                                    "mistral_bf16", "samba_f32", "samba_bf16", "samba_f16_sharded");
  INFO("checkpoint " << name);
  const auto dir = data_dir / name;
  const auto model = load_model(dir);
  const auto prompt = read_prompt(dir);
  const auto want = read_logits(dir);
  REQUIRE(want.size() == prompt.size() * static_cast<std::size_t>(model->info().n_logits));
  // References are computed in float64 from the stored weights, so every dtype gets the f32 bound.
  for (index_t chunk : {index_t{0}, index_t{5}, index_t{1}}) {
    INFO("chunk " << chunk);
    CHECK(test::rel_error(run_logits(*model, prompt, chunk), want) < 1e-5);
  }
}

TEST_CASE("load_model reports family, pattern and dtype", "[model][load]") {
  const auto samba = load_model(data_dir / "samba_bf16");
  CHECK(samba->info().family == "samba");
  CHECK(samba->info().pattern == "Samba [Mamba, MLP, SWA, MLP]");
  CHECK(samba->info().weight_dtype == dtype::bf16);
  CHECK(samba->info().tied_embeddings);
  CHECK(samba->info().n_logits > samba->info().vocab_size);  // padded vocabulary
  const auto mistral = load_model(data_dir / "mistral_f32");
  CHECK(mistral->info().pattern == "LlamaSWA [SWA, MLP]");
  CHECK(mistral->info().bounded_state);
  const auto llama = load_model(data_dir / "llama_f16_sharded");
  CHECK(llama->info().pattern == "Llama [attention, MLP]");
  CHECK_FALSE(llama->info().bounded_state);
  CHECK(llama->info().weight_dtype == dtype::f16);
  // Conversion on request: the same checkpoint with f32 weight matrices.
  LoadOptions to_f32;
  to_f32.weight_dtype = dtype::f32;
  CHECK(load_model(data_dir / "llama_f16_sharded", to_f32)->info().weight_dtype == dtype::f32);
}
