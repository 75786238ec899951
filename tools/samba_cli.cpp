// samba-cli: runs a checkpoint from the command line.
//
//   samba-cli logits     --model DIR (--tokens 1,2,3 | --prompt TEXT) --out FILE [--chunk N]
//   samba-cli generate   --model DIR (--tokens 1,2,3 | --prompt TEXT) -n N [sampling flags]
//                        [--batch B] [--chunk N]
//   samba-cli info       --model DIR
//   samba-cli tokenize   --model DIR (--text TEXT | --file PATH) [--ids] [--no-special]
//   samba-cli detokenize --model DIR --tokens 1,2,3 [--skip-special]
//
// Text (--prompt, tokenize, detokenize) goes through the tokenizer.json beside the weights
// (samba::Tokenizer); a samba-cli built without Oniguruma and utf8proc says so when asked for it.
// Every failure, whatever its source (the command line, the checkpoint, the library, the file
// system), is one line on stderr, "samba-cli: <what>", and exit status 1; help and version go to
// stdout with status 0. Progress bars and timings go to stderr, so stdout carries only results.
// The command line itself (options, parsing, checks) is samba_cli_args.hpp.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <samba/samba.hpp>
#if SAMBA_CLI_TOKENIZER
#include <samba/text/tokenizer.hpp>
#endif

#include "samba_cli_args.hpp"

#ifndef SAMBA_VERSION
#define SAMBA_VERSION "unknown"
#endif

