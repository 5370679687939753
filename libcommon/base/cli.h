#pragma once
// The command-line front door every tool uses: its usage line and --help
// layout, --version, repeatable -v, "(try --help)" on a bad option, the
// environment lookup behind "option beats environment beats default", and
// run_main(), which turns errors into messages and exit codes.
// Options of one family live with that family: the CloudTower ones in
// api/api_options.h, the volume ones in block/copy_options.h.
#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string>

namespace hci {

namespace po = boost::program_options;

// Looks up an environment variable (unset or empty: nullopt). Tools read the
// environment only through one, so precedence is unit-tested with a fake.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// What --help prints: "Usage: NAME SYNOPSIS", the summary, the options and
// "See NAME(1)."
struct ToolInfo {
    const char* name;      // "hci-vm-get"
    const char* synopsis;  // "[options] [--name NAME]..."
    const char* summary;   // one or two lines
    // Tools that read lines take one optional FILE argument ("-" or none:
    // stdin); the others refuse any argument that is not an option.
    bool reads_input_file = false;
};

// A parsed command line.
struct CommandLine {
    po::variables_map vm;
    int verbose = 0;  // how often -v was given
    EnvLookup env;
    std::string input_file = "-";  // the FILE argument, when the tool takes one
    bool input_file_given = false;

    bool has(const char* option) const { return vm.count(option) > 0; }
    template <class T>
    T get(const char* option) const { return vm[option].as<T>(); }
    // The string option, else the environment variable, else fallback.
    std::string option_or_env(const char* option, const char* variable, const std::string& fallback = "") const;
    // In a mode that reads no lines (e.g. "--stale"), a FILE argument is a usage error.
    void refuse_input_file(const std::string& mode) const;
};

// Parses argv against the tool's options plus -v, --help and --version.
// --help and --version print and exit 0; a bad option or value is
// Error(kExitUsage) ending in "(try --help)"; so is a positional argument,
// except the one FILE of a tool that reads_input_file.
// Sets the log level.
CommandLine parse_command_line(int argc, char** argv, const ToolInfo& info, const po::options_description& options,
                               const EnvLookup& env = process_env());

// Notifiers that check a value where it is parsed (usage error otherwise).
std::function<void(double)> must_be_positive(const char* option);
std::function<void(int)> must_be_at_least(const char* option, int minimum);

// Runs a tool's main body: turns Error into its message and exit code, any
// other exception into an internal error, and makes SIGPIPE/EPIPE end quietly.
int run_main(int argc, char** argv, int (*body)(int, char**));

// A line on stderr that is neither an error nor a warning, shown without -v:
// for decisions the user should know about (e.g. the consistency picked).
void notice(const std::string& message);

}  // namespace hci
