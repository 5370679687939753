#pragma once
// The command-line options every hci-* tool shares: where CloudTower is, how
// to authenticate and trust it, how long one request may take, how often to
// retry; and the option groups of tools that wait for tasks or read lines in
// batches. Each falls back to its environment variable, then to its default.
#include <string>

#include "libcommon/base/cli.h"

namespace hci {

struct TaskWaitSettings;  // tasks.h

// Settings every hci tool shares, after option > environment > default.
struct ApiOptions {
    std::string endpoint;         // --endpoint, CLOUDTOWER_ENDPOINT
    std::string token_file;       // --token-file, CLOUDTOWER_TOKEN_FILE
    bool token_file_from_option = false;  // --token-file beats CLOUDTOWER_TOKEN; the env file does not
    bool insecure = false;        // --insecure, CLOUDTOWER_INSECURE=1
    std::string cacert;           // --cacert, CLOUDTOWER_CACERT
    double request_timeout_s = 30;  // --request-timeout: limit for one API request
    bool fail_fast = false;       // --fail-fast
    int retries = 5;              // --retries, HCI_RETRIES: attempts per call including the first
    std::string dump_requests;    // HCI_DUMP_REQUESTS (debug): write request bodies there
};

// Two time limits with two names: --request-timeout bounds one API request
// (every hci tool), --task-timeout bounds waiting for one task (the tools
// that wait). --timeout is the old spelling of whichever the tool had.
// A tool that waits for tasks adds task_wait_options(); its requests then
// default to min(--task-timeout, 60) seconds instead of 30.
po::options_description api_options_description(bool waits_for_tasks);
ApiOptions resolve_api_options(const CommandLine& cli);

// --interval, --max-interval and --task-timeout; `task` names the tasks in
// the help ("clone task").
po::options_description task_wait_options(const char* task = "task");
TaskWaitSettings task_wait_settings(const CommandLine& cli);

// --batch-size N: input lines per API call.
void add_batch_option(po::options_description& d, int default_size);
std::size_t batch_size(const CommandLine& cli);

// parse_command_line() with the shared API options beside the tool's own,
// and the [FILE] argument every hci tool reads its lines from.
struct ApiCommandLine : CommandLine {
    ApiOptions api;
};
ApiCommandLine parse_api_command_line(int argc, char** argv, const ToolInfo& info,
                                      const po::options_description& tool_options,
                                      const EnvLookup& env = process_env());

}  // namespace hci