namespace {

using samba::index_t;
using samba_cli::fail;
namespace fs = std::filesystem;

// --- messages ------------------------------------------------------------------------------------

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

#if SAMBA_CLI_TOKENIZER
using Tokenizer = samba::Tokenizer;
Tokenizer load_tokenizer(const std::string& dir) {
  return Tokenizer::from_directory(dir);
}
#else
struct Tokenizer {};  // never made: load_tokenizer fails first
[[noreturn]] Tokenizer load_tokenizer(const std::string&) {
  fail(
      "text needs the tokenizer, and this samba-cli was built without it (install libonig-dev, "
      "libutf8proc-dev and pkg-config, then build again); --tokens takes ids");
}
#endif

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

// The prompt's ids: --tokens / --tokens-file as given, or --prompt through the tokenizer.
std::vector<std::int64_t> prompt_ids(const samba_cli::TokenSource& source,
                                     [[maybe_unused]] const std::optional<Tokenizer>& tokenizer) {
#if SAMBA_CLI_TOKENIZER
  if (source.is_text()) {
    const auto ids = tokenizer->encode(source.prompt);
    if (ids.empty()) fail("--prompt encodes to no tokens");
    return {ids.begin(), ids.end()};
  }
#endif
  return source.read();
}

std::optional<Tokenizer> tokenizer_for(const samba_cli::TokenSource& source,
                                       const std::string& dir) {
  if (!source.uses_tokenizer()) return std::nullopt;
  return load_tokenizer(source.tokenizer_dir.empty() ? dir : source.tokenizer_dir);
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

}  // namespace

namespace samba_cli {

int LogitsCommand::run() const {
  threads.apply();
  const auto tokenizer = tokenizer_for(tokens, model.dir);
  const auto ids = prompt_ids(tokens, tokenizer);
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

// --- generate ------------------------------------------------------------------------------------

namespace {

// Sampling from the real vocabulary only: a padded head (Samba's padded_vocab_size) has logits
// for ids the model cannot be fed; when the output is text, only ids the tokenizer can print.
std::int32_t next_token(samba::Sampler& sampler, const samba::Session& s, index_t limit) {
  const auto vocab = static_cast<std::size_t>(std::min(s.model().info().vocab_size, limit));
  return sampler.sample(s.logits().first(vocab), s.recent_tokens());
}

index_t vocab_limit([[maybe_unused]] const std::optional<Tokenizer>& tokenizer) {
#if SAMBA_CLI_TOKENIZER
  if (tokenizer) return tokenizer->vocab_size();
#endif
  return std::numeric_limits<index_t>::max();
}

}  // namespace

namespace {

// Where generated tokens go: their ids, comma-separated, or (after --prompt) their text as soon as
// it is complete UTF-8, ending at the tokenizer's end-of-sequence token unless --ignore-eos.
class Output {
 public:
  // The text continues `prompt` (it is not printed again).
  Output([[maybe_unused]] const std::optional<Tokenizer>& tokenizer,
         [[maybe_unused]] std::span<const std::int32_t> prompt, [[maybe_unused]] bool ignore_eos) {
#if SAMBA_CLI_TOKENIZER
    if (tokenizer) {
      stream_.emplace(*tokenizer);
      stream_->follow(prompt);
      if (!ignore_eos) eos_ = tokenizer->eos_id();
    }
#endif
  }

  // Prints the token; false when it ends the text.
  bool put(std::int32_t token) {
#if SAMBA_CLI_TOKENIZER
    if (stream_) {
      if (eos_ && token == *eos_) return false;
      if (!ids_.empty()) ids_ += ',';
      ids_ += std::to_string(token);
      std::fputs(stream_->push(token).c_str(), stdout);
      std::fflush(stdout);
      return true;
    }
#endif
    std::printf(count_++ == 0 ? "%d" : ",%d", token);
    std::fflush(stdout);
    return true;
  }

  // Ends the line; after text, the ids it came from go to stderr.
  void finish() {
#if SAMBA_CLI_TOKENIZER
    if (stream_) std::fputs(stream_->flush().c_str(), stdout);
#endif
    std::printf("\n");
    std::fflush(stdout);
#if SAMBA_CLI_TOKENIZER
    if (stream_) std::fprintf(stderr, "ids: %s\n", ids_.c_str());
#endif
  }

 private:
#if SAMBA_CLI_TOKENIZER
  std::optional<samba::DecodeStream> stream_;
  std::optional<samba::token_id> eos_;
  std::string ids_;
#endif
  std::size_t count_ = 0;
};

// One sequence, streamed to stdout as it comes.
int generate_one(const GenerateCommand& cmd, samba::Session& session,
                 std::span<const std::int32_t> prompt, const std::optional<Tokenizer>& tokenizer) {
  const index_t n = cmd.n;
  samba::Sampler sampler(cmd.params(0));
  Output output(tokenizer, prompt, cmd.ignore_eos);
  const auto start = Clock::now();
  index_t made = 0;
  while (made < n) {
    const std::int32_t token = next_token(sampler, session, vocab_limit(tokenizer));
    ++made;
    if (!output.put(token)) break;
    session.decode(token);
  }
  const double s = seconds_since(start);
  output.finish();
  std::fprintf(stderr, "decode: %s%s\n", rate(made, s).c_str(),
               made < n ? " (stopped at the end-of-sequence token)" : "");
  std::fprintf(stderr, "state: %s per sequence after %td tokens\n",
               human_bytes(session.state_bytes()).c_str(), session.position());
  return 0;
}

// B continuations of the prefilled prompt, one decode_batch step per token; then each one: a line
// of ids, or (after --prompt) its text under a line "--- sequence i ---".
int generate_batch(const GenerateCommand& cmd, const samba::Session& prefilled,
                   std::span<const std::int32_t> prompt,
                   const std::optional<Tokenizer>& tokenizer) {
  const index_t n = cmd.n, batch = cmd.batch;
  const auto B = static_cast<std::size_t>(batch);
  std::vector<samba::Session> sessions;
  std::vector<samba::Sampler> samplers;
  sessions.reserve(B);
  samplers.reserve(B);
  for (std::size_t i = 0; i < B; ++i) {
    sessions.push_back(prefilled.fork());
    samplers.emplace_back(cmd.params(i));
  }
  std::vector<samba::Session*> group;
  for (auto& s : sessions) group.push_back(&s);
  std::vector<std::vector<std::int32_t>> generated(B);
  std::vector<std::int32_t> step(B);
  const auto start = Clock::now();
  for (index_t t = 0; t < n; ++t) {
    for (std::size_t i = 0; i < B; ++i) {
      step[i] = next_token(samplers[i], sessions[i], vocab_limit(tokenizer));
      generated[i].push_back(step[i]);
    }
    samba::Session::decode_batch(group, step);
  }
  const double s = seconds_since(start);
  for (std::size_t i = 0; i < B; ++i) {
    if (tokenizer) std::printf("--- sequence %zu ---\n", i);
    Output output(tokenizer, prompt, cmd.ignore_eos);
    for (const std::int32_t id : generated[i])
      if (!output.put(id)) break;
    output.finish();
  }
  std::fflush(stdout);
  std::fprintf(stderr, "decode: %s (%td sequences x %td)\n", rate(batch * n, s).c_str(), batch, n);
  std::fprintf(stderr, "state: %s per sequence after %td tokens\n",
               human_bytes(sessions[0].state_bytes()).c_str(), sessions[0].position());
  return 0;
}

}  // namespace

int GenerateCommand::run() const {
  threads.apply();
  const auto tokenizer = tokenizer_for(tokens, model.dir);
  const auto ids = prompt_ids(tokens, tokenizer);
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
  return batch == 1 ? generate_one(*this, session, prompt, tokenizer)
                    : generate_batch(*this, session, prompt, tokenizer);
}

// --- tokenize, detokenize ------------------------------------------------------------------------

int TokenizeCommand::run() const {
  const std::string input = read();
  [[maybe_unused]] const Tokenizer tokenizer = load_tokenizer(dir);
#if SAMBA_CLI_TOKENIZER
  const auto ids = tokenizer.encode(input, !no_special);
  if (ids_only) {
    for (std::size_t i = 0; i < ids.size(); ++i) std::printf(i == 0 ? "%d" : ",%d", ids[i]);
    std::printf("\n");
  } else {
    // The piece as the vocabulary spells it (byte-level: Ġ for a space, Ċ for a newline).
    for (const auto id : ids) std::printf("%d\t%s\n", id, std::string(tokenizer.token(id)).c_str());
  }
  std::fflush(stdout);
  std::fprintf(stderr, "tokenize: %zu bytes, %zu tokens\n", input.size(), ids.size());
#endif
  return 0;
}

int DetokenizeCommand::run() const {
  [[maybe_unused]] const Tokenizer tokenizer = load_tokenizer(dir);
#if SAMBA_CLI_TOKENIZER
  std::vector<samba::token_id> tokens;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= tokenizer.vocab_size())
      fail("token id ", ids[i], " (item ", i + 1, ") is outside the tokenizer's vocabulary [0, ",
           tokenizer.vocab_size(), ")");
    tokens.push_back(static_cast<samba::token_id>(ids[i]));
  }
  const std::string text =
      tokenizer.decode(tokens, {.skip_special_tokens = skip_special, .clean_up_spaces = {}});
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
#endif
  return 0;
}

// --- info ----------------------------------------------------------------------------------------

int InfoCommand::run() const {
  const auto lm = model.load();
  const samba::ModelInfo& info = lm->info();
  std::printf("family:          %s\n", info.family.c_str());
  const samba::FamilyInfo family =
      samba::family_of(samba::JsonConfig::read(std::filesystem::path(model.dir) / "config.json"));
  std::printf("layout:          %s\n", std::string(family.layout).c_str());
  std::printf("pattern:         %s\n", info.pattern.c_str());
  std::printf("blocks:          %td\n", info.n_blocks);
  std::printf("d_model:         %td\n", info.d_model);
  std::printf("dims:            %s\n", info.dims.c_str());
  std::printf("parameters:      %s\n", human_count(info.parameters).c_str());
  std::printf("weight dtype:    %s\n", std::string(samba::name(info.weight_dtype)).c_str());
  std::printf("vocabulary:      %td\n", info.vocab_size);
  std::printf("logits width:    %td\n", info.n_logits);
  std::printf("embeddings:      %s\n", info.tied_embeddings ? "tied (the LM head is the embedding)"
                                                            : "untied (separate LM head)");
  std::printf("state, fresh:    %s per sequence\n", human_bytes(lm->fresh_state_bytes()).c_str());
  std::printf("state, growth:   %s\n",
              info.bounded_state ? "bounded (stops growing once the attention windows are full)"
                                 : "grows with the sequence (full-attention KV cache)");
  return 0;
}

}  // namespace samba_cli

int main(int argc, char** argv) {
  try {
    samba_cli::CommandLine command_line(SAMBA_VERSION);
    if (const auto status = command_line.parse(argc, argv)) return *status;
    switch (command_line.command()) {
      case samba_cli::CommandLine::Command::logits:
        return command_line.logits.run();
      case samba_cli::CommandLine::Command::generate:
        return command_line.generate.run();
      case samba_cli::CommandLine::Command::info:
        return command_line.info.run();
      case samba_cli::CommandLine::Command::tokenize:
        return command_line.tokenize.run();
      case samba_cli::CommandLine::Command::detokenize:
        return command_line.detokenize.run();
    }
  } catch (const std::exception& e) {  // samba::error, CLI11's errors, std::filesystem_error, ...
    std::fprintf(stderr, "samba-cli: %s\n", one_line(e.what()).c_str());
  } catch (...) {
    std::fprintf(stderr, "samba-cli: unknown error\n");
  }
  return 1;
}
