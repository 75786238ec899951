// Safetensors checkpoints: validated, memory-mapped, and loaded into Tensors without copying.
//
// A .safetensors file is an 8-byte little-endian length N, N bytes of UTF-8 JSON, then the data:
//
//   {"embed.weight": {"dtype": "BF16", "shape": [32000, 768], "data_offsets": [0, 49152000]}, ...,
//    "__metadata__": {"format": "pt"}}
//
// with data_offsets [begin, end) counted from the start of the data region (byte 8 + N). A sharded
// checkpoint is a directory with model.safetensors.index.json, whose "weight_map" maps each tensor
// name to the shard file (in the same directory) that holds it.
//
// SafeTensors::open maps every file read-only (MAP_PRIVATE) and checks the whole header before any
// byte of data is used: sizes, JSON, types, dtypes, shapes against byte ranges (without overflow),
// ranges inside the file and not overlapping, and, for shards, that the index and the shards agree
// exactly. Every failure is a samba::error naming the file and the tensor. A load of the stored
// dtype borrows the mapping: the Tensor's shared owner is the mapping, so tensors stay valid after
// the SafeTensors object is gone (and after the file is deleted). Other dtypes, and data that is
// not aligned for the element type, are converted into new storage.
//
// POSIX only (mmap). A file changed or truncated by another process while mapped is not detected
// (reads past a truncation raise SIGBUS), as with any mmap-based reader.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "samba/core/dtype.hpp"
#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"

namespace samba {

// Where one tensor of a checkpoint lives.
struct TensorInfo {
  std::string name;
  dtype type = dtype::f32;
  Shape shape;
  std::filesystem::path file;      // the .safetensors file (the shard, when sharded)
  std::size_t begin = 0, end = 0;  // byte range within that file's data region
};

namespace safetensors_detail {

using json = nlohmann::json;

// The largest header accepted (the reference implementation's limit).
inline constexpr std::uint64_t max_header_bytes = 100ull * 1024 * 1024;

inline std::optional<dtype> parse_dtype(std::string_view s) {
  if (s == "F32") return dtype::f32;
  if (s == "F16") return dtype::f16;
  if (s == "BF16") return dtype::bf16;
  return std::nullopt;
}

inline std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::f32:
      return "F32";
    case dtype::bf16:
      return "BF16";
    case dtype::f16:
      return "F16";
  }
  return "?";
}

// Closes a file descriptor on scope exit.
struct FileDescriptor {
  int fd = -1;
  explicit FileDescriptor(int f) : fd(f) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// Throws "<file><what><strerror(errno)>", reading errno before anything can change it.
[[noreturn]] inline void fail_errno(const std::filesystem::path& file, std::string_view what) {
  const int err = errno;
  detail::fail(file.string(), what, std::error_code(err, std::generic_category()).message());
}

// A whole file mapped read-only and private; unmapped when the last owner (a SafeTensors or a
// borrowed Tensor) lets go. An empty file has no mapping (mmap of 0 bytes fails) and data() null.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& file) {
    const FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) fail_errno(file, ": cannot open: ");
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0) fail_errno(file, ": cannot stat: ");
    detail::check(S_ISREG(st.st_mode), file.string(), ": not a regular file");
    detail::check(st.st_size >= 0 && static_cast<std::uintmax_t>(st.st_size) <=
                                         std::numeric_limits<std::size_t>::max(),
                  file.string(), ": file size ", st.st_size, " cannot be mapped");
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) return std::shared_ptr<const MappedFile>(new MappedFile(nullptr, 0));
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (addr == MAP_FAILED) fail_errno(file, ": cannot map the file: ");
    return std::shared_ptr<const MappedFile>(new MappedFile(addr, size));  // the fd closes here
  }

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
  }

  const std::byte* data() const { return static_cast<const std::byte*>(addr_); }
  std::size_t size() const { return size_; }
  std::string_view text(std::size_t offset, std::size_t count) const {
    return {reinterpret_cast<const char*>(data()) + offset, count};
  }

 private:
  MappedFile(void* addr, std::size_t size) : addr_(addr), size_(size) {}
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

