// The checkpoints of tests/model/data (every family, f32/bf16/f16, written by generate.py with the
// PyTorch logits of their prompt), and how the tests read and run them: on the CPU
// (model/load.cpp) and on the GPU (cuda/model.cu). Plain C++, no Eigen.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include <samba/model/language_model.hpp>

namespace samba::test {

inline const std::filesystem::path model_data_dir = SAMBA_MODEL_DATA_DIR;

inline constexpr std::array<const char*, 37> checkpoint_names = {"mamba_f32",
                                                                 "mamba_bf16",
                                                                 "mamba_f16_sharded",
                                                                 "mamba2_f32",
                                                                 "mamba2_bf16_tied",
                                                                 "mamba2_f16_sharded",
                                                                 "nemotron_h_f32",
                                                                 "nemotron_h_bf16_tied",
                                                                 "nemotron_h_f16_sharded",
                                                                 "gla_f32",
                                                                 "gla_bf16_tied",
                                                                 "gla_f16_sharded",
                                                                 "retnet_f32",
                                                                 "retnet_bf16_tied",
                                                                 "retnet_f16_sharded",
                                                                 "recurrent_gemma_f32",
                                                                 "recurrent_gemma_bf16",
                                                                 "recurrent_gemma_f16_sharded",
                                                                 "llama_f32",
                                                                 "llama_bf16_tied",
                                                                 "llama_f16_sharded",
                                                                 "mistral_f32",
                                                                 "mistral_bf16",
                                                                 "samba_f32",
                                                                 "samba_bf16",
                                                                 "samba_f16_sharded",
                                                                 "samba_mb0_f32",
                                                                 "samba_mb1_bf16",
                                                                 "samba_mb3_f32",
                                                                 "samba_mb4_f16",
                                                                 "samba_attn_pos_no_mlp_f32",
                                                                 "samba_fla_f32",
                                                                 "samba_fla_bf16_default_attn",
                                                                 "samba_fla_f16_sharded",
                                                                 "phi4flash_f32",
                                                                 "phi4flash_bf16",
                                                                 "phi4flash_f16_sharded"};

inline std::vector<std::int32_t> read_prompt(const std::filesystem::path& dir) {
  std::ifstream in(dir / "prompt.txt");
  std::vector<std::int32_t> ids;
  std::string item;
  while (std::getline(in, item, ',')) ids.push_back(std::stoi(item));
  return ids;
}

inline std::vector<float> read_logits(const std::filesystem::path& dir) {
  std::ifstream in(dir / "logits.f32", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// Logits for every prompt position, feeding the prompt in chunks of `chunk` (0: all at once).
inline std::vector<float> run_logits(const LanguageModel& model,
                                     const std::vector<std::int32_t>& prompt, index_t chunk) {
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

}  // namespace samba::test
