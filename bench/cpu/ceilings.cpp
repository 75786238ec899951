// This machine's ceilings, measured in the same run as the layers (PEERS.md: compare ratios to the
// ceiling of the same run, never absolute figures across runs):
//   sgemm   Eigen's f32 GEMM, 2048³ (C = A·B), GFLOP/s = 2·2048³ / time
//   samba_gemm  samba's own (cpu/gemm.hpp), the same size (C = A·Bᵀ): not a ceiling, the GEMM the
//           layers run, reported beside Eigen's
//   memcpy  1 GiB → 1 GiB, GB/s = 2 GiB (read + write) / time, split over the threads
//   read    1 GiB read once (an XOR of its 64-bit words), GB/s = 1 GiB / time, split over the
//           threads: what a decode step does with the weights, which it reads and never writes
// Both on SAMBA_BENCH_THREADS threads, compiled with the same flags as the layer benchmarks.
#include <cstdint>
#include <cstring>

#include <samba/cpu/eigen.hpp>  // Eigen, through the header that keeps its warnings out

#include "common.hpp"

namespace samba_bench {
namespace {

void sgemm(benchmark::State& st) {
  const Eigen::Index n = 2048;
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  for (auto _ : st) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double f = 2.0 * static_cast<double>(n * n * n);
  set_counters(st, {0, f, 3.0 * f32_bytes * static_cast<double>(n * n)});
}

// The same product through samba's own GEMM (cpu/gemm.hpp, C = A · Bᵀ, the micro-kernel of this
// CPU's widest ISA): what the layers' prefill runs on, against the Eigen figure above.
void samba_gemm(benchmark::State& st) {
  const index_t n = 2048;
  const auto a = random_rows(n, n), b = random_rows(n, n);
  HostBuffer<float> c(n * n);
  for (auto _ : st) {
    cpu_detail::gemm(a.view<2>({n, n}), b.data(), n, n, c.view<2>({n, n}));
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double f = 2.0 * static_cast<double>(n * n * n);
  set_counters(st, {0, f, 3.0 * f32_bytes * static_cast<double>(n * n)});
}

// Each thread copies (and first touched) its own contiguous share.
void copy_split(char* dst, const char* src, std::size_t bytes) {
#pragma omp parallel
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto n = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t share = (bytes / n + 4095) & ~std::size_t{4095};
    const std::size_t begin = std::min(bytes, t * share), end = std::min(bytes, begin + share);
    if (dst)
      std::memcpy(dst + begin, src + begin, end - begin);
    else
      std::memset(const_cast<char*>(src) + begin, static_cast<int>(t + 1), end - begin);
  }
}

void memcpy_ceiling(benchmark::State& st) {
  const std::size_t bytes = std::size_t{1} << 30;
  const std::unique_ptr<char[]> src(new char[bytes]), dst(new char[bytes]);
  copy_split(nullptr, src.get(), bytes);  // fault the pages in, on the threads that use them
  copy_split(nullptr, dst.get(), bytes);
  for (auto _ : st) {
    copy_split(dst.get(), src.get(), bytes);
    benchmark::DoNotOptimize(dst.get());
    benchmark::ClobberMemory();
  }
  set_counters(st, {0, 0, 2.0 * static_cast<double>(bytes)});
}

// Each thread reads its own share (paged in by the same thread) and folds it into one word, so that
// nothing is written and the compiler keeps every load.
void read_ceiling(benchmark::State& st) {
  const auto bytes = static_cast<std::size_t>(st.range(0)) << 20;
  const std::unique_ptr<char[]> src(new char[bytes]);
  copy_split(nullptr, src.get(), bytes);
  for (auto _ : st) {
    std::uint64_t folded = 0;
#pragma omp parallel reduction(^ : folded)
    {
      const auto t = static_cast<std::size_t>(omp_get_thread_num());
      const auto n = static_cast<std::size_t>(omp_get_num_threads());
      const std::size_t share = (bytes / n + 4095) & ~std::size_t{4095};
      const std::size_t begin = std::min(bytes, t * share), end = std::min(bytes, begin + share);
      std::uint64_t f = 0;
      for (std::size_t i = begin; i + 8 <= end; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, src.get() + i, 8);
        f ^= w;
      }
      folded ^= f;
    }
    benchmark::DoNotOptimize(folded);
  }
  set_counters(st, {0, 0, static_cast<double>(bytes)});
}

void register_benchmarks() {
  // Best of 3 repetitions is the ceiling (bench/report.py); the min time is fixed here so that the
  // ceilings do not depend on the --benchmark_min_time the layers run with.
  const Dims gemm{"2048", {}}, copy{"1GiB", {}};
  add(bench_name("sgemm_ceiling", gemm, "f32", "ceiling", 0, 0, 1), sgemm)
      ->MinTime(0.5)
      ->Repetitions(3);
  add(bench_name("samba_gemm_ceiling", gemm, "f32", "ceiling", 0, 0, 1), samba_gemm)
      ->MinTime(0.5)
      ->Repetitions(3);
  add(bench_name("memcpy_ceiling", copy, "u8", "ceiling", 0, 0, 1), memcpy_ceiling)
      ->MinTime(0.5)
      ->Repetitions(3);
  for (const int mib : {16, 64, 128, 256, 1024})
    add(bench_name("read_ceiling", Dims{std::to_string(mib) + "MiB", {}}, "u8", "ceiling", 0, 0, 1),
        read_ceiling)
        ->Arg(mib)
        ->MinTime(0.5)
        ->Repetitions(3);
}

}  // namespace
}  // namespace samba_bench

SAMBA_BENCH_MAIN(samba_bench::register_benchmarks)
