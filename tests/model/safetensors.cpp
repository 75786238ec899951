#include <unistd.h>  // geteuid, sysconf

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <samba/model/safetensors.hpp>

#include "model/checkpoints.hpp"
#include "model/safetensors_writer.hpp"

using namespace samba;
using samba::test::safetensors_bytes;
using samba::test::SafetensorsWriter;
using samba::test::TempDir;
using samba::test::write_bytes;
namespace fs = std::filesystem;

namespace {

// Deterministic values over several magnitudes, both signs.
std::vector<float> values(std::size_t n, int seed) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = std::sin(0.7f * static_cast<float>(i) + static_cast<float>(seed)) *
           std::pow(10.0f, static_cast<float>(static_cast<int>(i % 5) - 2));
  return v;
}

// What storing `v` as T and reading it back gives.
template <StorageType T>
std::vector<float> as_stored(const std::vector<float>& v) {
  std::vector<float> out;
  for (float x : v) out.push_back(to_float(from_float<T>(x)));
  return out;
}

template <StorageType T>
std::vector<float> floats(const Tensor<T>& t) {
  std::vector<float> out;
  for (const T& x : t.span()) out.push_back(to_float(x));
  return out;
}

// The tensor's data sits where the file's bytes sit in a page-aligned mapping: a copy in a 64-byte
// aligned HostBuffer would (almost surely) not match the file offset modulo the page size.
template <StorageType T>
bool borrows_file_offset(const Tensor<T>& t, std::size_t file_offset) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  return reinterpret_cast<std::uintptr_t>(t.data()) % page == file_offset % page;
}

// Opening `path` throws a samba::error that names `named` and contains `message`.
void check_rejected(const fs::path& path, const std::string& message, const fs::path& named = {}) {
  const std::string file = (named.empty() ? path : named).string();
  CHECK_THROWS_AS(SafeTensors::open(path), samba::error);
  CHECK_THROWS_WITH(SafeTensors::open(path), Catch::Contains(file) && Catch::Contains(message));
}

// A file made of `header` and `data` is rejected with `message`.
void check_header_rejected(const TempDir& dir, std::string_view header, std::string_view data,
                           const std::string& message) {
  INFO("header: " << header);
  const fs::path file = dir / "bad.safetensors";
  write_bytes(file, safetensors_bytes(header, data));
  check_rejected(file, message);
}

void check_header_accepted(const TempDir& dir, std::string_view header, std::string_view data) {
  INFO("header: " << header);
  const fs::path file = dir / "good.safetensors";
  write_bytes(file, safetensors_bytes(header, data));
  CHECK_NOTHROW(SafeTensors::open(file));
}

// An entry of `x` with the given JSON fields, 8 bytes of data: {"x": {...}}.
std::string entry(std::string_view fields) {
  return "{\"x\":{" + std::string(fields) + "}}";
}

const std::string eight_bytes(8, '\0');

}  // namespace

// --- reading good files ------------------------------------------------------------------------

