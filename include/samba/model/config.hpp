// Reading a model's config.json: typed lookups whose errors name the file and the key.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

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

  // JSON as Python's json module writes it: besides strict JSON, the bare values Infinity,
  // -Infinity and NaN (released Mamba-2 configs hold "time_step_limit": [0.0, Infinity]), which
  // become those doubles. number() still refuses them; number_or_infinity() takes ±Infinity.
  static JsonConfig parse(const std::string& text, std::string source) {
    nlohmann::json j =
        nlohmann::json::parse(quote_python_constants(text), nullptr, /*allow_exceptions=*/false);
    detail::check(!j.is_discarded(), source, ": not valid JSON");
    detail::check(j.is_object(), source, ": the config must be a JSON object");
    restore_python_constants(j);
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
  // A number that may also be +Infinity or -Infinity (never NaN); v: the value itself.
  double number_or_infinity(const nlohmann::json& v, const std::string& what) const {
    detail::check(v.is_number(), source_, ": '", what, "' must be a number, got ", v.dump());
    const double value = v.get<double>();
    detail::check(!std::isnan(value), source_, ": '", what, "' must not be NaN");
    return value;
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

  // The marker that stands in for a Python constant while strict JSON is parsed: a string no
  // config holds (it starts with a control character, which JSON must escape).
  static constexpr std::string_view python_marker = "\x01python:";

  // Bare Infinity, -Infinity and NaN outside strings → the marker string of each.
  static std::string quote_python_constants(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        out += c;
        if (c == '\\' && i + 1 < text.size())
          out += text[++i];
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      bool replaced = false;
      for (const std::string_view word : {"-Infinity", "Infinity", "NaN"})
        if (text.compare(i, word.size(), word) == 0) {
          out += '"';
          out += "\\u0001python:";
          out += word;
          out += '"';
          i += word.size() - 1;
          replaced = true;
          break;
        }
      if (!replaced) out += c;
    }
    return out;
  }

  // The marker strings → their doubles, anywhere in the document.
  static void restore_python_constants(nlohmann::json& j) {
    if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      if (s.starts_with(python_marker)) {
        const std::string_view word = std::string_view(s).substr(python_marker.size());
        j = word == "NaN"         ? std::numeric_limits<double>::quiet_NaN()
            : word == "-Infinity" ? -std::numeric_limits<double>::infinity()
                                  : std::numeric_limits<double>::infinity();
      }
    } else if (j.is_structured()) {
      for (auto& item : j) restore_python_constants(item);
    }
  }

  nlohmann::json json_;
  std::string source_;
};

}  // namespace samba