// Parses JSON text; `what` starts each message ("<file>: header"). nlohmann keeps the last of
// duplicate keys silently, so a parser callback records keys per object and rejects repeats.
inline json parse_json(std::string_view text, const std::string& what) {
  std::vector<std::set<std::string, std::less<>>> keys;  // one set per open object
  std::optional<std::string> duplicate;
  const json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!duplicate && !keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get_ref<const std::string&>()).second)
          duplicate = parsed.get_ref<const std::string&>();
        break;
      default:
        break;
    }
    return true;
  };
  // nlohmann's lexer ends the input at a NUL byte and ignores the rest; valid JSON has none.
  const std::size_t nul = text.find('\0');
  detail::check(nul == std::string_view::npos, what, " is not valid JSON: NUL byte at offset ",
                nul);
  json j;
  try {
    j = json::parse(text.data(), text.data() + text.size(), on_event);
  } catch (const json::exception& e) {
    detail::fail(what, " is not valid JSON: ", e.what());
  }
  detail::check(!duplicate, what, " has a duplicate key '", duplicate.value_or(""), "'");
  return j;
}

// A JSON integer ≥ 0 (nlohmann reads non-negative integers as unsigned, "-0" as signed 0).
inline std::optional<std::uint64_t> as_non_negative(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

inline TensorInfo parse_entry(const std::filesystem::path& file, const std::string& name,
                              const json& entry, std::uint64_t data_size) {
  const std::string f = file.string();
  detail::check(entry.is_object(), f, ": entry for tensor '", name, "' is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    detail::check(entry.contains(field), f, ": tensor '", name, "' has no \"", field, "\"");

  TensorInfo info;
  info.name = name;
  info.file = file;

  const json& type = entry.at("dtype");
  detail::check(type.is_string(), f, ": tensor '", name, "': \"dtype\" must be a string");
  const auto parsed = parse_dtype(type.get_ref<const std::string&>());
  detail::check(parsed.has_value(), f, ": unsupported dtype '", type.get_ref<const std::string&>(),
                "' for tensor '", name, "' (samba reads F32, F16, BF16)");
  info.type = *parsed;

  const json& shape = entry.at("shape");
  constexpr const char* bad_shape = "\"shape\" must be an array of non-negative integers";
  detail::check(shape.is_array(), f, ": tensor '", name, "': ", bad_shape);
  detail::check(shape.size() <= max_rank, f, ": tensor '", name, "' has rank ", shape.size(),
                " (samba supports at most ", max_rank, ")");
  std::array<index_t, max_rank> dims{};
  // The product of the nonzero dimensions must fit in index_t, so that no product or stride that
  // Shape and TensorView compute from them can overflow, even for a zero-size tensor.
  constexpr auto max_index = static_cast<std::uint64_t>(std::numeric_limits<index_t>::max());
  std::uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const auto d = as_non_negative(shape[i]);
    detail::check(d.has_value(), f, ": tensor '", name, "': ", bad_shape);
    detail::check(*d <= max_index, f, ": tensor '", name, "': dimension ", *d,
                  " overflows a 64-bit signed size");
    dims[i] = static_cast<index_t>(*d);
    if (*d == 0) {
      has_zero = true;
    } else {
      detail::check(nonzero_product <= max_index / *d, f, ": tensor '", name, "': shape ",
                    shape.dump(), " overflows a 64-bit element count");
      nonzero_product *= *d;
    }
  }
  info.shape = Shape(std::span<const index_t>(dims.data(), shape.size()));
  const std::uint64_t numel = has_zero ? 0 : nonzero_product;
  const std::uint64_t elem = size_of(info.type);
  detail::check(numel <= std::numeric_limits<std::uint64_t>::max() / elem, f, ": tensor '", name,
                "': shape ", info.shape, " of ", dtype_name(info.type),
                " overflows a 64-bit byte count");
  const std::uint64_t bytes = numel * elem;

  const json& offsets = entry.at("data_offsets");
  std::optional<std::uint64_t> begin, end;
  if (offsets.is_array() && offsets.size() == 2) {
    begin = as_non_negative(offsets[0]);
    end = as_non_negative(offsets[1]);
  }
  detail::check(begin && end, f, ": tensor '", name,
                "': \"data_offsets\" must be [begin, end], two non-negative integers");
  detail::check(*begin <= *end, f, ": tensor '", name, "': data_offsets [", *begin, ", ", *end,
                "] have begin > end");
  detail::check(*end <= data_size, f, ": tensor '", name, "': data_offsets [", *begin, ", ", *end,
                "] exceed the data region of ", data_size, " bytes");
  detail::check(bytes == *end - *begin, f, ": tensor '", name, "': shape ", info.shape, " of ",
                dtype_name(info.type), " needs ", bytes, " bytes, data_offsets [", *begin, ", ",
                *end, "] hold ", *end - *begin);
  info.begin = static_cast<std::size_t>(*begin);  // ≤ data_size ≤ the mapped size: fits
  info.end = static_cast<std::size_t>(*end);
  return info;
}

