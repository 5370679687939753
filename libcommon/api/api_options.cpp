#include "libcommon/api/api_options.h"

#include <algorithm>

#include "libcommon/api/tasks.h"
#include "libcommon/base/error.h"

namespace hci {

namespace {

constexpr double kRequestTimeoutS = 30;
constexpr double kLongestRequestWhileWaitingS = 60;

bool truthy(const std::string& s) { return s == "1" || s == "yes" || s == "true"; }

bool waits_for_tasks(const CommandLine& cli) { return cli.has("task-timeout"); }

// --task-timeout, or --timeout (its old spelling) in a tool that waits.
double task_timeout(const CommandLine& cli) {
    bool given = cli.has("task-timeout") && !cli.vm["task-timeout"].defaulted();
    if (cli.has("timeout")) {
        if (given) fail(kExitUsage, "--timeout is the old name of --task-timeout; give one of them");
        return cli.get<double>("timeout");
    }
    return cli.get<double>("task-timeout");
}

double request_timeout(const CommandLine& cli) {
    const bool waits = waits_for_tasks(cli);
    if (cli.has("request-timeout")) {
        if (!waits && cli.has("timeout"))
            fail(kExitUsage, "--timeout is the old name of --request-timeout; give one of them");
        return cli.get<double>("request-timeout");
    }
    if (waits) return std::min(task_timeout(cli), kLongestRequestWhileWaitingS);
    return cli.has("timeout") ? cli.get<double>("timeout") : kRequestTimeoutS;
}

int retries(const CommandLine& cli) {
    if (cli.has("retries")) return cli.get<int>("retries");
    auto text = cli.env("HCI_RETRIES");
    if (!text) return 5;
    int n = 0;
    try {
        n = std::stoi(*text);
    } catch (const std::exception&) {
        fail(kExitUsage, "HCI_RETRIES is not a number: " + *text);
    }
    if (n < 1) fail(kExitUsage, "HCI_RETRIES must be at least 1");
    return n;
}

}  // namespace

po::options_description api_options_description(bool waits_for_tasks) {
    po::options_description d("CloudTower options");
    d.add_options()
        ("endpoint", po::value<std::string>()->value_name("URL"),
         "CloudTower URL, https://host or https://host/v2/api (env CLOUDTOWER_ENDPOINT)")
        ("token-file", po::value<std::string>()->value_name("FILE"),
         "read the API token from FILE (env CLOUDTOWER_TOKEN_FILE)")
        ("insecure", po::bool_switch(), "do not verify the server's TLS certificate")
        ("cacert", po::value<std::string>()->value_name("FILE"),
         "trust the CA certificates in FILE (env CLOUDTOWER_CACERT)")
        ("request-timeout", po::value<double>()->value_name("SECONDS")->notifier(must_be_positive("request-timeout")),
         waits_for_tasks ? "time limit for one API request (default: --task-timeout, at most 60)"
                         : "time limit for one API request (default 30)")
        ("retries", po::value<int>()->value_name("N")->notifier(must_be_at_least("retries", 1)),
         "attempts per API call, including the first (env HCI_RETRIES, default 5)")
        ("fail-fast", po::bool_switch(), "stop at the first bad input line or failed item");
    if (!waits_for_tasks)
        d.add_options()("timeout", po::value<double>()->value_name("SECONDS")->notifier(must_be_positive("timeout")),
                        "old name of --request-timeout");
    return d;
}

ApiOptions resolve_api_options(const CommandLine& cli) {
    ApiOptions c;
    c.endpoint = cli.option_or_env("endpoint", "CLOUDTOWER_ENDPOINT");
    c.token_file = cli.option_or_env("token-file", "CLOUDTOWER_TOKEN_FILE");
    c.token_file_from_option = cli.has("token-file");
    c.cacert = cli.option_or_env("cacert", "CLOUDTOWER_CACERT");
    c.insecure = (cli.has("insecure") && cli.get<bool>("insecure")) || truthy(cli.env("CLOUDTOWER_INSECURE").value_or(""));
    c.request_timeout_s = request_timeout(cli);
    c.retries = retries(cli);
    c.fail_fast = cli.has("fail-fast") && cli.get<bool>("fail-fast");
    c.dump_requests = cli.env("HCI_DUMP_REQUESTS").value_or("");
    return c;
}

po::options_description task_wait_options(const char* task) {
    po::options_description d("Task options");
    const std::string give_up = std::string("give up on a ") + task + " not finished after SECONDS";
    d.add_options()
        ("task-timeout", po::value<double>()->default_value(1800)->value_name("SECONDS")
                             ->notifier(must_be_positive("task-timeout")),
         give_up.c_str())
        ("timeout", po::value<double>()->value_name("SECONDS")->notifier(must_be_positive("timeout")),
         "old name of --task-timeout")
        ("interval", po::value<double>()->default_value(0.5)->value_name("SECONDS")
                         ->notifier(must_be_positive("interval")),
         "first wait between task polls; it grows by half each round")
        ("max-interval", po::value<double>()->default_value(5)->value_name("SECONDS"),
         "longest wait between task polls");
    return d;
}

TaskWaitSettings task_wait_settings(const CommandLine& cli) {
    TaskWaitSettings s;
    s.interval_s = cli.get<double>("interval");
    s.max_interval_s = cli.get<double>("max-interval");
    s.timeout_s = task_timeout(cli);
    if (s.max_interval_s < s.interval_s)
        fail(kExitUsage, "--interval must be positive and not above --max-interval");
    return s;
}

void add_batch_option(po::options_description& d, int default_size) {
    d.add_options()("batch-size",
                    po::value<int>()->default_value(default_size)->value_name("N")->notifier(
                        must_be_at_least("batch-size", 1)),
                    "input lines handled per API call");
}

std::size_t batch_size(const CommandLine& cli) { return static_cast<std::size_t>(cli.get<int>("batch-size")); }

ApiCommandLine parse_api_command_line(int argc, char** argv, const ToolInfo& info,
                                      const po::options_description& tool_options, const EnvLookup& env) {
    po::options_description all;
    all.add(tool_options).add(api_options_description(tool_options.find_nothrow("task-timeout", false) != nullptr));
    ToolInfo reads_lines = info;  // every hci tool reads JSON lines from [FILE] or stdin
    reads_lines.reads_input_file = true;
    ApiCommandLine cli;
    static_cast<CommandLine&>(cli) = parse_command_line(argc, argv, reads_lines, all, env);
    cli.api = resolve_api_options(cli);
    return cli;
}

}  // namespace hci