TEST_CASE("SafeTensors round-trips F32, BF16 and F16 tensors of rank 0 to 4 without copying",
          "[safetensors]") {
  TempDir dir;
  const auto v1 = values(5, 1), v2 = values(12, 2), v3 = values(12, 3), v4 = values(12, 4),
             v0 = values(1, 5);
  SafetensorsWriter w;
  w.add<float>("a.rank1", {5}, v1)
      .add<bf16>("b.rank2", {3, 4}, v2)
      .add<f16>("c.rank3", {2, 3, 2}, v3)
      .add<float>("d.rank4", {2, 1, 3, 2}, v4)
      .add<float>("e.empty", {0, 3}, {})
      .add<bf16>("f.empty", {4, 0}, {})
      .add<float>("g.scalar", {}, v0)
      .metadata("format", "pt");
  const fs::path file = dir / "model.safetensors";
  w.write(file);
  const std::size_t data_start = 8 + w.header().size();

  Tensor<float> a, d, e, g;
  Tensor<bf16> b, f;
  Tensor<f16> c;
  {
    auto st = SafeTensors::open(file);
    CHECK(st.path() == file);
    CHECK(st.names() == std::vector<std::string>{"a.rank1", "b.rank2", "c.rank3", "d.rank4",
                                                 "e.empty", "f.empty", "g.scalar"});
    CHECK(st.contains("c.rank3"));
    CHECK_FALSE(st.contains("c"));
    CHECK_FALSE(st.contains("__metadata__"));

    const TensorInfo& info = st.info("b.rank2");
    CHECK(info.name == "b.rank2");
    CHECK(info.type == dtype::bf16);
    CHECK(info.shape == Shape{3, 4});
    CHECK(info.file == file);
    CHECK(info.begin == 20);
    CHECK(info.end == 44);
    CHECK(st.dominant_dtype() == dtype::f32);  // 72 bytes of f32, 24 of bf16, 24 of f16

    a = st.load<float>("a.rank1", {5});
    b = st.load<bf16>("b.rank2", {3, 4});
    c = st.load<f16>("c.rank3", {2, 3, 2});
    d = st.load<float>("d.rank4", {2, 1, 3, 2});
    e = st.load<float>("e.empty", {0, 3});
    f = st.load<bf16>("f.empty", {4, 0});
    g = st.load<float>("g.scalar", Shape{});
    CHECK(st.unused().empty());
    CHECK_NOTHROW(st.check_all_used());

    // Zero-copy: a second load is the same memory, at the file's offset within a page.
    CHECK(st.load<float>("a.rank1", {5}).data() == a.data());
    CHECK(st.load<bf16>("b.rank2", {3, 4}).data() == b.data());
    CHECK(st.load<f16>("c.rank3", {2, 3, 2}).data() == c.data());
    CHECK(borrows_file_offset(a, data_start + st.info("a.rank1").begin));
    CHECK(borrows_file_offset(b, data_start + st.info("b.rank2").begin));
    CHECK(borrows_file_offset(c, data_start + st.info("c.rank3").begin));
    CHECK(borrows_file_offset(d, data_start + st.info("d.rank4").begin));
  }
  // The SafeTensors is gone and so is the file; the mapping lives on in the tensors.
  fs::remove(file);
  CHECK(floats(a) == as_stored<float>(v1));
  CHECK(floats(b) == as_stored<bf16>(v2));
  CHECK(floats(c) == as_stored<f16>(v3));
  CHECK(floats(d) == as_stored<float>(v4));
  CHECK(floats(g) == as_stored<float>(v0));
  CHECK(a.shape() == Shape{5});
  CHECK(d.shape() == Shape{2, 1, 3, 2});
  // Zero-size tensors load as tensors (not as "missing" ones) with no elements.
  CHECK_FALSE(e.empty());
  CHECK_FALSE(f.empty());
  CHECK(e.numel() == 0);
  CHECK(f.shape() == Shape{4, 0});
  CHECK_NOTHROW(check_shape(e, "test", "e.empty", Shape{0, 3}));
}

TEST_CASE("SafeTensors reads a file whose data region is empty", "[safetensors]") {
  TempDir dir;
  check_header_accepted(dir, "{}", "");
  check_header_accepted(dir, R"({"__metadata__":{"format":"pt"}})", "");
  // Only a zero-size tensor, and no data bytes at all.
  write_bytes(dir / "z.safetensors",
              safetensors_bytes(R"({"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})"));
  auto st = SafeTensors::open(dir / "z.safetensors");
  const auto z = st.load<float>("z", {0});
  CHECK(z.numel() == 0);
  CHECK(z.data() != nullptr);
  CHECK(st.load<bf16>("z", {0}).numel() == 0);  // converted: still nothing to read
}

TEST_CASE("SafeTensors converts between storage types on load", "[safetensors]") {
  TempDir dir;
  const auto w = values(6, 7), v = values(4, 8), h = values(3, 9);
  SafetensorsWriter writer;
  writer.add<float>("w", {2, 3}, w).add<bf16>("v", {4}, v).add<f16>("h", {3}, h);
  writer.write(dir / "m.safetensors");
  auto st = SafeTensors::open(dir / "m.safetensors");

  // bf16 → f32 is exact.
  const auto v32 = st.load<float>("v", {4});
  CHECK(floats(v32) == as_stored<bf16>(v));
  // f32 → bf16 rounds to nearest even, as from_float does.
  const auto w16 = st.load<bf16>("w", {2, 3});
  for (std::size_t i = 0; i < w.size(); ++i)
    CHECK(w16.span()[i].bits == from_float<bf16>(w[i]).bits);
  // f16 → f32, f32 → f16 and bf16 → f16 (through f32).
  CHECK(floats(st.load<float>("h", {3})) == as_stored<f16>(h));
  const auto w_half = st.load<f16>("w", {2, 3});
  for (std::size_t i = 0; i < w.size(); ++i)
    CHECK(w_half.span()[i].bits == from_float<f16>(w[i]).bits);
  const auto v_half = st.load<f16>("v", {4});
  for (std::size_t i = 0; i < v.size(); ++i)
    CHECK(v_half.span()[i].bits == from_float<f16>(to_float(from_float<bf16>(v[i]))).bits);
  // A converted tensor is new storage each time.
  CHECK(st.load<bf16>("w", {2, 3}).data() != w16.data());
}

