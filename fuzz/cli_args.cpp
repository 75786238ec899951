// libFuzzer target: samba-cli's command line (tools/samba_cli_args.hpp), parsed and checked as
// the tool does before it loads a model. The input is the arguments after the program name,
// separated by NUL bytes. Every input must end in success or an exception the tool reports
// (std::exception: samba::error, std::runtime_error, CLI11's errors).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "../tools/samba_cli_args.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"samba-cli"};
  args.emplace_back();
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      args.emplace_back();
    else
      args.back().push_back(static_cast<char>(data[i]));
  }
  if (size == 0) args.pop_back();
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    samba_cli::CommandLine command_line("fuzz");
    std::ostringstream sink;
    (void)command_line.parse(static_cast<int>(argv.size()), argv.data(), sink);
  } catch (const std::exception&) {
  }
  return 0;
}
