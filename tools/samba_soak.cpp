// samba-soak: streams many tokens through one Session of a small random Samba model and checks,
// as it goes, what must hold however long a sequence runs:
//
//   - every logit is finite;
//   - a snapshot is independent of the session it was copied from: at each checkpoint the session
//     is forked, the session runs on, and the fork, fed the same tokens, reproduces its logits
//     bitwise (same chunking, so the same arithmetic);
//   - memory is flat: the state's bytes never move once the attention window is full, and the
//     process's resident memory (VmRSS) at the last checkpoint is within --rss-slack of the first.
//
//   samba-soak [--tokens N] [--prefill N] [--chunk N] [--d-model N] [--window N] [--seed N]
//
// The first --prefill tokens (random ids) go in chunks of --chunk; the rest are decoded one at a
// time, each sampled from the previous logits. Checkpoints fall at 1K, 10K, 100K, 1M, ... tokens
// and at the end. Exit status 0 when every check held, 1 otherwise.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <samba/samba.hpp>

namespace {

using samba::index_t;

struct Options {
  index_t tokens = 1'000'000;
  index_t prefill = 20'000;
  index_t chunk = 512;
  index_t d_model = 64;
  index_t window = 64;
  index_t vocab = 256;
  index_t check_tokens = 64;  // tokens the session and its snapshot each run at a checkpoint
  double rss_slack_mib = 1.0;
  std::uint64_t seed = 1;
};

// Resident memory of this process in KiB (VmRSS of /proc/self/status); -1 when unknown.
long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = -1;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

// A Samba model [Mamba, MLP, SWA, MLP] with random weights, as a LanguageModel.
std::shared_ptr<const samba::LanguageModel> random_samba(const Options& o) {
  using Stack = samba::presets::Samba<samba::cpu, float>;
  using M = samba::Model<Stack, float>;
  samba::ModelDims dims;
  dims.d_model = o.d_model;
  dims.n_blocks = 4;
  dims.n_heads = 4;
  dims.head_dim = o.d_model / 4;
  dims.window = o.window;
  dims.d_ff = 2 * o.d_model;
  samba::Random rng(o.seed);
  M model(Stack::random(samba::make_config<Stack>(dims), o.seed), o.vocab,
          samba::detail::random_matrix<float>(o.vocab, o.d_model, rng),
          samba::RMSNorm<samba::cpu>({o.d_model, 1e-5f},
                                     samba::RMSNormWeights::random({o.d_model, 1e-5f}, rng)));
  samba::ModelInfo info;
  info.family = "random";
  info.pattern = "Samba [Mamba, MLP, SWA, MLP]";
  info.d_model = o.d_model;
  info.n_blocks = dims.n_blocks;
  info.vocab_size = o.vocab;
  info.n_logits = model.n_logits();
  info.bounded_state = true;
  return std::make_shared<samba::ModelAdapter<M>>(std::move(model), std::move(info));
}

bool all_finite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

class Soak {
 public:
  explicit Soak(const Options& o)
      : o_(o), model_(random_samba(o)), session_(model_), ids_(o.seed + 1), sampler_(params(o)) {}

  int run() {
    std::printf(
        "samba-soak: Samba d_model %td, window %td, vocab %td; %td tokens (%td prefilled "
        "in chunks of %td, then decoded)\n",
        o_.d_model, o_.window, o_.vocab, o_.tokens, std::min(o_.prefill, o_.tokens), o_.chunk);
    std::printf("%12s %12s %12s %12s %10s  %s\n", "tokens", "tok/s", "VmRSS KiB", "state bytes",
                "snapshot", "");
    start_ = Clock::now();
    index_t next_checkpoint = 1000;
    while (session_.position() < o_.tokens) {
      const index_t pos = session_.position();
      const index_t step = std::min(next_checkpoint, o_.tokens) - pos;
      advance(session_, step);
      if (!ok_) break;
      checkpoint();
      if (!ok_) break;
      while (next_checkpoint <= session_.position()) next_checkpoint *= 10;
    }
    report();
    return ok_ ? 0 : 1;
  }

 private:
  using Clock = std::chrono::steady_clock;

  static samba::SamplingParams params(const Options& o) {
    samba::SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = o.seed + 2;
    return p;
  }

  // Feeds n tokens to s: prefill chunks while before --prefill, then sampled decode steps.
  void advance(samba::Session& s, index_t n) {
    for (index_t done = 0; done < n && ok_;) {
      const index_t pos = s.position();
      if (pos < o_.prefill || s.logits().empty()) {
        const index_t len = std::min({o_.chunk, n - done, std::max<index_t>(o_.prefill - pos, 1)});
        std::vector<std::int32_t> chunk(static_cast<std::size_t>(len));
        for (auto& t : chunk)
          t = static_cast<std::int32_t>(ids_.next() % static_cast<std::uint64_t>(o_.vocab));
        s.prefill(chunk, len);
        done += len;
      } else {
        s.decode(sampler_.sample(s.vocab_logits(), s.recent_tokens()));
        ++done;
      }
      if (!all_finite(s.logits()))
        fail("non-finite logits at token " + std::to_string(s.position()));
    }
  }

