// Threading of the CPU kernels: OpenMP, when the user's program is compiled with it.
//
// The library never starts threads of its own. A program built with -fopenmp (CMake:
// OpenMP::OpenMP_CXX) gets the kernels' loops over output rows, channels and heads split across
// OpenMP's threads (cpu/gemm.hpp's GEMMs split their outputs); the thread count is OpenMP's
// (OMP_NUM_THREADS, omp_set_num_threads). Without -fopenmp the pragmas vanish and every kernel
// runs on the calling thread. Linear layers give the same bits on any thread count (each thread
// computes whole output elements, in the single-thread order); decode-sized attention splits its
// keys per thread and merges the partial softmaxes, so its results move in the last bits with the
// thread count.
#pragma once

#if defined(_OPENMP)
#include <omp.h>
#endif

#define SAMBA_DETAIL_PRAGMA(x) _Pragma(#x)
#if defined(_OPENMP)
// A parallel loop over independent iterations, split only when `cond` says the work is worth it.
#define SAMBA_PARALLEL_FOR_IF(cond) SAMBA_DETAIL_PRAGMA(omp parallel for schedule(static) if (cond))
#else
#define SAMBA_PARALLEL_FOR_IF(cond)
#endif

namespace samba::cpu_detail {

// Below this many multiply-adds a loop is not worth waking other threads for.
inline constexpr long long parallel_min_work = 1 << 16;

// Threads a parallel loop would get here (1 without OpenMP, or inside a parallel region).
inline long max_threads() {
#if defined(_OPENMP)
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace samba::cpu_detail
