// Which vector instruction set the CPU kernels run, chosen at run time.
//
// The hand-written kernels (the GEMM's micro-kernel, the selective scan, the skinny GEMV, exp, dot
// products, widening of bf16/f16) exist in a portable version and in versions compiled for a wider
// ISA inside a target region (SAMBA_TARGET_AVX2_BEGIN / SAMBA_TARGET_AVX512_BEGIN …
// SAMBA_TARGET_END: GCC's `#pragma GCC target`, clang's `#pragma clang attribute`). A program
// compiled with default flags (baseline x86-64) therefore still runs the vector kernels on a CPU
// that has them: each kernel asks active_isa() once per call and takes the widest version the CPU
// runs (a kernel without an AVX-512 version runs its AVX2 one there). Compiling with -march=native
// changes only what the compiler does with the plain loops around them.
//
// active_isa() is the best ISA of this CPU, capped by the environment variable SAMBA_CPU_ISA
// (`portable`, `avx2`, `avx512`, `avx512bf16`, `amx`): a way to run or measure the narrower paths
// on a machine that has more (ctest runs the kernel tests once per ISA that way). It is read once
// per process.
//
// bf16_products() says how the prefill GEMM multiplies bf16 weights by f32 activations on a CPU
// with bf16 dot products (AVX512-BF16, AMX): exactly (the default; f32 accuracy) or with the
// activations rounded to bf16 (twice the rate, ggml's and oneDNN's way). See Bf16Products.
#pragma once

#include <array>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "samba/cpu/intrinsics.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#define SAMBA_CPU_X86 1
#else
#define SAMBA_CPU_X86 0
#endif

// Functions defined between SAMBA_TARGET_AVX2_BEGIN and SAMBA_TARGET_END (templates and lambdas
// included) are compiled for AVX2 + FMA + F16C whatever the program's flags; they may only run
// where active_isa() >= Isa::avx2. SAMBA_TARGET_AVX512_BEGIN: the same for AVX-512 (F, BW, DQ,
// VL: Skylake-SP, Zen 4 and later) on top of those; SAMBA_TARGET_AVX512BF16_BEGIN adds
// AVX512-BF16's bf16 dot products (Cooper Lake, Sapphire Rapids, Zen 4 and later).
#if SAMBA_CPU_X86 && defined(__clang__)
// clang-format off
#define SAMBA_TARGET_AVX2_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,f16c\"))), apply_to = function)")
#define SAMBA_TARGET_AVX512_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c\"))), apply_to = function)")
#define SAMBA_TARGET_AVX512BF16_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512bf16,avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c\"))), apply_to = function)")
// clang-format on
#define SAMBA_TARGET_END _Pragma("clang attribute pop")
#elif SAMBA_CPU_X86 && defined(__GNUC__)
#define SAMBA_TARGET_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,f16c\")")
// clang-format off
#define SAMBA_TARGET_AVX512_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c\")")
#define SAMBA_TARGET_AVX512BF16_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx512bf16,avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c\")")
// clang-format on
#define SAMBA_TARGET_END _Pragma("GCC pop_options")
#endif
// Where the AVX2 kernels are compiled at all (x86 with GCC or clang).
#if defined(SAMBA_TARGET_AVX2_BEGIN)
#define SAMBA_CPU_HAS_AVX2_KERNELS 1
#else
#define SAMBA_CPU_HAS_AVX2_KERNELS 0
#endif
// The AMX kernels (cpu/amx.hpp: inline assembly, x86-64) need Linux to grant the process the tile
// data state (arch_prctl, Linux ≥ 5.16).
#if SAMBA_CPU_HAS_AVX2_KERNELS && defined(__x86_64__) && defined(__linux__)
#define SAMBA_CPU_HAS_AMX_KERNELS 1
#include <sys/syscall.h>
#include <unistd.h>
#else
#define SAMBA_CPU_HAS_AMX_KERNELS 0
#endif

namespace samba::cpu_detail {

// Ordered: a CPU that runs one runs every ISA before it. `avx512bf16` is AVX-512 with VDPBF16PS
// (Zen 4; Intel Xeon 3rd generation and later), `amx` that with the AMX tile unit's bf16 products
// (Intel Xeon 4th generation and later); only the bf16 GEMM (cpu/gemm.hpp, cpu/amx.hpp) differs.
enum class Isa : int { portable = 0, avx2 = 1, avx512 = 2, avx512bf16 = 3, amx = 4 };
inline constexpr Isa widest_isa = SAMBA_CPU_HAS_AMX_KERNELS    ? Isa::amx
                                  : SAMBA_CPU_HAS_AVX2_KERNELS ? Isa::avx512
                                                               : Isa::portable;

inline constexpr std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    case Isa::avx512bf16:
      return "avx512bf16";
    case Isa::amx:
      return "amx";
    case Isa::portable:
      break;
  }
  return "portable";
}

