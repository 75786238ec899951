#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <samba/cpu/simd.hpp>

// SAMBA_TESTS_AVX2 (tests/CMakeLists.txt): this build must test the kernels' AVX2 paths.
#if defined(SAMBA_TESTS_AVX2) && !(SAMBA_CPU_AVX2 && defined(__F16C__))
#error "SAMBA_TESTS_AVX2 builds need -mavx2 -mfma -mf16c"
#endif
