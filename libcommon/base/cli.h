#pragma once
// Command-line handling shared by every hci-* tool: the common options, their
// environment fallbacks, --help and --version.
#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string>

namespace hci {

namespace po = boost::program_options;

// Looks up an environment variable; injectable so precedence is unit-tested.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Settings every hci tool shares, after option > environment > default.
struct CommonOptions {
    std::string endpoint;         // --endpoint, CLOUDTOWER_ENDPOINT
    std::string token_file;       // --token-file, CLOUDTOWER_TOKEN_FILE
    bool token_file_from_option = false;  // --token-file beats CLOUDTOWER_TOKEN; the env file does not
    bool insecure = false;        // --insecure, CLOUDTOWER_INSECURE=1
    std::string cacert;           // --cacert, CLOUDTOWER_CACERT
    double timeout_s = 30;        // --timeout (meaning depends on the tool, see ToolInfo)
    double request_timeout_s = 30;  // limit for one API request
    int verbose = 0;              // -v (repeatable)
    bool fail_fast = false;       // --fail-fast
    int retries = 5;              // --retries, HCI_RETRIES: attempts per call including the first
    std::string dump_requests;    // HCI_DUMP_REQUESTS (debug): write request bodies there
};

struct ToolInfo {
    const char* name;             // "hci-vm-get"
    const char* synopsis;         // "[options] [--name NAME]..."
    const char* summary;          // one line
    const char* timeout_help = "time limit in seconds for one API request";
    double default_timeout_s = 30;
    bool timeout_is_wait = false;  // --timeout bounds waiting for tasks; requests stay <= 60 s
};

// The common options as a description, so tools add their own beside them.
po::options_description common_options_description(const ToolInfo& info);

// Resolves the common settings from parsed options and the environment.
CommonOptions resolve_common(const po::variables_map& vm, const EnvLookup& env, const ToolInfo& info);

// Parses argv with the common options plus the tool's own. Handles --help and
// --version (prints and exits 0) and turns parse errors into Error(kExitUsage).
// Positional arguments are rejected unless `positional` names an option.
struct ParsedCommandLine {
    po::variables_map vm;
    CommonOptions common;
};
ParsedCommandLine parse_command_line(int argc, char** argv, const ToolInfo& info,
                                     const po::options_description& tool_options,
                                     const EnvLookup& env = process_env(),
                                     const char* positional = nullptr);

}  // namespace hci