TEST_CASE("SafeTensors copies data that is not aligned for its type", "[safetensors]") {
  TempDir dir;
  const auto w = values(6, 10), v = values(3, 11);
  SafetensorsWriter writer;
  writer.add<float>("w", {6}, w).add<bf16>("v", {3}, v);  // v starts at data byte 24
  std::string header = writer.header(1);
  while ((8 + header.size()) % 4 != 1) header += ' ';  // the data region starts at an odd byte
  write_bytes(dir / "odd.safetensors", safetensors_bytes(header, writer.data()));

  auto st = SafeTensors::open(dir / "odd.safetensors");
  const auto w32 = st.load<float>("w", {6});
  const auto v16 = st.load<bf16>("v", {3});
  CHECK(floats(w32) == as_stored<float>(w));
  CHECK(floats(v16) == as_stored<bf16>(v));
  CHECK(reinterpret_cast<std::uintptr_t>(w32.data()) % alignof(float) == 0);
  CHECK(st.load<float>("w", {6}).data() != w32.data());  // copied, not borrowed
  CHECK(st.load<bf16>("v", {3}).data() != v16.data());
}

TEST_CASE("SafeTensors picks the dtype holding the most bytes", "[safetensors]") {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add<float>("norm", {4}, values(4, 1))
      .add<bf16>("proj", {4, 4}, values(16, 2))
      .add<f16>("odd", {2}, values(2, 3));
  writer.write(dir / "m.safetensors");
  CHECK(SafeTensors::open(dir / "m.safetensors").dominant_dtype() == dtype::bf16);
  write_bytes(dir / "e.safetensors", safetensors_bytes("{}"));
  CHECK(SafeTensors::open(dir / "e.safetensors").dominant_dtype() == dtype::f32);
}

TEST_CASE("SafeTensors opens a directory, single-file or sharded", "[safetensors]") {
  TempDir dir;
  const auto a = values(4, 1), b = values(3, 2), c = values(2, 3);
  SafetensorsWriter shard1, shard2;
  shard1.add<float>("a", {2, 2}, a).add<bf16>("b", {3}, b).metadata("format", "pt");
  shard2.add<f16>("c", {2}, c).add<float>("d", {0}, {});
  fs::create_directory(dir / "sharded");
  shard1.write(dir / "sharded/model-00001-of-00002.safetensors");
  shard2.write(dir / "sharded/model-00002-of-00002.safetensors");
  write_bytes(dir / "sharded/model.safetensors.index.json", R"({
  "metadata": {"total_size": 26},
  "weight_map": {
    "a": "model-00001-of-00002.safetensors",
    "b": "model-00001-of-00002.safetensors",
    "c": "model-00002-of-00002.safetensors",
    "d": "model-00002-of-00002.safetensors"
  }
})");

  Tensor<float> ta;
  Tensor<f16> tc;
  {
    auto st = SafeTensors::open(dir / "sharded");
    CHECK(st.path() == dir / "sharded");
    CHECK(st.names() == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(st.info("a").file == dir / "sharded/model-00001-of-00002.safetensors");
    CHECK(st.info("c").file == dir / "sharded/model-00002-of-00002.safetensors");
    CHECK(st.info("c").begin == 0);
    ta = st.load<float>("a", {2, 2});
    tc = st.load<f16>("c", {2});
    CHECK(st.load<f16>("c", {2}).data() == tc.data());
    CHECK(floats(st.load<float>("b", {3})) == as_stored<bf16>(b));
    CHECK(st.unused() == std::vector<std::string>{"d"});
  }
  CHECK(floats(ta) == as_stored<float>(a));
  CHECK(floats(tc) == as_stored<f16>(c));

  // The index file itself can be opened too.
  CHECK(SafeTensors::open(dir / "sharded/model.safetensors.index.json").names().size() == 4);

  // A shard in a subdirectory stays inside the checkpoint: allowed.
  fs::create_directory(dir / "sub");
  fs::create_directory(dir / "sub/parts");
  shard1.write(dir / "sub/parts/one.safetensors");
  write_bytes(dir / "sub/model.safetensors.index.json",
              R"({"weight_map": {"a": "parts/one.safetensors", "b": "parts/one.safetensors"}})");
  CHECK(SafeTensors::open(dir / "sub").names() == std::vector<std::string>{"a", "b"});

  // A directory with model.safetensors (preferred over an index, as in transformers).
  fs::create_directory(dir / "single");
  shard2.write(dir / "single/model.safetensors");
  write_bytes(dir / "single/model.safetensors.index.json", "not read");
  auto single = SafeTensors::open(dir / "single");
  CHECK(single.names() == std::vector<std::string>{"c", "d"});
  CHECK(single.info("c").file == dir / "single/model.safetensors");
}

