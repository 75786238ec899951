#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <samba/samba.hpp>

#include "configs.hpp"

using namespace samba;

TEST_CASE("TensorView indexes through strides and slices rows", "[core][tensor]") {
  std::vector<float> data(4 * 6);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  // A [4, 3] view of every other column of a [4, 6] matrix.
  TensorView<float, 2> v(data.data(), {4, 3}, {6, 2});
  CHECK(v(2, 1) == 14.0f);
  CHECK_FALSE(v.is_contiguous());
  auto s = v.slice(1, 2);
  CHECK(s.rows() == 2);
  CHECK(s(0, 0) == 6.0f);
  CHECK_THROWS_WITH(v.slice(3, 2), Catch::Contains("out of range"));
  TensorView<const float, 2> c = v;  // mutable → const
  CHECK(c(3, 2) == 22.0f);
  CHECK(TensorView<float, 2>(data.data(), {4, 6}).is_contiguous());
  CHECK_THROWS_WITH((TensorView<float, 2>(data.data(), {-1, 6})),
                    Catch::Contains("negative extent"));
}

TEST_CASE("TensorView maps onto Eigen without copying", "[core][tensor]") {
  HostBuffer<float> b(3 * 5);
  auto v = b.view<2>({3, 5});
  auto m = as_eigen(v);
  m.setConstant(2.0f);
  m(1, 4) = 7.0f;
  CHECK(b[9] == 7.0f);
  CHECK(m.data() == b.data());
  // Padded rows: a [3, 4] view with row stride 5.
  MatrixView<float> padded(b.data(), {3, 4}, {5, 1});
  CHECK(as_eigen(padded)(2, 0) == b[10]);
}

TEST_CASE("HostBuffer is aligned, zeroed, copyable and checks view sizes", "[core][tensor]") {
  HostBuffer<float> b(37);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
  for (float f : b) CHECK(f == 0.0f);
  b[5] = 3.0f;
  HostBuffer<float> c = b;
  c[5] = 4.0f;
  CHECK(b[5] == 3.0f);
  CHECK(b.bytes() == 37 * sizeof(float));
  CHECK_THROWS_WITH(b.view<2>({5, 8}), Catch::Contains("40 elements over a buffer of 37"));
  CHECK_THROWS_AS(HostBuffer<float>(-1), samba::error);
}

TEST_CASE("Tensor shares immutable storage and converts dtypes", "[core][tensor]") {
  HostBuffer<float> b(6);
  for (index_t i = 0; i < 6; ++i) b[i] = 0.5f * static_cast<float>(i) + 0.001f;
  Tensor<float> t(Shape{2, 3}, std::move(b));
  Tensor<float> u = t;  // shares
  CHECK(u.data() == t.data());
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.bytes() == 24);
  auto h = t.to<bf16>();
  CHECK(h.dtype() == dtype::bf16);
  CHECK(h.shape() == t.shape());
  for (index_t i = 0; i < 6; ++i)
    CHECK(to_float(h.data()[i]) == to_float(from_float<bf16>(t.data()[i])));
  CHECK(t.view<2>()(1, 2) == t.data()[5]);
  CHECK_THROWS_WITH(t.view<1>(), Catch::Contains("rank-1 view of a tensor of shape [2, 3]"));
  CHECK_THROWS_WITH(Tensor<float>(Shape{4}, HostBuffer<float>(3)),
                    Catch::Contains("needs 4 elements"));

  // Many readers at once (the storage is read-only): a smoke test for sharing across threads.
  std::vector<std::thread> readers;
  std::vector<double> sums(4);
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&, r] {
      Tensor<float> mine = t;
      for (float f : mine.span()) sums[static_cast<std::size_t>(r)] += f;
    });
  for (auto& th : readers) th.join();
  for (double s : sums) CHECK(s == Approx(7.506));
}

TEST_CASE("an empty tensor has no elements: absent biases count as no parameters",
          "[core][tensor]") {
  const Tensor<float> none;
  CHECK(none.empty());
  CHECK(none.numel() == 0);
  CHECK(none.bytes() == 0);
  CHECK(none.span().empty());
  // A layer's optional weights add nothing when absent, their size when present.
  Random rng(1);
  const index_t d = 6, f = 10;
  CHECK(SwiGLU<>::random({d, f}, rng).parameter_count() == static_cast<std::size_t>(3 * d * f));
  SwiGLUConfig biased{d, f};
  biased.bias = true;
  CHECK(SwiGLU<>::random(biased, rng).parameter_count() ==
        static_cast<std::size_t>(3 * d * f + 2 * f + d));
  const auto attn = test::attn_config(8, 2, 1, 4, 3, -1, 500.0);
  CHECK(SlidingWindowAttention<>::random(attn, rng).parameter_count() ==
        static_cast<std::size_t>(8 * 8 + 2 * 8 * 4 + 8 * 8));
}

TEST_CASE("check_shape names the layer, the tensor and both shapes", "[core][tensor]") {
  Tensor<float> t(Shape{6, 4}, HostBuffer<float>(24));
  CHECK_NOTHROW(check_shape(t, "MambaLayer", "in_proj", {6, 4}));
  CHECK_THROWS_WITH(check_shape(t, "MambaLayer", "in_proj", {16, 4}),
                    "MambaLayer: tensor 'in_proj' has shape [6, 4], expected [16, 4]");
  CHECK_THROWS_WITH(check_shape(Tensor<float>{}, "SwiGLU", "up", {2, 2}),
                    Catch::Contains("tensor 'up' is missing"));
  CHECK_THROWS_WITH(Shape({1, 2, 3, 4, 5}), Catch::Contains("rank 5 exceeds"));
}
