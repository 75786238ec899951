// The kernel tests again, compiled with -mavx2 -mfma -mf16c so that the kernels' AVX2 paths are the
// ones tested (tests/CMakeLists.txt). Exit code 77 (ctest: skipped) on a CPU without them.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <samba/cpu/simd.hpp>

#if !SAMBA_CPU_AVX2 || !defined(__F16C__)
#error "samba_tests_avx2 must be compiled with -mavx2 -mfma -mf16c"
#endif

int main(int argc, char** argv) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
      !__builtin_cpu_supports("f16c")) {
    std::puts("skipped: this CPU lacks AVX2, FMA or F16C");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
