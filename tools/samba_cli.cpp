// samba-cli: runs a checkpoint from the command line.
//
//   samba-cli logits   --model DIR --tokens 1,2,3 --out FILE [--chunk N] [--threads N]
//   samba-cli generate --model DIR --tokens 1,2,3 -n N [sampling flags] [--batch B] [--chunk N]
//   samba-cli info     --model DIR
//
// Every failure, whatever its source (the command line, the checkpoint, the library, the file
// system), is one line on stderr, "samba-cli: <what>", and exit status 1; help and version go to
// stdout with status 0. Progress bars and timings go to stderr, so stdout carries only results.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <Eigen/Core>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <samba/samba.hpp>

#ifndef SAMBA_VERSION
#define SAMBA_VERSION "unknown"
#endif

namespace {

using samba::index_t;
namespace fs = std::filesystem;

// --- messages ------------------------------------------------------------------------------------

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw std::runtime_error(os.str());
}

// The one line a failure prints: line breaks in a message (from any source) become spaces.
std::string one_line(std::string message) {
  std::replace_if(
      message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return message;
}

std::string human_bytes(std::size_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  int u = 0;
  while (value >= 1024.0 && u < 4) {
    value /= 1024.0;
    ++u;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  else
    std::snprintf(buf, sizeof buf, "%zu bytes (%.2f %s)", bytes, value, units[u]);
  return buf;
}

std::string human_count(std::size_t n) {
  char buf[64];
  if (n >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%zu (%.2f B)", n, static_cast<double>(n) / 1e9);
  else if (n >= 1'000'000)
    std::snprintf(buf, sizeof buf, "%zu (%.2f M)", n, static_cast<double>(n) / 1e6);
  else if (n >= 1'000)
    std::snprintf(buf, sizeof buf, "%zu (%.2f K)", n, static_cast<double>(n) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%zu", n);
  return buf;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string rate(index_t tokens, double seconds) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%td tokens in %.3f s (%.1f tok/s)", tokens, seconds,
                seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0);
  return buf;
}

// --- progress ------------------------------------------------------------------------------------

// A progress bar on stderr for long prompts, drawn only when stderr is a terminal (so logs and
// pipes stay clean), at most ten times a second; stdout is never touched.
class Progress {
 public:
  static constexpr index_t min_tokens = 2048;

  Progress(const char* what, index_t total)
      : what_(what), enabled_(total > min_tokens && ::isatty(STDERR_FILENO) == 1) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { finish(); }

  void update(index_t done, index_t total) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (shown_ && done < total && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    constexpr int width = 30;
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int filled = static_cast<int>(frac * width);
    const double s = seconds_since(start_);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %td/%td tokens, %.0f tok/s", what_, filled,
                 "##############################", width - filled, "", static_cast<int>(frac * 100),
                 done, total, s > 0 ? static_cast<double>(done) / s : 0.0);
    std::fflush(stderr);
    shown_ = true;
  }

  // Ends the bar's line, so whatever stderr prints next starts on its own.
  void finish() {
    if (shown_) std::fputc('\n', stderr);
    shown_ = false;
  }

 private:
  const char* what_;
  bool enabled_;
  bool shown_ = false;
  Clock::time_point start_ = Clock::now();
  Clock::time_point drawn_;
};

// --- tokens --------------------------------------------------------------------------------------

// Token ids separated by commas and/or whitespace: "1,2,3", "1, 2, 3", one per line. An empty item
// ("1,,2", a trailing comma) is an error, as is anything that is not a whole integer.
std::vector<std::int64_t> parse_ids(std::string_view text, const std::string& source) {
  std::vector<std::int64_t> ids;
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  std::size_t i = 0;
  bool need_item = false;  // after a comma
  for (;;) {
    while (i < text.size() && space(text[i])) ++i;
    if (i == text.size()) {
      if (need_item)
        fail(source, ": empty token id after item ", ids.size(), " (a trailing comma?)");
      break;
    }
    if (text[i] == ',') fail(source, ": empty token id at item ", ids.size() + 1, " (two commas?)");
    std::size_t end = i;
    while (end < text.size() && text[end] != ',' && !space(text[end])) ++end;
    const std::string_view item = text.substr(i, end - i);
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec == std::errc::result_out_of_range)
      fail(source, ": token id '", item, "' (item ", ids.size() + 1, ") is out of range");
    if (ec != std::errc() || ptr != item.data() + item.size())
      fail(source, ": '", item, "' (item ", ids.size() + 1, ") is not a token id");
    ids.push_back(id);
    i = end;
    while (i < text.size() && space(text[i])) ++i;
    need_item = i < text.size() && text[i] == ',';
    if (need_item) ++i;
  }
  if (ids.empty()) fail(source, ": no token ids");
  return ids;
}

// Where the prompt comes from: --tokens or --tokens-file, exactly one.
struct TokenSource {
  std::string list, file;
  CLI::Option* list_option = nullptr;
  CLI::Option* file_option = nullptr;

  void add_to(CLI::App& app) {
    list_option = app.add_option("--tokens", list, "Prompt token ids, comma-separated (1,2,3)");
    file_option = app.add_option("--tokens-file", file,
                                 "File of prompt token ids, separated by commas and/or whitespace");
    list_option->excludes(file_option);
  }

  std::vector<std::int64_t> read() const {
    if (list_option->count() > 0) return parse_ids(list, "--tokens");
    if (file_option->count() == 0) fail("one of --tokens or --tokens-file is required");
    std::ifstream in(file, std::ios::binary);
    if (!in) fail("--tokens-file ", file, ": cannot open: ", std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) fail("--tokens-file ", file, ": read error");
    return parse_ids(text.str(), "--tokens-file " + file);
  }
};

// The ids as the model takes them, each checked against its vocabulary.
std::vector<std::int32_t> checked_tokens(const std::vector<std::int64_t>& ids,
                                         const samba::LanguageModel& model) {
  const index_t vocab = model.info().vocab_size;
  std::vector<std::int32_t> tokens(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab)
      fail("token id ", ids[i], " (item ", i + 1, ") is outside the model's vocabulary [0, ", vocab,
           ")");
    tokens[i] = static_cast<std::int32_t>(ids[i]);
  }
  return tokens;
}

// --- options shared by the subcommands -----------------------------------------------------------

struct ModelOptions {
  std::string dir;
  void add_to(CLI::App& app) {
    app.add_option("--model", dir, "Checkpoint directory: config.json and *.safetensors")
        ->required();
  }
  std::shared_ptr<const samba::LanguageModel> load() const { return samba::load_model(dir); }
};

struct ThreadOptions {
  int threads = 0;
  CLI::Option* option = nullptr;
  void add_to(CLI::App& app) {
    option = app.add_option("--threads", threads, "Threads for the matrix products (default: all)");
  }
  void apply() const {
    if (option->count() == 0) return;
    if (threads <= 0) fail("--threads must be > 0, got ", threads);
    Eigen::setNbThreads(threads);
  }
};

void check_chunk(index_t chunk) {
  if (chunk <= 0) fail("--chunk must be > 0, got ", chunk);
}

// --- logits --------------------------------------------------------------------------------------

// A file written under FILE.tmp and renamed to FILE on commit(); removed if never committed, so a
// failure leaves no partial FILE behind.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path) : path_(std::move(path)), tmp_(path_.string() + ".tmp") {
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (file_ == nullptr) fail("cannot write ", tmp_.string(), ": ", std::strerror(errno));
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) {
      std::error_code ignored;
      fs::remove(tmp_, ignored);
    }
  }

  void write(const void* data, std::size_t bytes) {
    if (std::fwrite(data, 1, bytes, file_) != bytes)
      fail("cannot write ", tmp_.string(), ": ", std::strerror(errno));
  }

  void commit() {
    const int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) fail("cannot write ", tmp_.string(), ": ", std::strerror(errno));
    std::error_code ec;
    fs::rename(tmp_, path_, ec);
    if (ec) fail("cannot rename ", tmp_.string(), " to ", path_.string(), ": ", ec.message());
    committed_ = true;
  }

 private:
  fs::path path_, tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Rows of logits as little-endian float32, whatever the host's byte order.
