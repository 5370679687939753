#include "libcommon/base/cli.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

namespace hci {

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (!value || !*value) return std::nullopt;
        return std::string(value);
    };
}

std::string CommandLine::option_or_env(const char* option, const char* variable, const std::string& fallback) const {
    if (has(option)) return get<std::string>(option);
    if (auto value = env(variable)) return *value;
    return fallback;
}

void CommandLine::refuse_input_file(const std::string& mode) const {
    if (input_file_given) fail(kExitUsage, "an input FILE (" + input_file + ") is not read with " + mode + " (try --help)");
}

namespace {

constexpr const char* kInputFile = "input-file";

po::options_description front_door_options() {
    po::options_description d("General options");
    d.add_options()
        ("verbose,v", "say more on stderr; twice (-vv) for debug output")
        ("help,h", "show this help and exit")
        ("version", "show the version and exit");
    return d;
}

// Program_options puts blank lines before nested groups; one between groups is enough.
std::string option_table(const po::options_description& options) {
    std::ostringstream out;
    out << options;
    std::string text = out.str();
    text.erase(0, text.find_first_not_of('\n'));
    for (auto at = text.find("\n\n\n"); at != std::string::npos; at = text.find("\n\n\n", at)) text.erase(at, 1);
    return text;
}

// -v may be repeated (-v -v, -vv): count and drop it here, since an option
// may appear only once in a variables_map.
int take_verbosity(po::parsed_options& options) {
    int verbosity = 0;
    auto& list = options.options;
    for (auto it = list.begin(); it != list.end();) {
        if (it->string_key.empty()) {
            std::string token = it->original_tokens.empty() ? "?" : it->original_tokens[0];
            fail(kExitUsage, "unexpected argument " + token + " (try --help)");
        }
        if (it->string_key == "verbose") {
            ++verbosity;
            it = list.erase(it);
        } else {
            ++it;
        }
    }
    return verbosity;
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv, const ToolInfo& info, const po::options_description& options,
                               const EnvLookup& env) {
    po::options_description all;
    all.add(options).add(front_door_options());
    po::options_description with_file;  // not in --help: the synopsis shows [FILE]
    with_file.add(all).add_options()(kInputFile, po::value<std::string>());
    po::positional_options_description positional;
    if (info.reads_input_file) positional.add(kInputFile, 1);
    CommandLine cli;
    cli.env = env;
    try {
        po::parsed_options parsed =
            po::command_line_parser(argc, argv).options(info.reads_input_file ? with_file : all).positional(positional).run();
        cli.verbose = take_verbosity(parsed);
        po::store(parsed, cli.vm);
        if (cli.has("help")) {
            std::cout << "Usage: " << info.name << " " << info.synopsis << "\n" << info.summary << "\n\n"
                      << option_table(all) << "\nSee " << info.name << "(1).\n";
            std::exit(kExitOk);
        }
        if (cli.has("version")) {
            std::cout << info.name << " " << HCI_VERSION << "\n";
            std::exit(kExitOk);
        }
        po::notify(cli.vm);
        if (cli.has(kInputFile)) {
            cli.input_file = cli.get<std::string>(kInputFile);
            cli.input_file_given = true;
        }
    } catch (const po::too_many_positional_options_error&) {
        fail(kExitUsage, "give at most one input FILE (\"-\" or none: stdin) (try --help)");
    } catch (const po::error& e) {
        fail(kExitUsage, std::string(e.what()) + " (try --help)");
    } catch (const Error& e) {  // a notifier's fail(kExitUsage, ...): a bad value like any other
        if (e.code() != kExitUsage) throw;
        fail(kExitUsage, std::string(e.what()) + " (try --help)");
    }
    set_verbose(cli.verbose);
    return cli;
}

void bad_option_value(const std::string& message) { throw po::error(message); }

ParsedValue<std::string>* non_empty_value(const char* option) {
    return parsed_value<std::string>([option](const std::string& text) {
        if (text.empty()) bad_option_value(std::string("--") + option + " must not be empty");
        return text;
    });
}

ParsedValue<std::string>* choice_value(const char* option, std::vector<std::string> choices) {
    return parsed_value<std::string>([option, choices](const std::string& text) {
        for (const auto& choice : choices)
            if (text == choice) return text;
        std::string list;
        for (std::size_t i = 0; i < choices.size(); ++i)
            list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
        bad_option_value(std::string("--") + option + " must be " + list + ", not " + text);
    });
}

std::function<void(double)> must_be_positive(const char* option) {
    return [option](double value) {
        if (!(value > 0)) bad_option_value(std::string("--") + option + " must be positive");
    };
}

std::function<void(int)> must_be_at_least(const char* option, int minimum) {
    return [option, minimum](int value) {
        if (value < minimum) bad_option_value(std::string("--") + option + " must be at least " + std::to_string(minimum));
    };
}

std::function<void(std::int64_t)> must_not_be_negative(const char* option) {
    return [option](std::int64_t value) {
        if (value < 0) bad_option_value(std::string("--") + option + " must not be negative");
    };
}

int run_main(int argc, char** argv, int (*body)(int, char**)) {
    set_program_name(argc > 0 ? argv[0] : "hci");
    // A closed stdout (`| head -1`) must end us quietly: writes report EPIPE,
    // which the writers turn into a clean exit.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return body(argc, argv);
    } catch (const Error& e) {
        log_error(e.what());
        return e.code();
    } catch (const std::exception& e) {
        log_error(std::string("internal error: ") + e.what());
        return kExitIo;
    }
}

void notice(const std::string& message) {
    std::string line = program_name() + ": " + message + "\n";
    (void)!std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace hci