// Every ISA, narrowest first.
inline constexpr std::array<Isa, 5> all_isas = {Isa::portable, Isa::avx2, Isa::avx512,
                                                Isa::avx512bf16, Isa::amx};

// The ISA that isa_name() calls `name`, if any.
inline constexpr std::optional<Isa> isa_from_name(std::string_view name) {
  for (Isa isa : all_isas)
    if (isa_name(isa) == name) return isa;
  return std::nullopt;
}

#if SAMBA_CPU_HAS_AMX_KERNELS
// AMX-TILE and AMX-BF16 (CPUID leaf 7, EDX bits 24 and 22), tile state enabled by the OS (XCR0
// bits 17 and 18), and this process's permission to use it, which Linux grants on request.
inline bool amx_usable() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  if (!((edx >> 24) & 1u) || !((edx >> 22) & 1u)) return false;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  asm volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if (((xcr0_lo >> 17) & 3u) != 3u) return false;
  constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
  return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}
#endif

// The widest ISA whose kernels this CPU (and its operating system) can run.
inline Isa detected_isa() noexcept {
  static const Isa isa = [] {
#if SAMBA_CPU_HAS_AVX2_KERNELS
    // The builtins' checks include the OS's support for the AVX registers; F16C (which clang's
    // builtin does not name) is CPUID leaf 1, ECX bit 29.
    __builtin_cpu_init();
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c))
      return Isa::portable;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
      // AVX512-BF16: CPUID leaf 7, sub-leaf 1, EAX bit 5.
      if (!(__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && ((eax >> 5) & 1u)))
        return Isa::avx512;
#if SAMBA_CPU_HAS_AMX_KERNELS
      if (amx_usable()) return Isa::amx;
#endif
      return Isa::avx512bf16;
    }
    return Isa::avx2;
#endif
    return Isa::portable;
  }();
  return isa;
}

// The ISA the kernels run: detected_isa(), capped by SAMBA_CPU_ISA when it names a narrower one.
// An unknown value is ignored (the kernels must run whatever the environment says).
inline Isa active_isa() noexcept {
  static const Isa isa = [] {
    Isa cap = widest_isa;
    if (const char* env = std::getenv("SAMBA_CPU_ISA"))
      cap = isa_from_name(env).value_or(widest_isa);
    return static_cast<int>(cap) < static_cast<int>(detected_isa()) ? cap : detected_isa();
  }();
  return isa;
}

// Whether this CPU can run `isa`'s kernels (the tests run each ISA that passes).
inline bool cpu_runs(Isa isa) noexcept {
  return static_cast<int>(isa) <= static_cast<int>(detected_isa());
}

}  // namespace samba::cpu_detail

namespace samba {

// How the CPU backend's prefill GEMM multiplies bf16 weights by f32 activations x, where the CPU
// has bf16 dot products (cpu_detail::Isa::avx512bf16 and amx). Elsewhere, and in the decode GEMVs
// (few rows: memory-bound), the weights are widened to f32 and both settings give the same bits.
enum class Bf16Products {
  // x split as hi = bf16(x) plus lo = bf16(x − hi), both multiplied (AMX), or the weights widened
  // to
  // f32 (AVX512-BF16, where the two products would run no faster than f32 FMAs): the f32 result
  // within 1e-5. The default.
  exact,
  // x rounded to bf16 and multiplied once: twice the rate of `exact` on the tile unit, and twice
  // the f32 FMA rate with VDPBF16PS where the CPU runs it at the FMA's rate (AMD Zen 4). Each
  // product loses up to 2⁻⁹ of its size: about 2e-3 relative on a projection's outputs. ggml and
  // oneDNN multiply bf16 weights this way.
  rounded,
};

namespace cpu_detail {
// The setting, first read from the environment variable SAMBA_BF16_PRODUCTS (`exact`, `rounded`;
// anything else means exact).
inline std::atomic<int>& bf16_products_setting() noexcept {
  static std::atomic<int> setting{[] {
    const char* env = std::getenv("SAMBA_BF16_PRODUCTS");
    return static_cast<int>(env && std::string_view(env) == "rounded" ? Bf16Products::rounded
                                                                      : Bf16Products::exact);
  }()};
  return setting;
}
}  // namespace cpu_detail

// The current setting: the process's, for every thread.
inline Bf16Products bf16_products() noexcept {
  return static_cast<Bf16Products>(
      cpu_detail::bf16_products_setting().load(std::memory_order_relaxed));
}
inline void set_bf16_products(Bf16Products products) noexcept {
  cpu_detail::bf16_products_setting().store(static_cast<int>(products), std::memory_order_relaxed);
}

}  // namespace samba