TEST_CASE("SafeTensors reports tensors never loaded", "[safetensors]") {
  TempDir dir;
  SafetensorsWriter writer;
  for (int i = 0; i < 8; ++i) {
    std::string name = "t";
    name += std::to_string(i);  // not "t" + to_string(i): GCC 12's -Wrestrict false positive
    writer.add<float>(name, {1}, values(1, i));
  }
  writer.write(dir / "m.safetensors");
  auto st = SafeTensors::open(dir / "m.safetensors");
  st.load<float>("t3", {1});
  (void)st.info("t4");  // looking is not loading
  CHECK(st.unused() == std::vector<std::string>{"t0", "t1", "t2", "t4", "t5", "t6", "t7"});
  CHECK_THROWS_WITH(st.check_all_used(),
                    Catch::Contains((dir / "m.safetensors").string()) &&
                        Catch::Contains("7 of 8 tensors were never loaded: 't0', 't1', 't2', "
                                        "'t4', 't5', ... (2 more)"));
  for (const auto& name : st.unused()) st.load<bf16>(name, {1});
  CHECK_NOTHROW(st.check_all_used());
}

TEST_CASE("SafeTensors::load checks names and shapes", "[safetensors]") {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add<float>("x", {2, 3}, values(6, 1));
  const fs::path file = dir / "m.safetensors";
  writer.write(file);
  auto st = SafeTensors::open(file);
  CHECK_THROWS_WITH(st.load<float>("x", {3, 2}),
                    file.string() + ": tensor 'x' has shape [2, 3], expected [3, 2]");
  CHECK_THROWS_WITH(st.load<bf16>("x", {6}), Catch::Contains("has shape [2, 3], expected [6]"));
  CHECK_THROWS_WITH(st.load<float>("y", {2, 3}), file.string() + ": tensor 'y' not found");
  CHECK_THROWS_WITH(st.info("y"), file.string() + ": tensor 'y' not found");
  CHECK(st.unused() == std::vector<std::string>{"x"});  // failed loads do not count
}

TEST_CASE("SafeTensors reads the checkpoints generated for the model tests", "[safetensors]") {
  const fs::path data = SAMBA_MODEL_DATA_DIR;
  REQUIRE(fs::is_directory(data));  // committed with the tests: missing data is a failure
  int opened = 0;
  for (const auto& item : fs::directory_iterator(data)) {
    const fs::path& case_dir = item.path();
    if (!fs::exists(case_dir / "model.safetensors") &&
        !fs::exists(case_dir / "model.safetensors.index.json"))
      continue;
    INFO(case_dir);
    auto st = SafeTensors::open(case_dir);
    ++opened;
    CHECK_FALSE(st.names().empty());
    const std::string name = case_dir.filename().string();
    const dtype expected = name.find("_bf16") != std::string::npos  ? dtype::bf16
                           : name.find("_f16") != std::string::npos ? dtype::f16
                                                                    : dtype::f32;
    CHECK(st.dominant_dtype() == expected);
    for (const auto& tensor : st.names()) {
      const auto t = st.load<float>(tensor, st.info(tensor).shape);
      CHECK(
          std::all_of(t.span().begin(), t.span().end(), [](float x) { return std::isfinite(x); }));
    }
    CHECK_NOTHROW(st.check_all_used());
  }
  CHECK(opened == static_cast<int>(test::checkpoint_names.size()));
}

// --- rejecting bad files: one test per rule ----------------------------------------------------

TEST_CASE("SafeTensors rejects a missing, unreadable or irregular path", "[safetensors]") {
  TempDir dir;
  check_rejected(dir / "absent.safetensors", "no such file or directory");
  check_rejected(dir / "absent" / "model.safetensors", "no such file or directory");
  check_rejected("/dev/null", "not a regular file");
  check_rejected(dir.path(),
                 "directory holds neither model.safetensors nor model.safetensors.index.json");
  fs::create_directory(dir / "model.safetensors");  // a directory where the file should be
  check_rejected(dir.path(), "not a regular file", dir / "model.safetensors");

  fs::create_directory(dir / "locked");
  SafetensorsWriter().write(dir / "locked/model.safetensors");
  fs::permissions(dir / "locked/model.safetensors", fs::perms::none);
  if (::geteuid() == 0) {
    WARN("running as root, permissions are not enforced: unreadable-file check skipped");
  } else {
    check_rejected(dir / "locked/model.safetensors", "cannot open: Permission denied");
  }
}

TEST_CASE("SafeTensors rejects a file shorter than 8 bytes", "[safetensors]") {
  TempDir dir;
  for (std::size_t n = 0; n < 8; ++n) {
    write_bytes(dir / "short.safetensors", std::string(n, '\x01'));
    check_rejected(dir / "short.safetensors", "file is " + std::to_string(n) +
                                                  " bytes, shorter than the 8-byte header length");
  }
}

