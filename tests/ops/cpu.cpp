// The op harness (ops/harness.hpp) on the CPU backend: every row, every weight type, against the
// references. Tagged [layers], so the isa.* tests run it once more per vector ISA of this CPU.
#include "ops/harness.hpp"
#include "support.hpp"

namespace {

using namespace samba;

struct CpuIo {
  using backend = cpu;
  static constexpr const char* name = "cpu";
  template <StorageType W>
  static double tolerance() {
    return 5e-5;  // f32 arithmetic; bf16/f16 weights are widened exactly
  }
  template <class L>
  static std::string supports(const L&) {
    return "";
  }

  // y of x [T, d] run in chunks of the given sizes (cycled) from a fresh state.
  template <class L>
  static std::vector<float> chunked(const L& layer, const std::vector<float>& x, index_t d,
                                    const std::vector<index_t>& chunks) {
    const auto T = static_cast<index_t>(x.size()) / d;
    const HostBuffer<float> y =
        test::run_chunked(layer, ConstMatrixView<float>(x.data(), {T, d}), chunks);
    return {y.begin(), y.end()};
  }

  // y of a ragged batch: sequence s owns the next lengths[s] rows, each from a fresh state.
  template <class L>
  static std::vector<float> batch(const L& layer, const std::vector<float>& x, index_t d,
                                  const std::vector<index_t>& lengths) {
    const auto T = static_cast<index_t>(x.size()) / d;
    std::vector<typename L::State> states;
    for (std::size_t s = 0; s < lengths.size(); ++s) states.push_back(layer.make_state());
    std::vector<typename L::State*> pointers;
    for (auto& s : states) pointers.push_back(&s);
    std::vector<float> y(x.size());
    samba::forward_batch(layer, std::span<typename L::State* const>(pointers), lengths,
                         ConstMatrixView<float>(x.data(), {T, d}),
                         MatrixView<float>(y.data(), {T, d}));
    return y;
  }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("op harness on the CPU: every layer against the reference", "[ops][layers]",
                        samba::ops::Rows) {
  samba::ops::run_row_all_types<CpuIo, TestType>();
}
