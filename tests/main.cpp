// samba_tests' main: Catch2's, after one check of the environment.
//
// SAMBA_CPU_ISA (cpu/isa.hpp) caps the ISA of the CPU kernels; ctest runs the kernel tests once
// per ISA that way (tests/CMakeLists.txt). Where this CPU cannot run the ISA asked for, the run
// exits with 77, which ctest reports as skipped: a run that cannot test the ISA never passes. The
// rerun of the ISA this CPU runs anyway (SAMBA_TESTS_ISA_RERUN set by ctest's isa.* tests) is the
// discovered tests over again, and exits with 77 too, saying so.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <samba/cpu/isa.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

int main(int argc, char* argv[]) {
  using namespace samba::cpu_detail;
  if (const char* env = std::getenv("SAMBA_CPU_ISA")) {
    const std::optional<Isa> want = isa_from_name(env);
    if (!want) {
      std::printf(
          "SAMBA_CPU_ISA=%s names no ISA of the CPU kernels (portable, avx2, avx512, avx512bf16, "
          "amx)\n",
          env);
      return 2;
    }
    if (*want != active_isa()) {
      std::printf("skipped: SAMBA_CPU_ISA=%s, but this CPU and build run the %s kernels at most\n",
                  env, std::string(isa_name(detected_isa())).c_str());
      return 77;
    }
    if (*want == detected_isa() && std::getenv("SAMBA_TESTS_ISA_RERUN")) {
      std::printf("skipped: %s is this CPU's widest ISA, which the other tests run already\n", env);
      return 77;
    }
  }
  return Catch::Session().run(argc, argv);
}
