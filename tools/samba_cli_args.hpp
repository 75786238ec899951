// samba-cli's command line: the subcommands and their options, parsed and checked without loading
// a model or reading a file, so that a fuzzer (fuzz/cli_args.cpp) can drive every check the tool
// makes on its arguments. The commands' run() members, which load the model and do the work, are
// defined in samba_cli.cpp.
#pragma once

#include <CLI/CLI.hpp>
#include <samba/cpu/eigen.hpp>  // Eigen, through the header that keeps its warnings out
#if defined(_OPENMP)
#include <omp.h>
#endif

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <samba/samba.hpp>

namespace samba_cli {

using samba::index_t;

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw std::runtime_error(os.str());
}

// Token ids separated by commas and/or whitespace: "1,2,3", "1, 2, 3", one per line. An empty item
// ("1,,2", a trailing comma) is an error, as is anything that is not a whole integer.
inline std::vector<std::int64_t> parse_ids(std::string_view text, const std::string& source) {
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

// Where the prompt comes from: --tokens, --tokens-file or --prompt (text, encoded by the model's
// tokenizer), exactly one. check() parses --tokens; read() returns those ids or reads the file.
struct TokenSource {
  std::string list, file, prompt, tokenizer_dir;
  CLI::Option* list_option = nullptr;
  CLI::Option* file_option = nullptr;
  CLI::Option* prompt_option = nullptr;
  std::vector<std::int64_t> list_ids;

  void add_to(CLI::App& app) {
    list_option = app.add_option("--tokens", list, "Prompt token ids, comma-separated (1,2,3)");
    file_option = app.add_option("--tokens-file", file,
                                 "File of prompt token ids, separated by commas and/or whitespace");
    prompt_option = app.add_option(
        "--prompt", prompt,
        "Prompt text, encoded by the tokenizer beside the weights (tokenizer.json); the output is "
        "then text too");
    app.add_option("--tokenizer", tokenizer_dir,
                   "The directory of tokenizer.json (default with --prompt: the --model one); "
                   "with it, generate prints text");
    list_option->excludes(file_option);
    prompt_option->excludes(list_option);
    prompt_option->excludes(file_option);
  }

  bool is_text() const { return prompt_option->count() > 0; }
  // Text out: after --prompt, or with --tokenizer (ids in, text out).
  bool uses_tokenizer() const { return is_text() || !tokenizer_dir.empty(); }

  void check() {
    if (list_option->count() > 0)
      list_ids = parse_ids(list, "--tokens");
    else if (file_option->count() == 0 && !is_text())
      fail("one of --tokens, --tokens-file or --prompt is required");
  }

  std::vector<std::int64_t> read() const {
    if (list_option->count() > 0) return list_ids;
    std::ifstream in(file, std::ios::binary);
    if (!in) fail("--tokens-file ", file, ": cannot open: ", std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) fail("--tokens-file ", file, ": read error");
    return parse_ids(text.str(), "--tokens-file " + file);
  }
};

// --- options shared by the subcommands -----------------------------------------------------------

struct ModelOptions {
  std::string dir;
  void add_to(CLI::App& app) {
    app.add_option("--model", dir,
                   "Checkpoint directory: config.json and *.safetensors (model_type " +
                       samba::supported_model_types() + ")")
        ->required();
  }
  std::shared_ptr<const samba::LanguageModel> load() const { return samba::load_model(dir); }
};

struct ThreadOptions {
  int threads = 0;
  CLI::Option* option = nullptr;
  void add_to(CLI::App& app) {
    option = app.add_option("--threads", threads, "Threads of the kernels (default: all cores)");
  }
  void check() const {
    if (option->count() > 0 && threads <= 0) fail("--threads must be > 0, got ", threads);
  }
  void apply() const {
    if (option->count() == 0) return;
    Eigen::setNbThreads(threads);  // Eigen's GEMMs
#if defined(_OPENMP)
    omp_set_num_threads(threads);  // samba's own kernel loops (cpu/parallel.hpp)
#endif
  }
};

inline void check_chunk(index_t chunk) {
  if (chunk <= 0) fail("--chunk must be > 0, got ", chunk);
}

// --- the subcommands -----------------------------------------------------------------------------

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

  void check() {
    if (chunk_option->count() > 0) check_chunk(chunk);
    threads.check();
    tokens.check();
  }

  int run() const;
};

struct GenerateCommand {
  ModelOptions model;
  TokenSource tokens;
  ThreadOptions threads;
  index_t n = 0;
  index_t chunk = 512;
  index_t batch = 1;
  std::int64_t seed = 0;  // signed, so that "-1" is an error rather than 2^64 - 1
  bool ignore_eos = false;
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
    app.add_flag("--ignore-eos", ignore_eos,
                 "With --prompt: go on after the tokenizer's end-of-sequence token");
  }

  void check() {
    if (n < 0) fail("-n must be >= 0, got ", n);
    check_chunk(chunk);
    if (batch <= 0) fail("--batch must be > 0, got ", batch);
    if (seed < 0) fail("--seed must be >= 0, got ", seed);
    sampling.validate();
    threads.check();
    tokens.check();
  }

  // The sampling parameters of sequence i.
  samba::SamplingParams params(std::size_t i) const {
    samba::SamplingParams p = sampling;
    p.seed = static_cast<std::uint64_t>(seed) + i;
    return p;
  }

  int run() const;
};