TEST_CASE("SafeTensors rejects a header length over 100 MiB or past the end of the file",
          "[safetensors]") {
  TempDir dir;
  const fs::path file = dir / "m.safetensors";
  const auto with_length = [&](std::uint64_t n, std::string_view rest) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
      bytes[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
    write_bytes(file, bytes + std::string(rest));
  };
  with_length(100ull * 1024 * 1024 + 1, "{}");
  check_rejected(file, "header length 104857601 exceeds the limit of 104857600 bytes");
  with_length(~0ull, "{}");
  check_rejected(file, "header length 18446744073709551615 exceeds the limit of 104857600 bytes");
  with_length(100ull * 1024 * 1024, "{}");  // within the limit, but the file is 10 bytes
  check_rejected(file, "header length 104857600 exceeds the 2 bytes that follow the length field");
  with_length(3, "{}");
  check_rejected(file, "header length 3 exceeds the 2 bytes that follow the length field");
  with_length(2, "{}");
  CHECK_NOTHROW(SafeTensors::open(file));
}

TEST_CASE("SafeTensors rejects a header that is not a JSON object", "[safetensors]") {
  TempDir dir;
  for (std::string_view bad : {std::string_view(""), std::string_view("{"),
                               std::string_view("{\"x\":}"), std::string_view("{} {}"),
                               std::string_view("{\"\xff\xfe\":{}}"),  // not UTF-8
                               std::string_view("{}\0\0\0\0", 6)})
    check_header_rejected(dir, bad, "", "header is not valid JSON");
  for (std::string_view bad : {"[]", "5", "\"x\"", "null", "true"})
    check_header_rejected(dir, bad, "", "header is not a JSON object");
  check_header_accepted(dir, "  {}    ", "");  // whitespace padding, as writers add
}

TEST_CASE("SafeTensors rejects duplicate JSON keys", "[safetensors]") {
  TempDir dir;
  const std::string x = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  check_header_rejected(dir, "{" + x + "," + x + "}", eight_bytes,
                        "header has a duplicate key 'x'");
  check_header_rejected(dir,
                        R"({"x":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})",
                        eight_bytes, "header has a duplicate key 'dtype'");
  check_header_rejected(dir, R"({"__metadata__":{"a":"1","a":"2"}})", "",
                        "header has a duplicate key 'a'");
  // The same key in different objects is fine.
  check_header_accepted(
      dir, R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"x":"y"}})",
      eight_bytes);
}

TEST_CASE("SafeTensors rejects an entry that is not an object or lacks a field", "[safetensors]") {
  TempDir dir;
  for (std::string_view bad : {"5", "[]", "\"F32\"", "null"})
    check_header_rejected(dir, "{\"x\":" + std::string(bad) + "}", "",
                          "entry for tensor 'x' is not an object");
  check_header_rejected(dir, entry(R"("shape":[2],"data_offsets":[0,8])"), eight_bytes,
                        "tensor 'x' has no \"dtype\"");
  check_header_rejected(dir, entry(R"("dtype":"F32","data_offsets":[0,8])"), eight_bytes,
                        "tensor 'x' has no \"shape\"");
  check_header_rejected(dir, entry(R"("dtype":"F32","shape":[2])"), eight_bytes,
                        "tensor 'x' has no \"data_offsets\"");
  // Fields beyond the three are ignored.
  check_header_accepted(dir, entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,8],"note":1)"),
                        eight_bytes);
}

TEST_CASE("SafeTensors rejects fields of the wrong JSON type", "[safetensors]") {
  TempDir dir;
  for (std::string_view dtype : {"5", "null", "[\"F32\"]"})
    check_header_rejected(
        dir, entry("\"dtype\":" + std::string(dtype) + R"(,"shape":[2],"data_offsets":[0,8])"),
        eight_bytes, "tensor 'x': \"dtype\" must be a string");
  for (std::string_view shape :
       {"\"2\"", "2", "{}", "null", "[-1]", "[2,-1]", "[1.5]", "[2.0]", "[\"2\"]", "[null]",
        "[true]", "[[2]]", "[1e3]", "[18446744073709551616]"})
    check_header_rejected(
        dir, entry(R"("dtype":"F32","shape":)" + std::string(shape) + R"(,"data_offsets":[0,8])"),
        eight_bytes, "tensor 'x': \"shape\" must be an array of non-negative integers");
  for (std::string_view offsets :
       {"[0]", "[]", "[0,8,8]", "[-1,8]", "[0,-8]", "[0,8.0]", "[0,\"8\"]", "\"0,8\"", "{}", "8",
        "null", "[0,18446744073709551616]"})
    check_header_rejected(
        dir, entry(R"("dtype":"F32","shape":[2],"data_offsets":)" + std::string(offsets)),
        eight_bytes,
        "tensor 'x': \"data_offsets\" must be [begin, end], two non-negative integers");
  // "-0" is an integer, zero.
  check_header_accepted(dir, entry(R"("dtype":"F32","shape":[2],"data_offsets":[-0,8])"),
                        eight_bytes);
}

