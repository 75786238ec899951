// Helpers shared by the tests: random activations and error measures against the references.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <samba/reference/stack.hpp>
#include <samba/samba.hpp>
#include "configs.hpp"
#include "measures.hpp"

namespace samba::test {

// Relative L2 error ‖got − want‖ / ‖want‖ (the square root of ggml's NMSE; measures.hpp) of a
// view, whatever its strides.
inline double rel_error(ConstMatrixView<float> got, const reference::Matrix& want) {
  REQUIRE(got.rows() == want.rows);
  REQUIRE(got.cols() == want.cols);
  return rel_error_of(reference::Matrix::from(got).data, want.data);
}

inline double rel_error(ConstMatrixView<float> got, ConstMatrixView<float> want) {
  return rel_error(got, reference::Matrix::from(want));
}

// Relative L2 error of two equally long float sequences (logits rows, flattened outputs).
inline double rel_error(std::span<const float> got, std::span<const float> want) {
  return rel_error_of(got, want);
}

// Largest |got − want| over all elements.
inline double max_abs_diff(ConstMatrixView<float> got, ConstMatrixView<float> want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  double m = 0.0;
  for (index_t r = 0; r < got.rows(); ++r)
    for (index_t c = 0; c < got.cols(); ++c)
      m = std::max(m, std::abs(static_cast<double>(got(r, c)) - static_cast<double>(want(r, c))));
  return m;
}

// The relative error allowed for y = x · Wᵀ with W stored as W, by the kernels of `isa`: the f32
// products leave 1e-7; AMX multiplies bf16 weights by x split in two bf16 parts (cpu/amx.hpp),
// which leaves up to 2⁻¹⁶ |x| of each product out: a few 1e-6.
template <StorageType W>
double linear_tolerance(cpu_detail::Isa isa = cpu_detail::active_isa()) {
  return std::is_same_v<W, bf16> && isa >= cpu_detail::Isa::amx ? 1e-5 : 1e-6;
}

// Sets the process's Bf16Products (cpu/isa.hpp) for a scope, and puts the previous one back.
class Bf16ProductsScope {
 public:
  explicit Bf16ProductsScope(Bf16Products products) : saved_(bf16_products()) {
    set_bf16_products(products);
  }
  ~Bf16ProductsScope() { set_bf16_products(saved_); }
  Bf16ProductsScope(const Bf16ProductsScope&) = delete;
  Bf16ProductsScope& operator=(const Bf16ProductsScope&) = delete;

 private:
  Bf16Products saved_;
};

// The ISAs of the CPU kernels this CPU runs (cpu/isa.hpp), narrowest first: the kernel tests run
// each of them, whatever SAMBA_CPU_ISA says.
inline std::vector<cpu_detail::Isa> cpu_isas() {
  std::vector<cpu_detail::Isa> isas;
  for (auto isa : cpu_detail::all_isas)
    if (cpu_detail::cpu_runs(isa)) isas.push_back(isa);
  return isas;
}

// One forward_batch of a ragged batch over the rows of x (sequence s owns the next lens[s] rows,
// each from a fresh state), each sequence's rows checked against the same rows run alone
// (relative error ≤ 1e-6); returns the states, for checks of what they hold after the call.
template <class L>
std::vector<typename L::State> check_batch_equals_alone(const L& layer, ConstMatrixView<float> x,
                                                        const std::vector<index_t>& lens) {
  const index_t T = x.rows(), d = x.cols();
  std::vector<typename L::State> states;
  for (std::size_t i = 0; i < lens.size(); ++i) states.push_back(layer.make_state());
  std::vector<typename L::State*> ptrs;
  for (auto& s : states) ptrs.push_back(&s);
  HostBuffer<float> y(T * d);
  layer.forward_batch(ptrs, lens, x, y.view<2>({T, d}));
  index_t r0 = 0;
  for (const index_t len : lens) {
    const auto alone = run_chunked(layer, x.slice(r0, len), {len});
    CHECK(rel_error(y.view<2>({T, d}).slice(r0, len), alone.template view<2>({len, d})) <= 1e-6);
    r0 += len;
  }
  return states;
}

}  // namespace samba::test
