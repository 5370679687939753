#pragma once
// The command-line front door every tool uses: its usage line and --help
// layout, --version, repeatable -v, "(try --help)" on a bad option, the
// environment lookup behind "option beats environment beats default", and
// run_main(), which turns errors into messages and exit codes.
// Options of one family live with that family: the CloudTower ones in
// api/api_options.h, the volume ones in block/copy_options.h.
#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

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

// Values are checked where they are parsed: a bad one is the usage error
// "MESSAGE (try --help)" like an unknown option, before the tool does anything.
[[noreturn]] void bad_option_value(const std::string& message);

// An option whose text `parse` turns into a T while the command line is
// parsed; `parse` reports a bad value with fail() or bad_option_value().
// (default_value() takes the text --help shows too: default_value(T{}, "none").)
template <class T>
class ParsedValue;
template <class T>
ParsedValue<T>* parsed_value(std::function<T(const std::string&)> parse);

// A string option that must not be empty ("--OPTION must not be empty").
ParsedValue<std::string>* non_empty_value(const char* option);

// One of the words in `choices` (e.g. {"stream", "raw"}); "--OPTION must be A, B or C, not X".
ParsedValue<std::string>* choice_value(const char* option, std::vector<std::string> choices);

// A tool with commands: `TOOL [global options] COMMAND [command options]
// [ARGS]`. Each command has its own options, arguments and --help
// (`TOOL COMMAND --help`); `TOOL --help` lists the commands.
struct CommandInfo {
    const char* name;      // "init"
    const char* synopsis;  // its options and arguments: "[--chunk-size SIZE] [--encrypt]"
    const char* summary;   // one line
    unsigned min_args = 0, max_args = 0;  // how many ARGS it takes
    po::options_description options{"Options"};
};

struct SubcommandLine : CommandLine {
    std::string command;            // the COMMAND given
    std::vector<std::string> args;  // its ARGS
};

// Parses such a command line like parse_command_line() (same help layout,
// -v, "(try --help)" errors); the global options may also follow COMMAND. No
// command, an unknown one, an option it does not take or the wrong number of
// ARGS is a usage error.
SubcommandLine parse_subcommand_line(int argc, char** argv, const ToolInfo& info, const po::options_description& global,
                                     const std::vector<CommandInfo>& commands, const EnvLookup& env = process_env());

// Notifiers that check a number where it is parsed.
std::function<void(double)> must_be_positive(const char* option);
std::function<void(int)> must_be_at_least(const char* option, int minimum);
std::function<void(std::int64_t)> must_not_be_negative(const char* option);

// Runs a tool's main body: turns Error into its message and exit code, any
// other exception into an internal error, and makes SIGPIPE/EPIPE end quietly.
int run_main(int argc, char** argv, int (*body)(int, char**));

// A line on stderr that is neither an error nor a warning, shown without -v:
// for decisions the user should know about (e.g. the consistency picked).
void notice(const std::string& message);

// The option value parsed_value() makes: the text becomes a T through
// `parse` while the command line is parsed, so cli.get<T>() reads the T.
template <class T>
class ParsedValue : public po::value_semantic {
public:
    explicit ParsedValue(std::function<T(const std::string&)> parse) : parse_(std::move(parse)) {}
    ParsedValue* value_name(const std::string& name) { name_ = name; return this; }
    ParsedValue* default_value(const T& value, const std::string& text) {
        default_ = value;
        default_text_ = text;
        return this;
    }
    ParsedValue* default_value(const std::string& text) requires std::is_same_v<T, std::string> {
        return default_value(text, text);
    }

    std::string name() const override { return default_ ? name_ + " (=" + default_text_ + ")" : name_; }
    unsigned min_tokens() const override { return 1; }
    unsigned max_tokens() const override { return 1; }
    bool is_composing() const override { return false; }
    bool is_required() const override { return false; }
    void parse(boost::any& store, const std::vector<std::string>& tokens, bool) const override {
        try {
            store = boost::any(parse_(po::validators::get_single_string(tokens)));
        } catch (const po::error&) {
            throw;
        } catch (const std::exception& e) {  // Error from fail(): the same usage error as a bad option
            bad_option_value(e.what());
        }
    }
    bool apply_default(boost::any& store) const override {
        if (!default_) return false;
        store = boost::any(*default_);
        return true;
    }
    void notify(const boost::any&) const override {}

private:
    std::function<T(const std::string&)> parse_;
    std::string name_ = "arg";
    std::optional<T> default_;
    std::string default_text_;
};

template <class T>
ParsedValue<T>* parsed_value(std::function<T(const std::string&)> parse) {
    return new ParsedValue<T>(std::move(parse));
}

}  // namespace hci