inline void check_metadata(const std::filesystem::path& file, const json& metadata) {
  const auto bad = [&] {
    detail::fail(file.string(), ": \"__metadata__\" must be an object of strings");
  };
  if (!metadata.is_object()) bad();
  for (const auto& item : metadata.items())
    if (!item.value().is_string()) bad();
}

// Byte ranges of distinct tensors must not share a byte (empty ranges share none).
inline void check_no_overlap(const std::filesystem::path& file,
                             const std::vector<TensorInfo>& tensors) {
  std::vector<const TensorInfo*> ranges;
  for (const auto& t : tensors)
    if (t.begin < t.end) ranges.push_back(&t);
  std::sort(ranges.begin(), ranges.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  const TensorInfo* furthest = nullptr;  // of the ranges so far, the one ending last
  for (const TensorInfo* t : ranges) {
    if (furthest != nullptr)
      detail::check(t->begin >= furthest->end, file.string(), ": tensors '", furthest->name,
                    "' (bytes [", furthest->begin, ", ", furthest->end, ")) and '", t->name,
                    "' (bytes [", t->begin, ", ", t->end, ")) overlap");
    if (furthest == nullptr || t->end > furthest->end) furthest = t;
  }
}

// One validated .safetensors file.
struct ParsedFile {
  std::shared_ptr<const MappedFile> map;
  std::size_t data_offset = 0;  // of the data region within the file: 8 + N
  std::vector<TensorInfo> tensors;
};

inline ParsedFile read_file(const std::filesystem::path& file) {
  const std::string f = file.string();
  ParsedFile out;
  out.map = MappedFile::open(file);
  const std::size_t size = out.map->size();
  detail::check(size >= 8, f, ": file is ", size, " bytes, shorter than the 8-byte header length");
  std::uint64_t n = 0;
  std::memcpy(&n, out.map->data(), sizeof n);  // little-endian on disk and (checked) on the host
  detail::check(n <= max_header_bytes, f, ": header length ", n, " exceeds the limit of ",
                max_header_bytes, " bytes");
  detail::check(n <= size - 8, f, ": header length ", n, " exceeds the ", size - 8,
                " bytes that follow the length field");
  out.data_offset = 8 + static_cast<std::size_t>(n);
  const std::uint64_t data_size = size - out.data_offset;

  const json header = parse_json(out.map->text(8, static_cast<std::size_t>(n)), f + ": header");
  detail::check(header.is_object(), f, ": header is not a JSON object");
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__")
      check_metadata(file, item.value());
    else
      out.tensors.push_back(parse_entry(file, item.key(), item.value(), data_size));
  }
  check_no_overlap(file, out.tensors);
  return out;
}

// A shard name from a weight_map must stay inside the checkpoint directory.
inline bool escapes_directory(const std::filesystem::path& shard) {
  if (shard.empty() || shard.has_root_path()) return true;
  return std::any_of(shard.begin(), shard.end(), [](const auto& part) { return part == ".."; });
}

}  // namespace safetensors_detail

