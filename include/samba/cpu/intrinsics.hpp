// The x86 intrinsics headers, included once for the CPU backend (simd.hpp, and Eigen through
// eigen.hpp).
//
// Why a header of its own: GCC 12 reports -Wmaybe-uninitialized (at -O3) or -Wuninitialized (at
// -O1 with the sanitizers) inside its own AVX-512 intrinsics (the deliberately undefined vectors of
// _mm512_unpacklo_ps and kin, GCC PR 105593) once Eigen's AVX-512 GEMM packing is inlined into a
// caller, which fails any -Werror build compiled for an AVX-512 CPU. GCC decides by the location of
// the code it warns about, so silencing the warning around these includes covers the compiler's
// headers and no line of the including program.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#define SAMBA_SILENCE_HEADER_WARNINGS_BEGIN                                                  \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define SAMBA_SILENCE_HEADER_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define SAMBA_SILENCE_HEADER_WARNINGS_BEGIN
#define SAMBA_SILENCE_HEADER_WARNINGS_END
#endif

#if defined(__x86_64__) || defined(__i386__)
SAMBA_SILENCE_HEADER_WARNINGS_BEGIN
#include <immintrin.h>
SAMBA_SILENCE_HEADER_WARNINGS_END
#endif

namespace samba::cpu_detail {

// Asks for the cache line at p (prefetcht0) wherever the caller is compiled. Written as assembly
// because GCC 12 silently drops __builtin_prefetch and _mm_prefetch in code inlined into a
// function outside the headers' target regions (the selective scan's blocks had no prefetch left
// in a -march=native build).
inline void prefetch_t0(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace samba::cpu_detail
