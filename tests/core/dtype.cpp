#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>
#include <samba/core/dtype.hpp>

using namespace samba;

namespace {
// Round-to-nearest-even to `keep` mantissa bits, computed through double arithmetic: an independent
// oracle for the bit-twiddling conversions (normal range only).
double round_mantissa(double x, int keep) {
  int e = 0;
  const double m = std::frexp(x, &e);  // x = m · 2^e, 0.5 ≤ |m| < 1
  const double scaled = std::ldexp(m, keep + 1);
  return std::ldexp(std::nearbyint(scaled), e - keep - 1);  // nearbyint rounds ties to even
}
}  // namespace

TEST_CASE("bf16 round-trips every bf16 value exactly", "[core][dtype]") {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const bf16 v{static_cast<std::uint16_t>(b)};
    const float f = to_float(v);
    if (std::isnan(f)) {
      CHECK(std::isnan(to_float(from_float<bf16>(f))));
    } else {
      REQUIRE(from_float<bf16>(f).bits == v.bits);
    }
  }
}

TEST_CASE("f16 round-trips every f16 value exactly, subnormals included", "[core][dtype]") {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const f16 v{static_cast<std::uint16_t>(b)};
    const float f = to_float(v);
    if (std::isnan(f)) {
      CHECK(std::isnan(to_float(from_float<f16>(f))));
    } else {
      REQUIRE(from_float<f16>(f).bits == v.bits);
    }
  }
  CHECK(to_float(f16{0x0001}) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(to_float(f16{0x7bff}) == 65504.0f);               // largest finite
}

TEST_CASE("narrowing rounds to nearest, ties to even", "[core][dtype]") {
  // Ties: 1 + 2^-8 lies halfway between two bf16 values; 1 + 3·2^-8 likewise.
  CHECK(to_float(from_float<bf16>(1.0f + 0x1p-8f)) == 1.0f);
  CHECK(to_float(from_float<bf16>(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);
  CHECK(to_float(from_float<f16>(1.0f + 0x1p-11f)) == 1.0f);
  CHECK(to_float(from_float<f16>(1.0f + 3 * 0x1p-11f)) == 1.0f + 0x1p-9f);
  // A sweep of normal floats against the double-arithmetic oracle.
  std::uint32_t u = 0x3a800000u;  // ~1e-3
  for (int i = 0; i < 200000; ++i, u += 0x1357u) {
    const float f = std::bit_cast<float>(u);
    if (f > 60000.0f) break;
    INFO("x = " << f);
    REQUIRE(static_cast<double>(to_float(from_float<bf16>(f))) == round_mantissa(f, 7));
    if (f >= 0x1p-14f)
      REQUIRE(static_cast<double>(to_float(from_float<f16>(f))) == round_mantissa(f, 10));
    REQUIRE(static_cast<double>(to_float(from_float<bf16>(-f))) == -round_mantissa(f, 7));
  }
}

TEST_CASE("narrowing keeps infinities and NaN, overflows to infinity", "[core][dtype]") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(to_float(from_float<bf16>(inf)) == inf);
  CHECK(to_float(from_float<bf16>(-inf)) == -inf);
  CHECK(std::isnan(to_float(from_float<bf16>(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(to_float(from_float<f16>(65520.0f)) == inf);  // rounds up past the largest finite
  CHECK(to_float(from_float<f16>(65519.0f)) == 65504.0f);
  CHECK(to_float(from_float<f16>(-1e9f)) == -inf);
  CHECK(std::isnan(to_float(from_float<f16>(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(to_float(from_float<f16>(0x1p-26f)) == 0.0f);  // below half the smallest subnormal
  CHECK(to_float(from_float<f16>(0x1.8p-25f)) == 0x1p-24f);
}

TEST_CASE("dtype names and sizes", "[core][dtype]") {
  CHECK(name(dtype::f32) == "f32");
  CHECK(name(dtype::bf16) == "bf16");
  CHECK(name(dtype::f16) == "f16");
  CHECK(size_of(dtype::f32) == 4);
  CHECK(size_of(dtype::bf16) == 2);
  STATIC_REQUIRE(dtype_of_v<bf16> == dtype::bf16);
  STATIC_REQUIRE(!StorageType<double>);
}