void write_f32_le(AtomicFile& out, std::span<float> values) {
  if constexpr (std::endian::native == std::endian::big) {
    for (float& v : values) {
      auto bits = std::bit_cast<std::uint32_t>(v);
      bits = (bits >> 24) | ((bits >> 8) & 0xff00u) | ((bits << 8) & 0xff0000u) | (bits << 24);
      v = std::bit_cast<float>(bits);
    }
  }
  out.write(values.data(), values.size_bytes());
}

struct LogitsCommand {
  ModelOptions model;
  TokenSource tokens;
  ThreadOptions threads;
  std::string out;
  index_t chunk = 0;
  CLI::Option* chunk_option = nullptr;

  void add_to(CLI::App& app) {
    model.add_to(app);
    tokens.add_to(app);
    app.add_option("--out", out, "Output: little-endian float32 logits, row-major [T, n_logits]")
        ->required();
    chunk_option = app.add_option(
        "--chunk", chunk,
        "Feed the prompt in chunks of N tokens (1: token by token; default: all at once)");
    threads.add_to(app);
  }

  int run() const {
    if (chunk_option->count() > 0) check_chunk(chunk);
    threads.apply();
    const auto ids = tokens.read();
    const auto lm = model.load();
    const auto prompt = checked_tokens(ids, *lm);

    const auto T = static_cast<index_t>(prompt.size());
    const index_t n = lm->info().n_logits;
    const index_t step = chunk_option->count() > 0 ? std::min(chunk, T) : T;
    AtomicFile file(out);
    std::vector<float> rows(static_cast<std::size_t>(step * n));  // one chunk's logits at a time
    auto state = lm->make_state();
    samba::SequenceState* states[] = {state.get()};
    Progress progress("logits", T);
    const auto start = Clock::now();
    for (index_t t = 0; t < T; t += step) {
      const index_t len = std::min(step, T - t);
      const index_t lengths[] = {len};
      const auto part =
          std::span(prompt).subspan(static_cast<std::size_t>(t), static_cast<std::size_t>(len));
      lm->forward_batch(states, lengths, part, samba::MatrixView<float>(rows.data(), {len, n}),
                        samba::LogitsFor::every_token);
      write_f32_le(file, std::span(rows).first(static_cast<std::size_t>(len * n)));
      progress.update(t + len, T);
    }
    const double s = seconds_since(start);
    file.commit();
    progress.finish();
    std::fprintf(stderr, "logits: %s, [%td, %td] float32 written to %s\n", rate(T, s).c_str(), T, n,
                 out.c_str());
    return 0;
  }
};