TEST_CASE("SafeTensors rejects dtypes it does not read", "[safetensors]") {
  TempDir dir;
  const fs::path file = dir / "bad.safetensors";
  write_bytes(file, safetensors_bytes(entry(R"("dtype":"I64","shape":[1],"data_offsets":[0,8])"),
                                      eight_bytes));
  CHECK_THROWS_WITH(
      SafeTensors::open(file),
      file.string() + ": unsupported dtype 'I64' for tensor 'x' (samba reads F32, F16, BF16)");
  for (std::string_view dtype :
       {"F64", "F8_E4M3", "F8_E5M2", "I8", "U8", "BOOL", "f32", "", "FLOAT32"})
    check_header_rejected(
        dir, entry("\"dtype\":\"" + std::string(dtype) + R"(","shape":[1],"data_offsets":[0,8])"),
        eight_bytes, "unsupported dtype '" + std::string(dtype) + "' for tensor 'x'");
}

TEST_CASE("SafeTensors rejects tensors of rank above 4", "[safetensors]") {
  TempDir dir;
  check_header_rejected(dir, entry(R"("dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8])"),
                        eight_bytes, "tensor 'x' has rank 5 (samba supports at most 4)");
  check_header_accepted(dir, entry(R"("dtype":"F32","shape":[1,1,1,2],"data_offsets":[0,8])"),
                        eight_bytes);
}

TEST_CASE(
    "SafeTensors rejects byte ranges that are reversed, outside the data or of the wrong size",
    "[safetensors]") {
  TempDir dir;
  check_header_rejected(dir, entry(R"("dtype":"F32","shape":[0],"data_offsets":[8,4])"),
                        eight_bytes, "tensor 'x': data_offsets [8, 4] have begin > end");
  check_header_rejected(dir, entry(R"("dtype":"F32","shape":[2],"data_offsets":[4,12])"),
                        eight_bytes,
                        "tensor 'x': data_offsets [4, 12] exceed the data region of 8 bytes");
  check_header_rejected(dir, entry(R"("dtype":"F32","shape":[0],"data_offsets":[9,9])"),
                        eight_bytes, "exceed the data region of 8 bytes");
  check_header_rejected(dir, entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"),
                        eight_bytes,
                        "tensor 'x': shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8");
  check_header_rejected(
      dir, entry(R"("dtype":"BF16","shape":[2,1],"data_offsets":[0,8])"), eight_bytes,
      "tensor 'x': shape [2, 1] of BF16 needs 4 bytes, data_offsets [0, 8] hold 8");
  check_header_rejected(dir, entry(R"("dtype":"F16","shape":[0],"data_offsets":[0,2])"),
                        eight_bytes, "needs 0 bytes");
  // A range that ends exactly at the end of the data, and one of nothing at the very end, are fine.
  check_header_accepted(dir, entry(R"("dtype":"F16","shape":[2],"data_offsets":[4,8])"),
                        eight_bytes);
  check_header_accepted(dir, entry(R"("dtype":"F16","shape":[0],"data_offsets":[8,8])"),
                        eight_bytes);
}

TEST_CASE("SafeTensors rejects shapes whose size overflows instead of wrapping", "[safetensors]") {
  TempDir dir;
  // 2^62 · 2^62 elements: wraps to 0 in 64 bits, which would match data_offsets [0, 0].
  check_header_rejected(
      dir,
      entry(
          R"("dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0])"),
      "",
      "tensor 'x': shape [4611686018427387904,4611686018427387904] overflows a 64-bit element "
      "count");
  // 2^62 · 4 elements = 2^64: wraps to 0.
  check_header_rejected(
      dir, entry(R"("dtype":"BF16","shape":[4611686018427387904,4],"data_offsets":[0,0])"), "",
      "overflows a 64-bit element count");
  // Even with a zero dimension, the other dimensions must not overflow (Shape::numel would).
  check_header_rejected(
      dir,
      entry(
          R"("dtype":"F32","shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0])"),
      "", "overflows a 64-bit element count");
  // 2^62 elements fit, 2^62 · 4 bytes wrap to 0.
  check_header_rejected(
      dir, entry(R"("dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0])"), "",
      "tensor 'x': shape [4611686018427387904] of F32 overflows a 64-bit byte count");
  // A dimension beyond a signed 64-bit size.
  check_header_rejected(
      dir, entry(R"("dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,0])"), "",
      "tensor 'x': dimension 9223372036854775808 overflows a 64-bit signed size");
  check_header_rejected(
      dir, entry(R"("dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0])"), "",
      "dimension 18446744073709551615 overflows a 64-bit signed size");
  // Large but honest zero-size shapes are fine.
  check_header_accepted(
      dir, entry(R"("dtype":"F32","shape":[0,4611686018427387904],"data_offsets":[0,0])"), "");
}