  // State size and memory at the current position, then the snapshot check (which runs the
  // session --check-tokens further).
  void checkpoint() {
    const double s = std::chrono::duration<double>(Clock::now() - start_).count();
    const index_t pos = session_.position();
    const long rss = resident_kib();
    const std::size_t state = session_.state_bytes();
    const bool same = snapshot_replays();
    std::printf("%12td %12.0f %12ld %12zu %10s\n", pos, static_cast<double>(pos) / s, rss, state,
                same ? "bitwise" : "DIFFERS");
    std::fflush(stdout);
    if (pos >= o_.window) {
      if (state_bytes_ == 0) state_bytes_ = state;
      if (state != state_bytes_)
        fail("state grew from " + std::to_string(state_bytes_) + " to " + std::to_string(state) +
             " bytes");
    }
    if (first_rss_ < 0) first_rss_ = rss;
    last_rss_ = rss;
  }

  // The session runs on; a snapshot taken before, fed the same ids and samples (the streams are
  // rewound), must retrace it bit for bit: its state was not touched by the session's run.
  bool snapshot_replays() {
    const samba::Session snapshot = session_.fork();
    const samba::Random ids = ids_;
    const samba::Sampler sampler = sampler_;
    std::vector<std::vector<float>> logits;
    for (index_t i = 0; i < o_.check_tokens; ++i) {
      advance(session_, 1);
      logits.emplace_back(session_.logits().begin(), session_.logits().end());
    }
    samba::Session replay = snapshot;
    ids_ = ids;
    sampler_ = sampler;
    std::size_t mismatches = 0;
    for (index_t i = 0; i < o_.check_tokens; ++i) {
      advance(replay, 1);
      const auto got = replay.logits();
      const auto& want = logits[static_cast<std::size_t>(i)];
      if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) ++mismatches;
    }
    session_ = std::move(replay);  // both are in the same place; carry on from either
    if (mismatches != 0)
      fail(std::to_string(mismatches) + " of " + std::to_string(o_.check_tokens) +
           " tokens after the snapshot at " + std::to_string(snapshot.position()) +
           " differ from the session's");
    return mismatches == 0;
  }

  void report() {
    if (first_rss_ >= 0 && last_rss_ >= 0) {
      const double growth = static_cast<double>(last_rss_ - first_rss_) / 1024.0;
      std::printf("VmRSS: %ld KiB at the first checkpoint, %ld KiB at the last (%+.2f MiB)\n",
                  first_rss_, last_rss_, growth);
      if (growth > o_.rss_slack_mib)
        fail("resident memory grew by more than " + std::to_string(o_.rss_slack_mib) + " MiB");
    }
    std::printf("samba-soak: %s\n", ok_ ? "ok" : "FAILED");
  }

  void fail(const std::string& what) {
    std::fprintf(stderr, "samba-soak: %s\n", what.c_str());
    ok_ = false;
  }

  Options o_;
  std::shared_ptr<const samba::LanguageModel> model_;
  samba::Session session_;
  samba::Random ids_;
  samba::Sampler sampler_;
  Clock::time_point start_;
  std::size_t state_bytes_ = 0;
  long first_rss_ = -1, last_rss_ = -1;
  bool ok_ = true;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("samba-soak: a long stream through a small random Samba model, checked as it goes",
               "samba-soak");
  app.add_option("--tokens", o.tokens, "Tokens to stream")->capture_default_str();
  app.add_option("--prefill", o.prefill, "Of which prefilled (random ids) before decoding")
      ->capture_default_str();
  app.add_option("--chunk", o.chunk, "Prefill chunk size")->capture_default_str();
  app.add_option("--d-model", o.d_model, "Model width (a multiple of 4)")->capture_default_str();
  app.add_option("--window", o.window, "Sliding-window size")->capture_default_str();
  app.add_option("--rss-slack", o.rss_slack_mib, "Allowed VmRSS growth, MiB")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the weights, ids and sampler")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (o.tokens <= 0 || o.chunk <= 0 || o.prefill < 0 || o.window <= 0 || o.d_model <= 0 ||
        o.d_model % 4 != 0)
      throw std::runtime_error(
          "--tokens, --chunk, --window, --d-model must be > 0 (--d-model a "
          "multiple of 4), --prefill >= 0");
    return Soak(o).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "samba-soak: %s\n", e.what());
    return 1;
  }
}
