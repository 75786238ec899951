#include "model/checkpoints.hpp"
#include "support.hpp"

using namespace samba;

TEST_CASE("the family registry: one table for load_model, the CLI and the errors",
          "[model][registry]") {
  const auto families = supported_families();
  REQUIRE(families.size() == 11);
  CHECK(families[0].model_type == "mamba");
  CHECK(families[4].model_type == "samba");
  CHECK(families[5].model_type == "samba");
  CHECK(families[6].model_type == "gla");
  CHECK(families[7].model_type == "retnet");
  CHECK(families[8].model_type == "nemotron_h");
  CHECK(families[9].model_type == "recurrent_gemma");
  CHECK(families[10].model_type == "phi4flash");
  CHECK(supported_model_types() ==
        "mamba, mamba2, llama, mistral, samba, gla, retnet, nemotron_h, recurrent_gemma, "
        "phi4flash");
  // Every family has a test checkpoint (the fuzz harness loads its configs against it).
  for (const FamilyInfo& f : families) {
    INFO(f.model_type);
    CHECK(
        std::filesystem::is_directory(test::model_data_dir / (std::string(f.model_type) + "_f32")));
    CHECK(!f.layout.empty());
  }

  const auto config = [](const std::string& text) { return JsonConfig::parse(text, "c.json"); };
  CHECK(family_of(config(R"({"model_type": "samba", "n_embd": 8})")).layout == SambaFamily::layout);
  CHECK(family_of(config(R"({"model_type": "mistral"})")).model_type == "mistral");
  CHECK_THROWS_WITH(family_of(config(R"({"model_type": "gpt2"})")),
                    "c.json: model_type \"gpt2\" is not supported (samba reads mamba, mamba2, "
                    "llama, mistral, samba, gla, retnet, nemotron_h, recurrent_gemma, phi4flash)");
  // model_type "samba" in both layouts: lit-gpt's keys (n_embd) and fla's (hidden_size).
  CHECK(family_of(config(R"({"model_type": "samba", "hidden_size": 8})")).layout ==
        FlaSambaFamily::layout);
  CHECK_THROWS_WITH(family_of(config(R"({"n_embd": 8})")), "c.json: 'model_type' is missing");
}
