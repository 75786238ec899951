// Storage dtypes: f32, bf16 and f16. Compute is always f32; bf16/f16 only describe how numbers are
// stored (weights today, activations or caches later), so all that is needed here is exact
// conversion: widening is lossless, narrowing rounds to nearest, ties to even, and keeps NaN/Inf.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string_view>
#include <type_traits>

namespace samba {

enum class dtype : std::uint8_t { f32, bf16, f16 };

// bfloat16: the top 16 bits of an IEEE binary32.
struct bf16 {
  std::uint16_t bits = 0;
};

// IEEE binary16.
struct f16 {
  std::uint16_t bits = 0;
};

constexpr std::string_view name(dtype t) {
  switch (t) {
    case dtype::f32:
      return "f32";
    case dtype::bf16:
      return "bf16";
    case dtype::f16:
      return "f16";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& os, dtype t) {
  return os << name(t);
}

constexpr std::size_t size_of(dtype t) {
  return t == dtype::f32 ? 4 : 2;
}

template <class T>
inline constexpr bool is_storage_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

template <class T>
concept StorageType = is_storage_type_v<T>;

template <StorageType T>
inline constexpr dtype dtype_of_v = std::is_same_v<T, float>  ? dtype::f32
                                    : std::is_same_v<T, bf16> ? dtype::bf16
                                                              : dtype::f16;

// --- conversions -------------------------------------------------------------------------------

constexpr float to_float(float x) {
  return x;
}

constexpr float to_float(bf16 x) {
  return std::bit_cast<float>(std::uint32_t{x.bits} << 16);
}

constexpr float to_float(f16 x) {
  const std::uint32_t sign = std::uint32_t{x.bits & 0x8000u} << 16;
  const std::uint32_t exp = (x.bits >> 10) & 0x1fu;
  std::uint32_t mant = x.bits & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf / nan
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return std::bit_cast<float>(sign);  // signed zero
  // Subnormal half: normalise into a binary32 normal.
  std::uint32_t e = 113;
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (e << 23) | ((mant & 0x3ffu) << 13));
}

template <StorageType T>
constexpr T from_float(float x);

template <>
constexpr float from_float<float>(float x) {
  return x;
}

template <>
constexpr bf16 from_float<bf16>(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
  const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // ties to even
  return bf16{static_cast<std::uint16_t>((u + rounding) >> 16)};
}

template <>
constexpr f16 from_float<f16>(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return f16{static_cast<std::uint16_t>(sign | 0x7e00u)};   // nan
  if (a >= 0x477ff000u) return f16{static_cast<std::uint16_t>(sign | 0x7c00u)};  // rounds to inf
  if (a >= 0x38800000u) {                                                        // normal half
    const std::uint32_t rounding = 0xfffu + ((a >> 13) & 1u);
    return f16{static_cast<std::uint16_t>(sign | ((a - 0x38000000u + rounding) >> 13))};
  }
  if (a < 0x33000000u) return f16{sign};  // below half the smallest subnormal: zero
  // Subnormal half: shift the full significand, round to nearest even on the dropped bits.
  const std::uint32_t exp = a >> 23;
  const std::uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126 - exp;  // 14..24
  std::uint32_t half = mant >> shift;
  const std::uint32_t rest = mant & ((1u << shift) - 1u);
  const std::uint32_t mid = 1u << (shift - 1);
  if (rest > mid || (rest == mid && (half & 1u))) ++half;
  return f16{static_cast<std::uint16_t>(sign | half)};
}

}  // namespace samba
