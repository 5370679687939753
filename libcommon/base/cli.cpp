#include "libcommon/base/cli.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/base/status_line.h"

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

// What --help prints: the usage line, the summary, `before` (a list of
// commands), the option table and the man page pointer.
void print_help(const std::string& name, const std::string& usage, const std::string& summary,
                const std::string& before, const po::options_description& options) {
    std::cout << "Usage: " << name << " " << usage << "\n" << summary << "\n\n" << before << option_table(options)
              << "\nSee " << name << "(1).\n";
    std::exit(kExitOk);
}

const char* const kArgs = "hci-positional-args";

// The parse every front door shares: argv against `options` plus -v, --help
// and --version (help() prints the help), and up to `max_args` words that
// are no option (-1: any number) as kArgs.
CommandLine parse_with(int argc, char** argv, const po::options_description& options, int max_args, const char* name,
                       const std::function<void(const po::options_description&)>& help, const EnvLookup& env) {
    po::options_description all;
    all.add(options).add(front_door_options());
    po::options_description with_args;
    with_args.add(all).add_options()(kArgs, po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    const bool args = max_args != 0;
    if (args) positional.add(kArgs, max_args);
    CommandLine cli;
    cli.env = env;
    try {
        po::command_line_parser parser(argc, argv);
        parser.options(args ? with_args : all);
        if (args) parser.positional(positional);
        po::parsed_options parsed = parser.run();
        cli.verbose = take_verbosity(parsed);
        po::store(parsed, cli.vm);
        if (cli.has("help")) help(all);
        if (cli.has("version")) {
            std::cout << name << " " << HCI_VERSION << "\n";
            std::exit(kExitOk);
        }
        po::notify(cli.vm);
    } catch (const po::too_many_positional_options_error&) {  // only the one input FILE has a limit
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

// Where the COMMAND word stands in argv (0: none): the first word that is
// neither an option nor the value of one (any command's options count, so
// that `TOOL --dry-run gc` finds gc).
int command_position(int argc, char** argv, const po::options_description& every_option) {
    for (int i = 1; i < argc; ++i) {
        std::string word = argv[i];
        if (!word.starts_with("-") || word == "-") return i;
        if (!word.starts_with("--") || word.find('=') != std::string::npos) continue;  // short options take no value here
        const auto* option = every_option.find_nothrow(word.substr(2), false);
        if (option && option->semantic()->max_tokens() > 0) ++i;
    }
    return 0;
}

std::string command_list(const std::vector<CommandInfo>& commands) {
    std::string text = "Commands:\n";
    for (const auto& c : commands) {
        std::string left = std::string("  ") + c.name + " " + c.synopsis;
        text += left + std::string(left.size() < 40 ? 40 - left.size() : 1, ' ') + c.summary + "\n";
    }
    return text + "\n";
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv, const ToolInfo& info, const po::options_description& options,
                               const EnvLookup& env) {
    CommandLine cli = parse_with(argc, argv, options, info.reads_input_file ? 1 : 0, info.name,
                                 [&](const po::options_description& all) {
        print_help(info.name, info.synopsis, info.summary, "", all);
    }, env);
    if (cli.has(kArgs)) {
        cli.input_file = cli.get<std::vector<std::string>>(kArgs).front();
        cli.input_file_given = true;
    }
    return cli;
}

SubcommandLine parse_subcommand_line(int argc, char** argv, const ToolInfo& info, const po::options_description& global,
                                     const std::vector<CommandInfo>& commands, const EnvLookup& env) {
    po::options_description every_option;  // each name once (commands share some)
    every_option.add(global);
    for (const auto& c : commands)
        for (const auto& option : c.options.options())
            if (!every_option.find_nothrow(option->long_name(), false)) every_option.add(option);
    const int at = command_position(argc, argv, every_option);
    const CommandInfo* command = nullptr;
    std::string names;
    for (const auto& c : commands) {
        names += (names.empty() ? "" : ", ") + std::string(c.name);
        if (at && c.name == std::string(argv[at])) command = &c;
    }
    std::vector<char*> rest(argv, argv + argc);  // argv without COMMAND
    if (at) rest.erase(rest.begin() + at);
    const int rest_count = static_cast<int>(rest.size());
    SubcommandLine cli;
    if (!command) {  // --help, --version or a usage error
        parse_with(rest_count, rest.data(), global, 0, info.name, [&](const po::options_description& all) {
            print_help(info.name, info.synopsis, info.summary, command_list(commands), all);
        }, env);
        if (at) fail(kExitUsage, std::string("unknown command '") + argv[at] + "' (" + names + ") (try --help)");
        fail(kExitUsage, "no command: give one of " + names + " (try --help)");
    }
    po::options_description options;
    if (!command->options.options().empty()) options.add(command->options);
    options.add(global);
    const std::string usage = "[global options] " + std::string(command->name) + " " + command->synopsis;
    static_cast<CommandLine&>(cli) = parse_with(rest_count, rest.data(), options, -1, info.name,
                                                [&](const po::options_description& all) {
        print_help(info.name, usage, command->summary, "", all);
    }, env);
    cli.command = command->name;
    if (cli.has(kArgs)) cli.args = cli.get<std::vector<std::string>>(kArgs);
    if (cli.args.size() < command->min_args || cli.args.size() > command->max_args)
        fail(kExitUsage, "usage: " + std::string(info.name) + " " + command->name + " " + command->synopsis + " (try --help)");
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
    clear_status_line_for_message();
    std::string line = program_name() + ": " + message + "\n";
    (void)!std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace hci