// --- generate ------------------------------------------------------------------------------------

struct GenerateCommand {
  ModelOptions model;
  TokenSource tokens;
  ThreadOptions threads;
  index_t n = 0;
  index_t chunk = 512;
  index_t batch = 1;
  std::int64_t seed = 0;  // signed, so that "-1" is an error rather than 2^64 - 1
  samba::SamplingParams sampling{
      .temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repetition_penalty = 1.1f};

  void add_to(CLI::App& app) {
    model.add_to(app);
    tokens.add_to(app);
    app.add_option("-n", n, "Tokens to generate")->required();
    app.add_option("--temperature", sampling.temperature, "Sampling temperature (0: greedy)")
        ->capture_default_str();
    app.add_option("--top-k", sampling.top_k, "Keep the k most likely tokens (0: off)")
        ->capture_default_str();
    app.add_option("--top-p", sampling.top_p,
                   "Keep the most likely tokens up to this mass (1: off)")
        ->capture_default_str();
    app.add_option("--min-p", sampling.min_p,
                   "Drop tokens below min-p x the top probability (0: off)")
        ->capture_default_str();
    app.add_option("--repeat-penalty", sampling.repetition_penalty,
                   "Penalty on the recent tokens' logits (1: off)")
        ->capture_default_str();
    app.add_option("--seed", seed, "Sampler seed (sequence i of a batch: seed + i)")
        ->capture_default_str();
    app.add_option("--chunk", chunk, "Prefill in chunks of N tokens")->capture_default_str();
    threads.add_to(app);
    app.add_option("--batch", batch, "Continue B copies of the prompt, decoded together")
        ->capture_default_str();
  }

  int run() const {
    if (n < 0) fail("-n must be >= 0, got ", n);
    check_chunk(chunk);
    if (batch <= 0) fail("--batch must be > 0, got ", batch);
    if (seed < 0) fail("--seed must be >= 0, got ", seed);
    sampling.validate();
    threads.apply();
    const auto ids = tokens.read();
    const auto lm = model.load();
    const auto prompt = checked_tokens(ids, *lm);

    samba::Session session(lm);
    {
      Progress progress("prefill", static_cast<index_t>(prompt.size()));
      const auto start = Clock::now();
      session.prefill(prompt, chunk,
                      [&](index_t done, index_t total) { progress.update(done, total); });
      const double s = seconds_since(start);
      progress.finish();
      std::fprintf(stderr, "prefill: %s\n", rate(static_cast<index_t>(prompt.size()), s).c_str());
    }
    return batch == 1 ? generate_one(session) : generate_batch(session);
  }

  // The sampling parameters of sequence i.
  samba::SamplingParams params(std::size_t i) const {
    samba::SamplingParams p = sampling;
    p.seed = static_cast<std::uint64_t>(seed) + i;
    return p;
  }

  // Sampling from the real vocabulary only: a padded head (Samba's padded_vocab_size) has logits
  // for ids the model cannot be fed.
  static std::int32_t next_token(samba::Sampler& sampler, const samba::Session& s) {
    const auto vocab = static_cast<std::size_t>(s.model().info().vocab_size);
    return sampler.sample(s.logits().first(vocab), s.recent_tokens());
  }

