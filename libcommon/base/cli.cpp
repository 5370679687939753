#include "libcommon/base/cli.h"

#include <algorithm>
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

po::options_description common_options_description(const ToolInfo& info) {
    po::options_description d("Common options");
    d.add_options()
        ("endpoint", po::value<std::string>()->value_name("URL"),
         "CloudTower URL, https://host or https://host/v2/api (env CLOUDTOWER_ENDPOINT)")
        ("token-file", po::value<std::string>()->value_name("FILE"),
         "read the API token from FILE (env CLOUDTOWER_TOKEN_FILE)")
        ("insecure", po::bool_switch(), "do not verify the server's TLS certificate")
        ("cacert", po::value<std::string>()->value_name("FILE"),
         "trust the CA certificates in FILE (env CLOUDTOWER_CACERT)")
        ("timeout", po::value<double>()->value_name("SECONDS"), info.timeout_help)
        ("retries", po::value<int>()->value_name("N"),
         "attempts per API call, including the first (env HCI_RETRIES, default 5)")
        ("fail-fast", po::bool_switch(), "stop at the first bad input line or failed item")
        ("verbose,v", po::bool_switch(), "say more on stderr; twice for debug output")
        ("help,h", "show this help and exit")
        ("version", "show the version and exit");
    return d;
}

namespace {

std::string pick(const po::variables_map& vm, const char* option, const EnvLookup& env, const char* variable,
                 const std::string& fallback = "") {
    if (vm.count(option)) return vm[option].as<std::string>();
    if (auto value = env(variable)) return *value;
    return fallback;
}

bool truthy(const std::string& s) { return s == "1" || s == "yes" || s == "true"; }

}  // namespace

CommonOptions resolve_common(const po::variables_map& vm, const EnvLookup& env, const ToolInfo& info) {
    CommonOptions c;
    c.endpoint = pick(vm, "endpoint", env, "CLOUDTOWER_ENDPOINT");
    c.token_file = pick(vm, "token-file", env, "CLOUDTOWER_TOKEN_FILE");
    c.token_file_from_option = vm.count("token-file") > 0;
    c.cacert = pick(vm, "cacert", env, "CLOUDTOWER_CACERT");
    c.insecure = (vm.count("insecure") && vm["insecure"].as<bool>()) ||
                 truthy(env("CLOUDTOWER_INSECURE").value_or(""));
    c.timeout_s = vm.count("timeout") ? vm["timeout"].as<double>() : info.default_timeout_s;
    if (c.timeout_s <= 0) fail(kExitUsage, "--timeout must be positive");
    c.request_timeout_s = info.timeout_is_wait ? std::min(c.timeout_s, 60.0) : c.timeout_s;
    if (vm.count("retries")) {
        c.retries = vm["retries"].as<int>();
    } else if (auto r = env("HCI_RETRIES")) {
        try {
            c.retries = std::stoi(*r);
        } catch (const std::exception&) {
            fail(kExitUsage, "HCI_RETRIES is not a number: " + *r);
        }
    }
    if (c.retries < 1) fail(kExitUsage, "--retries must be at least 1");
    c.verbose = vm.count("verbose") && vm["verbose"].as<bool>() ? 1 : 0;
    c.fail_fast = vm.count("fail-fast") && vm["fail-fast"].as<bool>();
    c.dump_requests = env("HCI_DUMP_REQUESTS").value_or("");
    return c;
}

ParsedCommandLine parse_command_line(int argc, char** argv, const ToolInfo& info,
                                     const po::options_description& tool_options, const EnvLookup& env,
                                     const char* positional) {
    po::options_description all;
    all.add(tool_options).add(common_options_description(info));
    ParsedCommandLine parsed;
    int verbosity = 0;
    try {
        auto parser = po::command_line_parser(argc, argv).options(all);
        po::positional_options_description pos;
        if (positional) {
            pos.add(positional, -1);
            parser.positional(pos);
        }
        po::parsed_options options = parser.run();
        // -v may be repeated (-v -v, -vv): count it here, since a switch may
        // appear only once in a variables_map.
        auto& list = options.options;
        for (auto it = list.begin(); it != list.end();) {
            if (it->string_key.empty() && !positional)
                fail(kExitUsage, "unexpected argument " + (it->original_tokens.empty() ? std::string("?") : it->original_tokens[0]) + " (try --help)");
            if (it->string_key == "verbose") {
                ++verbosity;
                it = list.erase(it);
            } else {
                ++it;
            }
        }
        po::store(options, parsed.vm);
        po::notify(parsed.vm);
    } catch (const po::error& e) {
        fail(kExitUsage, std::string(e.what()) + " (try --help)");
    }
    if (parsed.vm.count("help")) {
        std::cout << "Usage: " << info.name << " " << info.synopsis << "\n" << info.summary << "\n\n"
                  << all << "\nSee " << info.name << "(1).\n";
        std::exit(kExitOk);
    }
    if (parsed.vm.count("version")) {
        std::cout << info.name << " " << HCI_VERSION << "\n";
        std::exit(kExitOk);
    }
    parsed.common = resolve_common(parsed.vm, env, info);
    parsed.common.verbose = verbosity;
    set_verbose(parsed.common.verbose);
    return parsed;
}

}  // namespace hci