// A checkpoint: one .safetensors file or a sharded directory, validated and mapped.
class SafeTensors {
 public:
  // A .safetensors file; a directory holding model.safetensors or model.safetensors.index.json
  // (model.safetensors first, as transformers does); or an index file (*.index.json) itself.
  static SafeTensors open(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    detail::check(std::endian::native == std::endian::little, path.string(),
                  ": safetensors data is little-endian and samba reads it only on little-endian "
                  "hosts");
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found)
      detail::fail(path.string(), ": no such file or directory");
    if (ec) detail::fail(path.string(), ": cannot access: ", ec.message());
    if (fs::is_directory(st)) {
      const fs::path single = path / "model.safetensors";
      const fs::path index = path / "model.safetensors.index.json";
      if (fs::exists(single, ec)) return from_file(path, single);
      if (fs::exists(index, ec)) return from_index(path, index);
      detail::fail(path.string(),
                   ": directory holds neither model.safetensors nor model.safetensors.index.json");
    }
    const std::string file_name = path.filename().string();
    if (file_name.ends_with(".index.json")) return from_index(path, path);
    return from_file(path, path);
  }

  // Tensor names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [name, e] : entries_) out.push_back(name);
    return out;
  }

  bool contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

  const TensorInfo& info(std::string_view name) const { return entry(name).info; }

  // The tensor as storage type T, after checking its shape against `expected`: borrowed from the
  // mapping when stored as T and aligned for T, otherwise converted into new storage. A zero-size
  // tensor borrows the (page-aligned) start of its file's mapping, so its data() is not null and
  // Tensor::empty() stays false. Marks the tensor as used.
  template <StorageType T>
  Tensor<T> load(std::string_view name, const Shape& expected) {
    Entry& e = entry(name);
    const TensorInfo& i = e.info;
    detail::check(i.shape == expected, i.file.string(), ": tensor '", i.name, "' has shape ",
                  i.shape, ", expected ", expected);
    const std::byte* src = e.map->data() + e.data_offset + i.begin;
    const bool aligned = reinterpret_cast<std::uintptr_t>(src) % alignof(T) == 0;
    Tensor<T> t;
    if (i.shape.numel() == 0)
      t = Tensor<T>(i.shape, e.map, reinterpret_cast<const T*>(e.map->data()));
    else if (i.type == dtype_of_v<T> && aligned)
      t = Tensor<T>(i.shape, e.map, reinterpret_cast<const T*>(src));
    else if (i.type == dtype::f32)
      t = convert<T, float>(i.shape, src);
    else if (i.type == dtype::bf16)
      t = convert<T, bf16>(i.shape, src);
    else
      t = convert<T, f16>(i.shape, src);
    e.used = true;
    return t;
  }

  // Names of the tensors never loaded, sorted.
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : entries_)
      if (!e.used) out.push_back(name);
    return out;
  }

  // Throws unless every tensor was loaded: a checkpoint with weights the model does not know is
  // more likely the wrong checkpoint (or a misspelt name) than something to ignore silently.
  void check_all_used() const {
    const auto left = unused();
    if (left.empty()) return;
    constexpr std::size_t shown = 5;
    std::string list;
    for (std::size_t i = 0; i < std::min(left.size(), shown); ++i)
      list += (i ? ", '" : "'") + left[i] + "'";
    if (left.size() > shown) list += ", ... (" + std::to_string(left.size() - shown) + " more)";
    detail::fail(path_.string(), ": ", left.size(), " of ", entries_.size(),
                 " tensors were never loaded: ", list);
  }

  const std::filesystem::path& path() const { return path_; }

  // The dtype holding the most bytes (ties go to f32, then bf16, then f16); f32 when empty.
  samba::dtype dominant_dtype() const {
    std::array<std::uint64_t, 3> bytes{};  // indexed by dtype
    for (const auto& [name, e] : entries_)
      bytes[static_cast<std::size_t>(e.info.type)] += e.info.end - e.info.begin;
    const auto best = std::max_element(bytes.begin(), bytes.end());  // the first of equals
    return static_cast<samba::dtype>(best - bytes.begin());
  }

 private:
  struct Entry {
    TensorInfo info;
    std::shared_ptr<const safetensors_detail::MappedFile> map;
    std::size_t data_offset = 0;  // of the data region within the mapping
    bool used = false;
  };

  explicit SafeTensors(std::filesystem::path path) : path_(std::move(path)) {}

  const Entry& entry(std::string_view name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) detail::fail(path_.string(), ": tensor '", name, "' not found");
    return it->second;
  }
  Entry& entry(std::string_view name) {
    return const_cast<Entry&>(std::as_const(*this).entry(name));
  }

  void add(safetensors_detail::ParsedFile&& file) {
    for (auto& t : file.tensors) {
      std::string name = t.name;
      entries_.emplace(std::move(name), Entry{std::move(t), file.map, file.data_offset, false});
    }
  }

  static SafeTensors from_file(const std::filesystem::path& opened,
                               const std::filesystem::path& file) {
    SafeTensors st(opened);
    st.add(safetensors_detail::read_file(file));
    return st;
  }

  static SafeTensors from_index(const std::filesystem::path& opened,
                                const std::filesystem::path& index_file) {
    namespace sd = safetensors_detail;
    namespace fs = std::filesystem;
    const std::string idx = index_file.string();
    const auto map = sd::MappedFile::open(index_file);
    detail::check(map->size() <= sd::max_header_bytes, idx, ": index of ", map->size(),
                  " bytes exceeds the limit of ", sd::max_header_bytes, " bytes");
    const sd::json index = sd::parse_json(map->text(0, map->size()), idx);
    detail::check(
        index.is_object() && index.contains("weight_map") && index.at("weight_map").is_object(),
        idx, ": index has no \"weight_map\" object");

    // The weight_map, and the shards it names.
    std::map<std::string, std::string, std::less<>> assigned;  // tensor → shard
    std::set<std::string> shards;
    for (const auto& item : index.at("weight_map").items()) {
      detail::check(item.value().is_string(), idx, ": weight_map entry for tensor '", item.key(),
                    "' is not a string");
      const auto& shard = item.value().get_ref<const std::string&>();
      detail::check(!sd::escapes_directory(shard), idx, ": weight_map puts tensor '", item.key(),
                    "' in shard '", shard, "', which escapes the checkpoint directory");
      assigned.emplace(item.key(), shard);
      shards.insert(shard);
    }

    const fs::path dir = index_file.parent_path();
    std::vector<std::pair<std::string, sd::ParsedFile>> parsed;
    for (const auto& shard : shards) {
      std::error_code ec;
      detail::check(fs::exists(dir / shard, ec), idx, ": shard '", shard,
                    "' listed in the weight_map does not exist (", (dir / shard).string(), ")");
      parsed.emplace_back(shard, sd::read_file(dir / shard));
    }

    // Where each tensor really is; then the weight_map and the shards must agree both ways.
    std::map<std::string, std::string, std::less<>> found;  // tensor → shard
    for (const auto& [shard, file] : parsed)
      for (const auto& t : file.tensors) {
        const auto [it, inserted] = found.emplace(t.name, shard);
        detail::check(inserted, idx, ": tensor '", t.name, "' is in both shard '", it->second,
                      "' and shard '", shard, "'");
      }
    for (const auto& [name, shard] : found)
      detail::check(assigned.contains(name), idx, ": tensor '", name, "' in shard '", shard,
                    "' is not listed in the index's weight_map");
    for (const auto& [name, shard] : assigned) {
      const auto it = found.find(name);
      detail::check(it != found.end() && it->second == shard, idx, ": weight_map assigns tensor '",
                    name, "' to shard '", shard, "', which does not contain it",
                    it == found.end() ? std::string() : " (it is in '" + it->second + "')");
    }

    SafeTensors st(opened);
    for (auto& [shard, file] : parsed) st.add(std::move(file));
    return st;
  }

  // Elements of type S at `src` (any alignment) into new storage of type T.
  template <StorageType T, StorageType S>
  static Tensor<T> convert(const Shape& shape, const std::byte* src) {
    HostBuffer<T> buf(shape.numel());
    if constexpr (std::is_same_v<T, S>) {
      std::memcpy(buf.data(), src, buf.bytes());  // only misalignment brought us here
    } else {
      for (index_t i = 0; i < buf.size(); ++i) {
        S s;
        std::memcpy(&s, src + static_cast<std::size_t>(i) * sizeof(S), sizeof(S));
        buf[i] = from_float<T>(to_float(s));
      }
    }
    return Tensor<T>(shape, std::move(buf));
  }

  std::filesystem::path path_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace samba
