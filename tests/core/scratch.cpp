#include <samba/core/scratch.hpp>

#include <cmath>
#include <cstdint>
#include <thread>

#include "support.hpp"

using namespace samba;

TEST_CASE("Scratch arena: nested buffers keep their contents while it grows, then it settles",
          "[core][scratch]") {
  release_thread_scratch();
  auto& arena = detail::ScratchArena::local();
  CHECK(arena.capacity() == 0);
  const auto pattern = [] {
    ScratchBuffer<float> a(100);
    for (index_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
    {
      ScratchBuffer<double> b(10000);  // more than the first block: a second block
      for (index_t i = 0; i < b.size(); ++i) b[i] = 0.5 * static_cast<double>(i);
      ScratchBuffer<std::int32_t> c(0);
      ScratchBuffer<std::uint16_t> d(7);
      CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
      CHECK(reinterpret_cast<std::uintptr_t>(c.data()) % 64 == 0);
      CHECK(reinterpret_cast<std::uintptr_t>(d.data()) % 64 == 0);
      for (index_t i = 0; i < b.size(); ++i) REQUIRE(b[i] == 0.5 * static_cast<double>(i));
    }
    ScratchBuffer<float> e(50000);  // after b is handed back: grows again
    e[49999] = 1.0f;
    for (index_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == static_cast<float>(i));
  };
  pattern();
  const std::size_t settled = arena.capacity();
  // The peak: a with e (b, c and d were handed back before e was taken).
  CHECK(settled >= (100 + 50000) * sizeof(float));
  pattern();  // the same calls again: no new block
  CHECK(arena.capacity() == settled);
  release_thread_scratch();
  CHECK(arena.capacity() == 0);
}

TEST_CASE("Scratch arena: one per thread, and the test build poisons new buffers",
          "[core][scratch]") {
  ScratchBuffer<float> here(16);
  const float* other = nullptr;
  std::thread([&] {
    ScratchBuffer<float> there(16);
    other = there.data();
    CHECK(detail::ScratchArena::local().capacity() > 0);
  }).join();
  CHECK(other != here.data());
#if defined(SAMBA_SCRATCH_POISON)
  for (float v : here) CHECK(std::isnan(v));
#endif
  CHECK_THROWS_WITH(ScratchBuffer<float>(-1), Catch::Contains("negative size"));
}
