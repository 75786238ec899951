// The phi4flash family beyond its logits (model/load.cpp runs those): the layout it reads, its
// state, and the configs and checkpoints it refuses, each with a one-line error.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "model/checkpoints.hpp"
#include "model/safetensors_writer.hpp"
#include "support.hpp"

using namespace samba;

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// phi4flash_f32 copied into dir, its config changed by edit.
template <class Edit>
std::filesystem::path edited_copy(const test::TempDir& dir, const std::string& name, Edit edit) {
  const auto src = test::model_data_dir / "phi4flash_f32";
  const auto dst = dir / name;
  std::filesystem::create_directories(dst);
  std::filesystem::copy_file(src / "model.safetensors", dst / "model.safetensors");
  auto config = nlohmann::json::parse(read_text(src / "config.json"));
  edit(config);
  test::write_bytes(dst / "config.json", config.dump(2));
  return dst;
}

// The error load_model throws for dir (empty: none).
std::string load_error(const std::filesystem::path& dir) {
  try {
    load_model(dir);
  } catch (const samba::error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("phi4flash: the published layout, and a state that grows only in the shared cache",
          "[model][phi4flash]") {
  const auto model = load_model(test::model_data_dir / "phi4flash_f32");
  const auto& info = model->info();
  CHECK(info.family == "phi4flash");
  CHECK(info.pattern ==
        "SambaY [Mamba, SWA, Mamba, SWA, memory Mamba, shared attention, GMU, cross-attention] "
        "(each layer with an MLP)");
  CHECK(info.n_blocks == 9);  // 4 self-decoder layers × (mixer, MLP), then the cross-decoder
  CHECK(info.tied_embeddings);
  CHECK_FALSE(info.bounded_state);
  // Past the window, a sequence grows only by the shared layer's keys and values: 2 · n_kv_heads ·
  // head_dim = 2 · 2 · 4 floats per token (a one-chunk prompt sizes its caches exactly).
  auto bytes_after = [&](index_t T) {
    auto state = model->make_state();
    const std::vector<std::int32_t> prompt(static_cast<std::size_t>(T), 7);
    HostBuffer<float> logits(T * info.n_logits);
    SequenceState* states[] = {state.get()};
    const index_t lengths[] = {T};
    model->forward_batch(states, lengths, prompt, logits.view<2>({T, info.n_logits}),
                         LogitsFor::every_token);
    REQUIRE(state->position() == T);
    return state->bytes();
  };
  CHECK(bytes_after(80) - bytes_after(40) == 40 * 2 * 2 * 4 * sizeof(float));
}

TEST_CASE("phi4flash: configs and checkpoints it cannot take are one-line errors",
          "[model][phi4flash]") {
  test::TempDir dir;
  auto check_refused = [&](const std::string& name, auto edit, const std::string& want) {
    INFO(name);
    const std::string e = load_error(edited_copy(dir, name, edit));
    CHECK_THAT(e, Catch::Contains(want));
    CHECK(e.find('\n') == std::string::npos);
  };
  check_refused(
      "layers_odd", [](auto& c) { c["num_hidden_layers"] = 7; },
      "'num_hidden_layers' is 7; SambaY splits its layers in two equal halves");
  check_refused(
      "layers_split", [](auto& c) { c["num_hidden_layers"] = 6; },
      "layer 3 is shared attention; samba builds the SambaY layout");
  check_refused(
      "mb_3", [](auto& c) { c["mb_per_layer"] = 3; },
      "layer 2 is full attention in the self-decoder");
  check_refused(
      "kv_heads", [](auto& c) { c["num_key_value_heads"] = 3; },
      "'num_attention_heads' (4) is not divisible by 'num_key_value_heads' (3)");
  check_refused(
      "heads", [](auto& c) { c["num_attention_heads"] = 3; },
      "'hidden_size' (16) is not divisible by 'num_attention_heads' (3)");
  check_refused(
      "heads_odd",
      [](auto& c) {
        c["num_attention_heads"] = 2;
        c["num_key_value_heads"] = 1;
      },
      "must be even");
  check_refused(
      "mlp_bias", [](auto& c) { c["mlp_bias"] = true; }, "'mlp_bias': true");
  check_refused(
      "window_list",
      [](auto& c) {
        c["sliding_window"] =
            nlohmann::json::array({nullptr, 6, nullptr, 4, nullptr, nullptr, nullptr, nullptr});
      },
      "'sliding_window' entry 3 is 4");
  check_refused(
      "act", [](auto& c) { c["hidden_act"] = "gelu"; }, "'hidden_act' \"gelu\"");

  // Tied, with an lm_head.weight saved anyway (phi4flash_f16_sharded's config untied, its head
  // kept): the published model ties the head to the embedding, so the copy is read and ignored.
  {
    const auto src = test::model_data_dir / "phi4flash_f16_sharded";
    const auto dst = dir / "tied_with_head";
    std::filesystem::create_directories(dst);
    for (const auto& f : std::filesystem::directory_iterator(src))
      if (f.path().filename() != "config.json")
        std::filesystem::copy_file(f.path(), dst / f.path().filename());
    auto config = nlohmann::json::parse(read_text(src / "config.json"));
    config["tie_word_embeddings"] = true;
    test::write_bytes(dst / "config.json", config.dump(2));
    const auto model = load_model(dst);
    CHECK(model->info().tied_embeddings);
  }

  // A checkpoint without one of the λ vectors: its name in the header is changed.
  const auto missing = edited_copy(dir, "missing_lambda", [](auto&) {});
  std::string bytes = read_text(missing / "model.safetensors");
  const std::string key = "model.layers.3.attn.inner_cross_attn.lambda_k2";
  const auto at = bytes.find(key);
  REQUIRE(at != std::string::npos);
  bytes[at + key.size() - 1] = '9';  // lambda_k9
  test::write_bytes(missing / "model.safetensors", bytes);
  const std::string e = load_error(missing);
  CHECK_THAT(e,
             Catch::Contains("tensor 'model.layers.3.attn.inner_cross_attn.lambda_k2' not found"));
  CHECK(e.find('\n') == std::string::npos);
}
