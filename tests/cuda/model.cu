// Checkpoints of every family on the GPU (load_model<samba::cuda>) against the PyTorch logits the
// CPU backend is tested against too (tests/model/data), whole, in chunks and token by token.
#include <cstring>
#include <filesystem>
#include <fstream>

#include <samba/cuda.cuh>

#include "support.cuh"

namespace samba {
namespace {

const std::filesystem::path data_dir = SAMBA_MODEL_DATA_DIR;

std::vector<std::int32_t> read_prompt(const std::filesystem::path& dir) {
  std::ifstream in(dir / "prompt.txt");
  std::vector<std::int32_t> ids;
  std::string item;
  while (std::getline(in, item, ',')) ids.push_back(std::stoi(item));
  return ids;
}

HostBuffer<float> read_logits(const std::filesystem::path& dir) {
  std::ifstream in(dir / "logits.f32", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HostBuffer<float> v(static_cast<index_t>(bytes.size() / 4));
  std::memcpy(v.data(), bytes.data(), v.bytes());
  return v;
}

HostBuffer<float> run_logits(const LanguageModel& model, const std::vector<std::int32_t>& prompt,
                             index_t chunk) {
  const auto T = static_cast<index_t>(prompt.size());
  const index_t n = model.info().n_logits;
  HostBuffer<float> out(T * n);
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

double tolerance(dtype t) {
  return t == dtype::f32    ? test::tolerance_v<float>
         : t == dtype::bf16 ? test::tolerance_v<bf16>
                            : test::tolerance_v<f16>;
}

TEST_CASE("CUDA: checkpoints of every family reproduce the reference logits", "[cuda][model]") {
  const std::string name = GENERATE("mamba_f32", "mamba_bf16", "mamba_f16_sharded", "llama_f32",
                                    "llama_bf16_tied", "llama_f16_sharded", "mistral_f32",
                                    "mistral_bf16", "samba_f32", "samba_bf16", "samba_f16_sharded");
  INFO("checkpoint " << name);
  const auto dir = data_dir / name;
  const auto model = load_model<cuda>(dir);
  const auto prompt = read_prompt(dir);
  const auto want = read_logits(dir);
  REQUIRE(want.size() == static_cast<index_t>(prompt.size()) * model->info().n_logits);
  for (index_t chunk : {index_t{0}, index_t{5}, index_t{1}}) {
    INFO("chunk " << chunk);
    CHECK(test::rel_error(run_logits(*model, prompt, chunk), want) <
          tolerance(model->info().weight_dtype));
  }
}

TEST_CASE("CUDA: last-token logits of a batch == those rows of every-token logits",
          "[cuda][model]") {
  const auto model = load_model<cuda>(data_dir / "samba_f32");
  const auto prompt = read_prompt(data_dir / "samba_f32");
  const index_t n = model->info().n_logits, a = 7, b = static_cast<index_t>(prompt.size()) - a;
  const auto every = run_logits(*model, prompt, 0);
  auto s1 = model->make_state(), s2 = model->make_state();
  SequenceState* states[] = {s1.get(), s2.get()};
  const index_t lengths[] = {a, b};
  // Sequence 2 is the prompt's tail from a fresh state, so only sequence 1's row is comparable.
  HostBuffer<float> last(2 * n);
  model->forward_batch(states, lengths, prompt, last.view<2>({2, n}), LogitsFor::last_token);
  HostBuffer<float> want(n), got(n);
  std::copy_n(every.data() + (a - 1) * n, n, want.data());
  std::copy_n(last.data(), n, got.data());
  CHECK(test::rel_error(got, want) < 1e-5);
}

}  // namespace
}  // namespace samba