  // One sequence, its ids streamed to stdout as they come.
  int generate_one(samba::Session& session) const {
    samba::Sampler sampler(params(0));
    const auto start = Clock::now();
    for (index_t i = 0; i < n; ++i) {
      const std::int32_t token = next_token(sampler, session);
      std::printf(i == 0 ? "%d" : ",%d", token);
      std::fflush(stdout);
      session.decode(token);
    }
    const double s = seconds_since(start);
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "decode: %s\n", rate(n, s).c_str());
    std::fprintf(stderr, "state: %s per sequence after %td tokens\n",
                 human_bytes(session.state_bytes()).c_str(), session.position());
    return 0;
  }

  // B continuations of the prefilled prompt, one decode_batch step per token; one line each.
  int generate_batch(const samba::Session& prefilled) const {
    const auto B = static_cast<std::size_t>(batch);
    std::vector<samba::Session> sessions;
    std::vector<samba::Sampler> samplers;
    sessions.reserve(B);
    samplers.reserve(B);
    for (std::size_t i = 0; i < B; ++i) {
      sessions.push_back(prefilled.fork());
      samplers.emplace_back(params(i));
    }
    std::vector<samba::Session*> group;
    for (auto& s : sessions) group.push_back(&s);
    std::vector<std::vector<std::int32_t>> generated(B);
    std::vector<std::int32_t> step(B);
    const auto start = Clock::now();
    for (index_t t = 0; t < n; ++t) {
      for (std::size_t i = 0; i < B; ++i) {
        step[i] = next_token(samplers[i], sessions[i]);
        generated[i].push_back(step[i]);
      }
      samba::Session::decode_batch(group, step);
    }
    const double s = seconds_since(start);
    for (const auto& ids : generated) {
      for (std::size_t j = 0; j < ids.size(); ++j) std::printf(j == 0 ? "%d" : ",%d", ids[j]);
      std::printf("\n");
    }
    std::fflush(stdout);
    std::fprintf(stderr, "decode: %s (%td sequences x %td)\n", rate(batch * n, s).c_str(), batch,
                 n);
    std::fprintf(stderr, "state: %s per sequence after %td tokens\n",
                 human_bytes(sessions[0].state_bytes()).c_str(), sessions[0].position());
    return 0;
  }
};

// --- info ----------------------------------------------------------------------------------------

struct InfoCommand {
  ModelOptions model;

  void add_to(CLI::App& app) { model.add_to(app); }

  int run() const {
    const auto lm = model.load();
    const samba::ModelInfo& info = lm->info();
    std::printf("family:          %s\n", info.family.c_str());
    std::printf("pattern:         %s\n", info.pattern.c_str());
    std::printf("blocks:          %td\n", info.n_blocks);
    std::printf("d_model:         %td\n", info.d_model);
    std::printf("dims:            %s\n", info.dims.c_str());
    std::printf("parameters:      %s\n", human_count(info.parameters).c_str());
    std::printf("weight dtype:    %s\n", std::string(samba::name(info.weight_dtype)).c_str());
    std::printf("vocabulary:      %td\n", info.vocab_size);
    std::printf("logits width:    %td\n", info.n_logits);
    std::printf("embeddings:      %s\n", info.tied_embeddings
                                             ? "tied (the LM head is the embedding)"
                                             : "untied (separate LM head)");
    std::printf("state, fresh:    %s per sequence\n", human_bytes(lm->fresh_state_bytes()).c_str());
    std::printf("state, growth:   %s\n",
                info.bounded_state ? "bounded (stops growing once the attention windows are full)"
                                   : "grows with the sequence (full-attention KV cache)");
    return 0;
  }
};

int run(int argc, char** argv) {
  CLI::App app("samba-cli: run hybrid Mamba + sliding-window-attention checkpoints on the CPU",
               "samba-cli");
  app.set_version_flag("--version", SAMBA_VERSION);
  app.require_subcommand(1);

  LogitsCommand logits;
  GenerateCommand generate;
  InfoCommand info;
  CLI::App* logits_app =
      app.add_subcommand("logits", "Write the logits of every prompt position to a file");
  CLI::App* generate_app =
      app.add_subcommand("generate", "Prefill a prompt and sample a continuation");
  CLI::App* info_app = app.add_subcommand("info", "Describe a checkpoint");
  logits.add_to(*logits_app);
  generate.add_to(*generate_app);
  info.add_to(*info_app);

  // CLI11 reads an unknown first word as an unexpected argument; say what it is.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string_view word = argv[1];
    if (word != "logits" && word != "generate" && word != "info")
      fail("unknown subcommand '", word, "' (expected logits, generate or info)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fail(e.what());
  }
  if (logits_app->parsed()) return logits.run();
  if (generate_app->parsed()) return generate.run();
  return info.run();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // samba::error, CLI11's errors, std::filesystem_error, ...
    std::fprintf(stderr, "samba-cli: %s\n", one_line(e.what()).c_str());
  } catch (...) {
    std::fprintf(stderr, "samba-cli: unknown error\n");
  }
  return 1;
}
