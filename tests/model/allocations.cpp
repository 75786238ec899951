// A session in steady state allocates nothing: every forward's scratch comes from the thread's
// scratch arena (core/scratch.hpp), and a sliding-window cache stops growing once it holds the
// window. Counted by replacing the global operator new of samba_tests (this file), which counts
// only while a test asks it to. Left out of the sanitizer builds, whose runtimes own operator new.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SAMBA_TESTS_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SAMBA_TESTS_SANITIZED 1
#endif

#if !defined(SAMBA_TESTS_SANITIZED)

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>

#include "support.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* allocate(std::size_t n, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  n = std::max<std::size_t>(n, 1);
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(n)
                : std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Allocations (operator new, any thread) while f runs.
template <class F>
long allocations_during(F&& f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations.load();
}

}  // namespace

void* operator new(std::size_t n) {
  return allocate(n, 0);
}
void* operator new[](std::size_t n) {
  return allocate(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

using namespace samba;

TEST_CASE("A session in steady state allocates nothing per chunk or per token", "[model][alloc]") {
  const auto name = GENERATE("samba_f32", "samba_bf16", "mistral_f32", "samba_mb3_f32");
  INFO(name);
  const auto model = load_model(std::filesystem::path(SAMBA_MODEL_DATA_DIR) / name);
  Session session(model, 8);
  std::vector<std::int32_t> chunk(24);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::int32_t>(i % 50);
  const auto run = [&] {
    session.prefill(chunk, 24);
    for (int i = 0; i < 20; ++i) session.decode(static_cast<std::int32_t>(i % 50));
  };
  run();  // the first call of each shape sizes the arenas; caches fill their windows
  run();
  const long during = allocations_during([&] {
    for (int r = 0; r < 3; ++r) run();
  });
  CHECK(during == 0);

  // Batched decode too.
  std::vector<Session> members(3, session);
  std::vector<Session*> pointers;
  for (Session& s : members) pointers.push_back(&s);
  const std::int32_t next[] = {1, 2, 3};
  const auto step = [&] {
    for (int i = 0; i < 10; ++i) Session::decode_batch(pointers, next);
  };
  step();
  CHECK(allocations_during(step) == 0);

  // The counter counts: a call that must allocate is seen.
  CHECK(allocations_during([] { delete new int(1); }) == 1);
}

#endif  // !SAMBA_TESTS_SANITIZED
