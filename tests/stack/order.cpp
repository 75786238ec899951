#include "support.hpp"

using namespace samba;

TEST_CASE("block orders from the conventions of config files", "[stack][order]") {
  CHECK(cyclic_order(7, 3) == std::vector<index_t>{0, 1, 2, 0, 1, 2, 0});
  CHECK(cyclic_order(0, 2).empty());
  CHECK_THROWS_WITH(cyclic_order(3, 0), Catch::Contains("n_slots > 0"));

  // Nemotron-H style: one character per block.
  CHECK(parse_order("M-M*-", "M-*") == std::vector<index_t>{0, 1, 0, 2, 1});
  CHECK(parse_order("", "M-*").empty());
  CHECK_THROWS_WITH(parse_order("M-E-", "M-*", "config.json: 'hybrid_override_pattern'"),
                    "config.json: 'hybrid_override_pattern': unknown block symbol 'E' at position "
                    "2 of \"M-E-\" (known: 'M', '-', '*')");

  // Granite / RecurrentGemma style: one name per block.
  const std::string_view known[] = {"mamba", "attention"};
  const std::vector<std::string> names = {"mamba", "mamba", "attention", "mamba"};
  CHECK(order_from_names(names, known) == std::vector<index_t>{0, 0, 1, 0});
  const std::vector<std::string> bad = {"mamba", "moe"};
  CHECK_THROWS_WITH(order_from_names(bad, known, "layer_types"),
                    "layer_types: unknown block type \"moe\" at index 1 (known: \"mamba\", "
                    "\"attention\")");

  // Samba's mb_per_layer / Jamba's attn_layer_period and offset: a predicate.
  CHECK(order_where(
            7, [](index_t b) { return b % 4 == 2; }, 1, 0) ==
        std::vector<index_t>{0, 0, 1, 0, 0, 0, 1});
}

TEST_CASE("describe_order finds the repeating period", "[stack][order]") {
  const std::string_view names[] = {"Mamba", "MLP", "SWA"};
  CHECK(describe_order(cyclic_order(8, 2), names) == "[Mamba, MLP] x 4");
  CHECK(describe_order(std::vector<index_t>{0, 1, 2, 1, 0, 1, 2, 1, 0, 1}, names) ==
        "[Mamba, MLP, SWA, MLP] x 2 + [Mamba, MLP]");
  CHECK(describe_order(std::vector<index_t>{0, 0, 0}, names) == "[Mamba] x 3");
  // No period that repeats twice: block by block.
  CHECK(describe_order(std::vector<index_t>{0, 1, 2, 1, 2, 1}, names) ==
        "[Mamba, MLP, SWA, MLP, SWA, MLP]");
  CHECK(describe_order(std::vector<index_t>{2}, names) == "[SWA]");
  CHECK(describe_order(std::vector<index_t>{}, names) == "[]");
  CHECK(describe_order(std::vector<index_t>{3, 3}, names) == "[slot 3] x 2");
}
