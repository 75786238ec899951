// The op harness (ops/harness.hpp) on the CUDA backend: the same rows as on the CPU, data moved to
// the device and back; the shapes past what the kernels compile in are refused and reported as
// skipped.
#include "ops/harness.hpp"
#include "support.cuh"

namespace {

using namespace samba;

struct CudaIo {
  using backend = samba::cuda;
  static constexpr const char* name = "cuda";
  template <StorageType W>
  static double tolerance() {
    return test::tolerance_v<W>;
  }
  template <class L>
  static std::string supports(const L& layer) {
    if constexpr (requires { layer.config().d_state; } &&
                  std::is_same_v<typename L::Config, MambaConfig>) {
      const MambaConfig& c = layer.config();
      if (c.d_conv > cuda_detail::mamba_max_conv)
        return detail::concat("d_conv ", c.d_conv, " > ", cuda_detail::mamba_max_conv);
      if (c.d_state > cuda_detail::mamba_max_d_state)
        return detail::concat("d_state ", c.d_state, " > ", cuda_detail::mamba_max_d_state);
    }
    if constexpr (std::is_same_v<typename L::Config, RGLRUConfig>) {
      if (layer.config().conv_width > cuda_detail::mamba_max_conv)
        return detail::concat("conv_width ", layer.config().conv_width, " > ",
                              cuda_detail::mamba_max_conv);
    }
    return "";
  }

  template <class L>
  static std::vector<float> chunked(const L& layer, const std::vector<float>& x, index_t d,
                                    const std::vector<index_t>& chunks) {
    HostBuffer<float> hx(static_cast<index_t>(x.size()));
    std::copy(x.begin(), x.end(), hx.begin());
    const HostBuffer<float> y = test::run_chunked(layer, hx, d, chunks);
    return {y.begin(), y.end()};
  }

  template <class L>
  static std::vector<float> batch(const L& layer, const std::vector<float>& x, index_t d,
                                  const std::vector<index_t>& lengths) {
    const auto T = static_cast<index_t>(x.size()) / d;
    HostBuffer<float> hx(T * d);
    std::copy(x.begin(), x.end(), hx.begin());
    const DeviceBuffer<float> dx = to_device(hx);
    DeviceBuffer<float> dy(T * d);
    std::vector<typename L::State> states;
    for (std::size_t s = 0; s < lengths.size(); ++s) states.push_back(layer.make_state());
    std::vector<typename L::State*> pointers;
    for (auto& s : states) pointers.push_back(&s);
    samba::forward_batch(layer, std::span<typename L::State* const>(pointers), lengths,
                         ConstMatrixView<float>(dx.view<2>({T, d})), dy.view<2>({T, d}));
    const HostBuffer<float> y = to_host(dy);
    return {y.begin(), y.end()};
  }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("op harness on CUDA: every layer against the reference", "[cuda][ops]",
                        samba::ops::Rows) {
  samba::ops::run_row_all_types<CudaIo, TestType>();
}
