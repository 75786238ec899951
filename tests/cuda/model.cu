// Checkpoints of every family on the GPU (load_model<samba::cuda>) against the PyTorch logits the
// CPU backend is tested against too (tests/model/data), whole, in chunks and token by token.
#include <samba/cuda.cuh>

#include "cuda/support.cuh"
#include "model/checkpoints.hpp"

namespace samba {
namespace {

using test::read_logits;
using test::read_prompt;
using test::run_logits;

double tolerance(dtype t) {
  return t == dtype::f32    ? test::tolerance_v<float>
         : t == dtype::bf16 ? test::tolerance_v<bf16>
                            : test::tolerance_v<f16>;
}

TEST_CASE("CUDA: checkpoints of every family reproduce the reference logits", "[cuda][model]") {
  const std::string name = GENERATE(from_range(test::checkpoint_names));
  INFO("checkpoint " << name);
  const auto dir = test::model_data_dir / name;
  const auto model = load_model<cuda>(dir);
  const auto prompt = read_prompt(dir);
  const auto want = read_logits(dir);
  REQUIRE(want.size() == prompt.size() * static_cast<std::size_t>(model->info().n_logits));
  for (index_t chunk : {index_t{0}, index_t{5}, index_t{1}}) {
    INFO("chunk " << chunk);
    CHECK(test::rel_error(run_logits(*model, prompt, chunk), want) <
          tolerance(model->info().weight_dtype));
  }
}

TEST_CASE("CUDA: last-token logits of a batch == those rows of every-token logits",
          "[cuda][model]") {
  const auto model = load_model<cuda>(test::model_data_dir / "samba_f32");
  const auto prompt = read_prompt(test::model_data_dir / "samba_f32");
  const index_t n = model->info().n_logits, a = 7, b = static_cast<index_t>(prompt.size()) - a;
  const auto every = run_logits(*model, prompt, 0);
  auto s1 = model->make_state(), s2 = model->make_state();
  SequenceState* states[] = {s1.get(), s2.get()};
  const index_t lengths[] = {a, b};
  // Sequence 2 is the prompt's tail from a fresh state, so only sequence 1's row is comparable.
  std::vector<float> last(static_cast<std::size_t>(2 * n));
  model->forward_batch(states, lengths, prompt, MatrixView<float>(last.data(), {2, n}),
                       LogitsFor::last_token);
  const std::vector<float> want(every.begin() + (a - 1) * n, every.begin() + a * n);
  const std::vector<float> got(last.begin(), last.begin() + n);
  CHECK(test::rel_error(got, want) < 1e-5);
}

}  // namespace
}  // namespace samba