// tokenize: text to ids with the tokenizer of --model (a directory that may hold only
// tokenizer.json and tokenizer_config.json).
struct TokenizeCommand {
  std::string dir, text, file;
  bool ids_only = false;
  bool no_special = false;
  CLI::Option* text_option = nullptr;
  CLI::Option* file_option = nullptr;

  void add_to(CLI::App& app) {
    app.add_option("--model", dir, "Directory with tokenizer.json (and tokenizer_config.json)")
        ->required();
    text_option = app.add_option("--text", text, "The text to encode");
    file_option = app.add_option("--file", file, "A file whose bytes are the text to encode");
    text_option->excludes(file_option);
    app.add_flag(
        "--ids", ids_only,
        "Print only the ids, comma-separated on one line (default: id and piece per line)");
    app.add_flag("--no-special", no_special,
                 "Leave out the special tokens the post-processor adds (a BOS, for instance)");
  }
  void check() const {
    if (text_option->count() == 0 && file_option->count() == 0)
      fail("one of --text or --file is required");
  }
  std::string read() const {
    if (text_option->count() > 0) return text;
    std::ifstream in(file, std::ios::binary);
    if (!in) fail("--file ", file, ": cannot open: ", std::strerror(errno));
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) fail("--file ", file, ": read error");
    return bytes.str();
  }

  int run() const;
};

// detokenize: ids to text with the tokenizer of --model.
struct DetokenizeCommand {
  std::string dir, list;
  bool skip_special = false;
  std::vector<std::int64_t> ids;

  void add_to(CLI::App& app) {
    app.add_option("--model", dir, "Directory with tokenizer.json (and tokenizer_config.json)")
        ->required();
    app.add_option("--tokens", list, "Token ids, comma-separated (1,2,3)")->required();
    app.add_flag("--skip-special", skip_special, "Leave out special tokens (BOS, EOS, …)");
  }
  void check() { ids = parse_ids(list, "--tokens"); }

  int run() const;
};

struct InfoCommand {
  ModelOptions model;

  void add_to(CLI::App& app) { model.add_to(app); }
  void check() {}

  int run() const;
};

// --- the whole command line ----------------------------------------------------------------------

class CommandLine {
 public:
  explicit CommandLine(std::string version)
      : app_("samba-cli: run hybrid Mamba + sliding-window-attention checkpoints on the CPU",
             "samba-cli") {
    app_.set_version_flag("--version", std::move(version));
    app_.require_subcommand(1);
    logits_app_ =
        app_.add_subcommand("logits", "Write the logits of every prompt position to a file");
    generate_app_ = app_.add_subcommand("generate", "Prefill a prompt and sample a continuation");
    info_app_ = app_.add_subcommand("info", "Describe a checkpoint");
    tokenize_app_ = app_.add_subcommand("tokenize", "Encode text into token ids");
    detokenize_app_ = app_.add_subcommand("detokenize", "Decode token ids into text");
    logits.add_to(*logits_app_);
    generate.add_to(*generate_app_);
    info.add_to(*info_app_);
    tokenize.add_to(*tokenize_app_);
    detokenize.add_to(*detokenize_app_);
  }
  // The options point into this object.
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Parses and checks argv (argv[0] is the program). Returns an exit status when there is nothing
  // to run (--help, --version: the text goes to `out`); throws std::exception (std::runtime_error,
  // samba::error, CLI::Error) for a bad command line.
  std::optional<int> parse(int argc, const char* const* argv, std::ostream& out = std::cout) {
    // CLI11 reads an unknown first word as an unexpected argument; say what it is.
    if (argc > 1 && argv[1][0] != '-') {
      const std::string_view word = argv[1];
      if (word != "logits" && word != "generate" && word != "info" && word != "tokenize" &&
          word != "detokenize")
        fail("unknown subcommand '", word,
             "' (expected logits, generate, info, tokenize or detokenize)");
    }
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) return app_.exit(e, out, out);  // --help, --version
      fail(e.what());
    }
    switch (command()) {
      case Command::logits:
        logits.check();
        break;
      case Command::generate:
        generate.check();
        break;
      case Command::info:
        info.check();
        break;
      case Command::tokenize:
        tokenize.check();
        break;
      case Command::detokenize:
        detokenize.check();
        break;
    }
    return std::nullopt;
  }

  enum class Command { logits, generate, info, tokenize, detokenize };
  // The subcommand parsed: its member of the same name holds its options.
  Command command() const {
    if (logits_app_->parsed()) return Command::logits;
    if (generate_app_->parsed()) return Command::generate;
    if (tokenize_app_->parsed()) return Command::tokenize;
    if (detokenize_app_->parsed()) return Command::detokenize;
    return Command::info;
  }

  LogitsCommand logits;
  GenerateCommand generate;
  InfoCommand info;
  TokenizeCommand tokenize;
  DetokenizeCommand detokenize;

 private:
  CLI::App app_;
  CLI::App* logits_app_ = nullptr;
  CLI::App* generate_app_ = nullptr;
  CLI::App* info_app_ = nullptr;
  CLI::App* tokenize_app_ = nullptr;
  CLI::App* detokenize_app_ = nullptr;
};

}  // namespace samba_cli
