// Reading a model's config.json: typed lookups whose errors name the file and the key.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"

namespace samba {

class JsonConfig {
 public:
  static JsonConfig read(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    detail::check(in.good(), file.string(), ": cannot open the model config");
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), file.string());
  }

  static JsonConfig parse(const std::string& text, std::string source) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    detail::check(!j.is_discarded(), source, ": not valid JSON");
    detail::check(j.is_object(), source, ": the config must be a JSON object");
    return JsonConfig(std::move(j), std::move(source));
  }

  const std::string& source() const { return source_; }
  bool has(const std::string& key) const { return json_.contains(key) && !json_[key].is_null(); }

  std::string string(const std::string& key) const {
    const auto& v = at(key);
    detail::check(v.is_string(), source_, ": '", key, "' must be a string, got ", v.dump());
    return v.get<std::string>();
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    return has(key) ? string(key) : fallback;
  }

  // The largest integer() accepted: beyond any model's sizes, and small enough that what the
  // loaders compute from two sizes (d_inner · d_model, (n_heads + 2·n_kv_heads) · head_dim, ...)
  // cannot overflow index_t.
  static constexpr index_t max_integer = index_t{1} << 30;

  // An integer in [min, max_integer] (JSON integers only: 3.5 or "3" are errors).
  index_t integer(const std::string& key, index_t min = 1) const {
    const auto& v = at(key);
    detail::check(v.is_number_integer(), source_, ": '", key, "' must be an integer, got ",
                  v.dump());
    // nlohmann keeps integers above INT64_MAX as unsigned: compare before narrowing.
    const bool too_large = v.is_number_unsigned()
                               ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(max_integer)
                               : v.get<std::int64_t>() > max_integer;
    detail::check(!too_large, source_, ": '", key, "' must be <= ", max_integer, ", got ",
                  v.dump());
    const auto value = v.get<std::int64_t>();
    detail::check(value >= min, source_, ": '", key, "' must be >= ", min, ", got ", value);
    return static_cast<index_t>(value);
  }
  index_t integer(const std::string& key, index_t fallback, index_t min) const {
    return has(key) ? integer(key, min) : fallback;
  }

  double number(const std::string& key) const {
    const auto& v = at(key);
    detail::check(v.is_number(), source_, ": '", key, "' must be a number, got ", v.dump());
    const double value = v.get<double>();
    detail::check(std::isfinite(value), source_, ": '", key, "' must be finite");
    return value;
  }
  double number(const std::string& key, double fallback) const {
    return has(key) ? number(key) : fallback;
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = json_[key];
    detail::check(v.is_boolean(), source_, ": '", key, "' must be true or false, got ", v.dump());
    return v.get<bool>();
  }

  const nlohmann::json& json() const { return json_; }

 private:
  JsonConfig(nlohmann::json j, std::string source)
      : json_(std::move(j)), source_(std::move(source)) {}

  const nlohmann::json& at(const std::string& key) const {
    detail::check(has(key), source_, ": '", key, "' is missing");
    return json_[key];
  }

  nlohmann::json json_;
  std::string source_;
};

}  // namespace samba
