// A test-only safetensors writer: good files laid out as the Python writers do (header padded with
// spaces to a multiple of 8, tensors back to back), raw bytes for hostile ones, and a temp dir.
#pragma once

#include <stdlib.h>  // mkdtemp

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <samba/core/dtype.hpp>
#include <samba/core/tensor.hpp>

namespace samba::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "samba-safetensors-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// The 8-byte little-endian length of `header`, the header, then `data`: exactly these bytes.
inline std::string safetensors_bytes(std::string_view header, std::string_view data = {}) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  out += data;
  return out;
}

// The raw little-endian bytes of `values` stored as T.
template <StorageType T>
std::string stored_bytes(std::span<const float> values) {
  std::string out(values.size() * sizeof(T), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const T v = from_float<T>(values[i]);
    std::memcpy(out.data() + i * sizeof(T), &v, sizeof(T));
  }
  return out;
}

template <StorageType T>
constexpr const char* dtype_string() {
  if constexpr (std::is_same_v<T, float>)
    return "F32";
  else if constexpr (std::is_same_v<T, bf16>)
    return "BF16";
  else
    return "F16";
}

// Builds a well-formed file tensor by tensor, in the order added.
class SafetensorsWriter {
 public:
  template <StorageType T>
  SafetensorsWriter& add(const std::string& name, std::vector<std::int64_t> shape,
                         std::span<const float> values) {
    return add_raw(name, dtype_string<T>(), std::move(shape), stored_bytes<T>(values));
  }

  // Any dtype string and bytes: the header says what it is told.
  SafetensorsWriter& add_raw(const std::string& name, const std::string& dtype,
                             std::vector<std::int64_t> shape, const std::string& bytes) {
    header_[name] = {{"dtype", dtype},
                     {"shape", std::move(shape)},
                     {"data_offsets", {data_.size(), data_.size() + bytes.size()}}};
    data_ += bytes;
    return *this;
  }

  SafetensorsWriter& metadata(const std::string& key, const std::string& value) {
    header_["__metadata__"][key] = value;
    return *this;
  }

  // The JSON header, padded with spaces to a multiple of `pad` bytes.
  std::string header(std::size_t pad = 8) const {
    std::string text = header_.dump();
    while (text.size() % pad != 0) text += ' ';
    return text;
  }
  const std::string& data() const { return data_; }
  std::string bytes(std::size_t pad = 8) const { return safetensors_bytes(header(pad), data_); }
  void write(const std::filesystem::path& file, std::size_t pad = 8) const {
    write_bytes(file, bytes(pad));
  }

 private:
  nlohmann::ordered_json header_ = nlohmann::ordered_json::object();
  std::string data_;
};

}  // namespace samba::test
