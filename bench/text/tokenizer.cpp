// samba::Tokenizer's encode and decode speed (Google Benchmark): MB/s of text on one thread, for
// each tokenizer named on the command line, on one text file. scripts/run-tokenizer-bench.sh runs
// it beside the reference implementation on the same text (bench/text/reference_speed.mjs).
//
//   samba_bench_tokenizer TEXT_FILE NAME=DIR [NAME=DIR ...] [benchmark flags]
//
// Like the reference, the tokenizer keeps its word cache between calls: a run measures the steady
// state of a program that tokenizes a stream of text (the first iteration fills the cache).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <samba/text/tokenizer.hpp>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw samba::error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) try {
  benchmark::Initialize(&argc, argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: samba_bench_tokenizer TEXT_FILE NAME=DIR [NAME=DIR ...]\n");
    return 2;
  }
  static const std::string text = read_file(argv[1]);
  static std::vector<std::unique_ptr<samba::Tokenizer>> tokenizers;
  for (int a = 2; a < argc; ++a) {
    const std::string spec = argv[a];
    const auto eq = spec.find('=');
    if (eq == std::string::npos) throw samba::error("expected NAME=DIR, got " + spec);
    const std::string name = spec.substr(0, eq);
    tokenizers.push_back(
        std::make_unique<samba::Tokenizer>(samba::Tokenizer::from_directory(spec.substr(eq + 1))));
    const samba::Tokenizer* t = tokenizers.back().get();
    benchmark::RegisterBenchmark(
        ("encode/" + name).c_str(),
        [t](benchmark::State& st) {
          std::size_t tokens = 0;
          for (auto _ : st) {
            const auto ids = t->encode(text);
            tokens = ids.size();
            benchmark::DoNotOptimize(ids.data());
          }
          st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * text.size()));
          st.counters["tokens"] = static_cast<double>(tokens);
          st.counters["tok/s"] = benchmark::Counter(static_cast<double>(tokens),
                                                    benchmark::Counter::kIsIterationInvariantRate);
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        ("decode/" + name).c_str(),
        [t](benchmark::State& st) {
          const auto ids = t->encode(text);
          for (auto _ : st) {
            const std::string out = t->decode(ids);
            benchmark::DoNotOptimize(out.data());
          }
          st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * text.size()));
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "samba_bench_tokenizer: %s\n", e.what());
  return 1;
}