TEST_CASE("SafeTensors rejects tensors whose byte ranges overlap", "[safetensors]") {
  TempDir dir;
  const std::string data(16, '\0');
  const auto header = [](std::string_view a, std::string_view b) {
    return R"({"a":{"dtype":"F16",)" + std::string(a) + R"(},"b":{"dtype":"F16",)" +
           std::string(b) + "}}";
  };
  check_header_rejected(
      dir, header(R"("shape":[4],"data_offsets":[0,8])", R"("shape":[4],"data_offsets":[4,12])"),
      data, "tensors 'a' (bytes [0, 8)) and 'b' (bytes [4, 12)) overlap");
  check_header_rejected(
      dir, header(R"("shape":[8],"data_offsets":[0,16])", R"("shape":[2],"data_offsets":[6,10])"),
      data, "tensors 'a' (bytes [0, 16)) and 'b' (bytes [6, 10)) overlap");
  check_header_rejected(
      dir, header(R"("shape":[4],"data_offsets":[8,16])", R"("shape":[4],"data_offsets":[8,16])"),
      data, "overlap");
  // Adjacent ranges, gaps, and empty ranges anywhere are fine.
  check_header_accepted(
      dir, header(R"("shape":[4],"data_offsets":[0,8])", R"("shape":[4],"data_offsets":[8,16])"),
      data);
  check_header_accepted(
      dir, header(R"("shape":[2],"data_offsets":[0,4])", R"("shape":[2],"data_offsets":[12,16])"),
      data);
  check_header_accepted(
      dir, header(R"("shape":[8],"data_offsets":[0,16])", R"("shape":[0],"data_offsets":[4,4])"),
      data);
}

TEST_CASE("SafeTensors rejects __metadata__ that is not an object of strings", "[safetensors]") {
  TempDir dir;
  for (std::string_view bad : {"5", "\"pt\"", "[]", "null", R"({"format":1})", R"({"format":null})",
                               R"({"format":"pt","nested":{"a":"b"}})", R"({"list":["a"]})"})
    check_header_rejected(dir, R"({"__metadata__":)" + std::string(bad) + "}", "",
                          "\"__metadata__\" must be an object of strings");
  check_header_accepted(dir, R"({"__metadata__":{}})", "");
  check_header_accepted(dir, R"({"__metadata__":{"format":"pt","note":"ünïcödé"}})", "");
}

TEST_CASE("SafeTensors rejects a sharded checkpoint whose index and shards disagree",
          "[safetensors]") {
  TempDir dir;
  SafetensorsWriter one, two;
  one.add<float>("a", {2}, values(2, 1)).add<float>("b", {1}, values(1, 2));
  two.add<float>("c", {1}, values(1, 3));
  one.write(dir / "one.safetensors");
  two.write(dir / "two.safetensors");
  const fs::path index = dir / "model.safetensors.index.json";
  const auto with_index = [&](std::string_view text) { write_bytes(index, text); };

  with_index(
      R"({"weight_map": {"a": "one.safetensors", "b": "one.safetensors", "c": "two.safetensors"}})");
  CHECK(SafeTensors::open(dir.path()).names() == std::vector<std::string>{"a", "b", "c"});

  SECTION("index not valid JSON") {
    for (std::string_view bad : {"", "{", "{\"weight_map\": {\"a\": \"one.safetensors\",}}"}) {
      with_index(bad);
      check_rejected(dir.path(), "is not valid JSON", index);
    }
  }
  SECTION("duplicate keys in the index") {
    with_index(R"({"weight_map": {"a": "one.safetensors", "a": "two.safetensors"}})");
    check_rejected(dir.path(), "has a duplicate key 'a'", index);
  }
  SECTION("no weight_map object") {
    for (std::string_view bad : {"[]", "{}", R"({"metadata": {}})", R"({"weight_map": ["a"]})",
                                 R"({"weight_map": "one.safetensors"})"}) {
      with_index(bad);
      check_rejected(dir.path(), "index has no \"weight_map\" object", index);
    }
  }
  SECTION("a weight_map value that is not a string") {
    with_index(R"({"weight_map": {"a": 1}})");
    check_rejected(dir.path(), "weight_map entry for tensor 'a' is not a string", index);
  }
  SECTION("a shard that does not exist") {
    with_index(
        R"({"weight_map": {"a": "one.safetensors", "b": "one.safetensors", "c": "three.safetensors"}})");
    check_rejected(dir.path(), "shard 'three.safetensors' listed in the weight_map does not exist",
                   index);
  }
  SECTION("a shard outside the directory") {
    fs::create_directory(dir / "inner");
    with_index("");
    const fs::path inner_index = dir / "inner/model.safetensors.index.json";
    for (const std::string& shard :
         std::vector<std::string>{"../one.safetensors", (dir / "one.safetensors").string(),
                                  "x/../../one.safetensors", ".."}) {
      write_bytes(inner_index, R"({"weight_map": {"a": ")" + shard + R"("}})");
      check_rejected(dir / "inner",
                     "weight_map puts tensor 'a' in shard '" + shard +
                         "', which escapes the checkpoint directory",
                     inner_index);
    }
    write_bytes(inner_index, R"({"weight_map": {"a": ""}})");
    check_rejected(dir / "inner", "escapes the checkpoint directory", inner_index);
  }
  SECTION("a tensor assigned to a shard that does not hold it") {
    with_index(
        R"({"weight_map": {"a": "one.safetensors", "b": "two.safetensors", "c": "two.safetensors"}})");
    check_rejected(dir.path(),
                   "weight_map assigns tensor 'b' to shard 'two.safetensors', which does not "
                   "contain it (it is in 'one.safetensors')",
                   index);
    with_index(
        R"({"weight_map": {"a": "one.safetensors", "b": "one.safetensors", "c": "two.safetensors", "z": "two.safetensors"}})");
    check_rejected(
        dir.path(),
        "weight_map assigns tensor 'z' to shard 'two.safetensors', which does not contain it",
        index);
  }
  SECTION("a tensor in a shard but not in the index") {
    with_index(R"({"weight_map": {"a": "one.safetensors", "c": "two.safetensors"}})");
    check_rejected(dir.path(),
                   "tensor 'b' in shard 'one.safetensors' is not listed in the index's weight_map",
                   index);
  }
  SECTION("the same tensor in two shards") {
    SafetensorsWriter three;
    three.add<float>("c", {1}, values(1, 4));
    three.write(dir / "three.safetensors");
    with_index(
        R"({"weight_map": {"a": "one.safetensors", "b": "one.safetensors", "c": "three.safetensors", "d": "two.safetensors"}})");
    check_rejected(dir.path(),
                   "tensor 'c' is in both shard 'three.safetensors' and shard 'two.safetensors'",
                   index);
  }
  SECTION("a bad shard is named in the message") {
    write_bytes(dir / "two.safetensors", safetensors_bytes("{\"c\":5}"));
    check_rejected(dir.path(), "entry for tensor 'c' is not an object", dir / "two.safetensors");
  }
}

