// compare_logits GOT WANT: exit 0 when two little-endian float32 files have the same length and
// the relative L2 error ||got - want|| / ||want|| is below 1e-5 (as tests/model/load.cpp checks).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

bool read_f32_le(const char* path, std::vector<double>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
  if (bytes.size() % 4 != 0) return false;
  out.resize(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned char* b = bytes.data() + 4 * i;
    const std::uint32_t bits = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 |
                               std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
    float v;
    std::memcpy(&v, &bits, 4);
    out[i] = v;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: compare_logits GOT WANT\n");
    return 2;
  }
  std::vector<double> got, want;
  for (auto [path, v] : {std::pair{argv[1], &got}, std::pair{argv[2], &want}})
    if (!read_f32_le(path, *v)) {
      std::fprintf(stderr, "compare_logits: cannot read %s as float32\n", path);
      return 1;
    }
  if (got.size() != want.size()) {
    std::fprintf(stderr, "compare_logits: %zu values, expected %zu\n", got.size(), want.size());
    return 1;
  }
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  const double err = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  std::printf("relative L2 error %.3g over %zu values\n", err, got.size());
  return std::isfinite(err) && err < 1e-5 ? 0 : 1;
}
