// config.json as Python's json module writes it: bare Infinity, -Infinity and NaN.
#include <cmath>

#include "support.hpp"

using namespace samba;

TEST_CASE("JsonConfig reads Python's Infinity, -Infinity and NaN, and only outside strings",
          "[model][config]") {
  const auto cfg = JsonConfig::parse(
      R"({"time_step_limit": [0.0, Infinity], "low": -Infinity, "odd": NaN,
          "name": "Infinity and NaN \" -Infinity", "nested": {"x": [1, {"y": Infinity}]},
          "size": 3})",
      "config.json");
  const auto& limit = cfg.json()["time_step_limit"];
  CHECK(cfg.number_or_infinity(limit[0], "time_step_limit") == 0.0);
  CHECK(cfg.number_or_infinity(limit[1], "time_step_limit") == INFINITY);
  CHECK(cfg.number_or_infinity(cfg.json()["low"], "low") == -INFINITY);
  CHECK(std::isnan(cfg.json()["odd"].get<double>()));
  CHECK(cfg.json()["nested"]["x"][1]["y"].get<double>() == INFINITY);
  CHECK(cfg.string("name") == "Infinity and NaN \" -Infinity");  // strings untouched
  CHECK(cfg.integer("size") == 3);
  // The typed getters keep their rules: number() wants finite values, strings stay strings.
  CHECK_THROWS_WITH(cfg.number("low"), Catch::Contains("'low' must be finite"));
  CHECK_THROWS_WITH(cfg.number_or_infinity(cfg.json()["odd"], "odd"),
                    Catch::Contains("'odd' must not be NaN"));
  CHECK_THROWS_WITH(cfg.integer("low"), Catch::Contains("'low' must be an integer"));
  // Still not JSON: a bare word that is none of the three, or one cut short.
  CHECK_THROWS_WITH(JsonConfig::parse(R"({"a": Infinite})", "c.json"),
                    Catch::Contains("c.json: not valid JSON"));
  CHECK_THROWS_WITH(JsonConfig::parse(R"({"a": Infin})", "c.json"),
                    Catch::Contains("c.json: not valid JSON"));
}