// --- hostile bytes -----------------------------------------------------------------------------

TEST_CASE("SafeTensors survives corrupted files: success or samba::error, nothing else",
          "[safetensors]") {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add<float>("model.layers.0.w", {2, 3}, values(6, 1))
      .add<bf16>("model.layers.0.v", {4}, values(4, 2))
      .add<f16>("h", {2, 1, 2}, values(4, 3))
      .add<float>("empty", {0, 2}, {})
      .metadata("format", "pt");
  const std::string good = writer.bytes();
  const fs::path file = dir / "m.safetensors";
  int accepted = 0, rejected = 0;

  // Open, and if that works load everything every way and read every value.
  const auto attempt = [&](const std::string& bytes) {
    write_bytes(file, bytes);
    try {
      auto st = SafeTensors::open(file);
      double sum = 0;
      for (const auto& name : st.names()) {
        const Shape shape = st.info(name).shape;
        // Named, not `for (x : st.load(...).span())`: the temporary tensor would die first.
        const auto f32 = st.load<float>(name, shape);
        const auto b16 = st.load<bf16>(name, shape);
        const auto h16 = st.load<f16>(name, shape);
        for (float x : f32.span()) sum += x;
        for (bf16 x : b16.span()) sum += to_float(x);
        for (f16 x : h16.span()) sum += to_float(x);
      }
      st.check_all_used();
      (void)st.dominant_dtype();
      ++accepted;
      return sum;
    } catch (const samba::error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL("not a samba::error: " << e.what());
    } catch (...) {
      FAIL("not a std::exception");
    }
    return 0.0;
  };

  attempt(good);
  REQUIRE(accepted == 1);

  // Every byte of the first 200 set to bytes that matter to JSON and to the length.
  const std::string specials("\0\xff\"{}[],:09-+.eE \\", 18);
  for (std::size_t i = 0; i < std::min<std::size_t>(200, good.size()); ++i) {
    std::string bytes = good;
    const char original = good[i];
    for (char c : specials) {
      bytes[i] = c;
      attempt(bytes);
    }
    for (int delta : {1, -1, 0x40, 0x80}) {
      bytes[i] = static_cast<char>(original + delta);
      attempt(bytes);
    }
  }
  // Every truncation, and every deletion from the header with the length fixed up.
  for (std::size_t n = 0; n <= good.size(); ++n) attempt(good.substr(0, n));
  const std::string header = writer.header();
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string h = header;
    h.erase(i, 1);
    attempt(safetensors_bytes(h, writer.data()));
  }
  // Random bursts of corruption anywhere in the header.
  std::mt19937_64 rng(2024);
  std::uniform_int_distribution<std::size_t> pos(0, 8 + header.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255), count(1, 6);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    for (int k = count(rng); k > 0; --k) bytes[pos(rng)] = static_cast<char>(byte(rng));
    attempt(bytes);
  }
  INFO("accepted " << accepted << ", rejected " << rejected);
  CHECK(accepted > 1);
  CHECK(rejected > 1000);
}
