// What the fuzz targets run on one input, shared with the Catch2 test that replays the inputs that
// once crashed (tests/model/fuzz_inputs.cpp). Each function either returns or throws
// samba::error; anything else (a crash, a sanitizer report, another exception) is a bug.
//
//   safetensors_input: byte 0 picks the mode, the rest is a file. Even: the file is a
//     model.safetensors, opened and every tensor loaded as f32, bf16 and f16. Odd: the file is a
//     model.safetensors.index.json beside the two shards of tests/model/data/llama_f16_sharded.
//   config_input: the bytes are a config.json, loaded (load_model) against the f32 checkpoint of
//     the family its model_type names (every family of model/registry.hpp has one); a model that
//     loads runs a three-token prompt.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <samba/samba.hpp>

#ifndef SAMBA_MODEL_DATA_DIR
#error "SAMBA_MODEL_DATA_DIR must name tests/model/data"
#endif

namespace samba_fuzz {

namespace fs = std::filesystem;

// A directory of this process's own, created on first use under $TMPDIR (or /tmp) and removed at
// exit.
inline const fs::path& scratch_dir() {
  struct Dir {
    fs::path path;
    Dir() {
      std::string pattern = (fs::temp_directory_path() / "samba-fuzz-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      path = pattern;
    }
    ~Dir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };
  static const Dir dir;
  return dir.path;
}

inline void write_file(const fs::path& file, std::span<const std::uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// Every tensor loaded as each storage type, with its own shape; then the checks on the whole.
inline void load_everything(samba::SafeTensors& st) {
  for (const auto& name : st.names()) {
    const samba::Shape shape = st.info(name).shape;
    (void)st.load<float>(name, shape);
    (void)st.load<samba::bf16>(name, shape);
    (void)st.load<samba::f16>(name, shape);
  }
  (void)st.dominant_dtype();
  st.check_all_used();
}

inline void safetensors_input(std::span<const std::uint8_t> input) {
  if (input.empty()) return;
  const bool index = (input[0] & 1) != 0;
  const auto file = input.subspan(1);
  const fs::path dir = scratch_dir() / (index ? "sharded" : "single");
  if (!fs::exists(dir)) {
    fs::create_directories(dir);
    if (index) {
      const fs::path shards = fs::path(SAMBA_MODEL_DATA_DIR) / "llama_f16_sharded";
      for (const char* shard :
           {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
        fs::create_symlink(shards / shard, dir / shard);
    }
  }
  const fs::path path = dir / (index ? "model.safetensors.index.json" : "model.safetensors");
  write_file(path, file);
  samba::SafeTensors st = samba::SafeTensors::open(path);
  load_everything(st);
}

// The f32 checkpoint of each family, opened once; each input loads from a fresh copy.
inline const samba::SafeTensors& checkpoint(const std::string& family) {
  static const std::map<std::string, samba::SafeTensors> checkpoints = [] {
    std::map<std::string, samba::SafeTensors> out;
    const fs::path data = SAMBA_MODEL_DATA_DIR;
    // Every registered family has a checkpoint <model_type>_f32 in tests/model/data.
    for (const samba::FamilyInfo& f : samba::supported_families()) {
      const std::string type(f.model_type);
      if (!out.contains(type)) out.emplace(type, samba::SafeTensors::open(data / (type + "_f32")));
    }
    return out;
  }();
  const auto it = checkpoints.find(family);
  return it != checkpoints.end() ? it->second : checkpoints.at("samba");
}

inline void config_input(std::span<const std::uint8_t> input) {
  const std::string text(reinterpret_cast<const char*>(input.data()), input.size());
  const samba::JsonConfig cfg = samba::JsonConfig::parse(text, "config.json");
  const std::string family =
      cfg.has("model_type") && cfg.json()["model_type"].is_string() ? cfg.string("model_type") : "";
  samba::SafeTensors st = checkpoint(family);
  const auto model = samba::load_model(cfg, st);
  samba::Session session(model);
  const std::int32_t prompt[] = {0, 1, 2};
  session.prefill(prompt, 2);
  (void)session.decode(3);
}

}  // namespace samba_fuzz
