#include "libcommon/api/pipeline.h"

#include "libcommon/base/error.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/base/log.h"

#include <cstdio>

namespace hci {

std::optional<std::string> vm_snapshot_id_of(const json::object& line) {
    for (auto path : {std::initializer_list<const char*>{"vm_snapshot", "id"}, {"data", "id"}, {"id"}})
        if (auto id = string_at(line, path)) return id;
    return std::nullopt;
}

std::string line_context(const json::object& line) {
    if (auto name = string_at(line, {"vm", "name"})) return "vm " + *name;
    if (auto name = string_at(line, {"name"})) return *name;
    return "";
}

void notice(const std::string& message) {
    std::string line = program_name() + ": " + message + "\n";
    (void)!std::fwrite(line.data(), 1, line.size(), stderr);
}

void add_task_wait_options(po::options_description& d) {
    d.add_options()
        ("interval", po::value<double>()->default_value(0.5)->value_name("SECONDS"),
         "first wait between task polls; it grows by half each round")
        ("max-interval", po::value<double>()->default_value(5)->value_name("SECONDS"),
         "longest wait between task polls");
}

TaskWaitSettings task_wait_settings(const po::variables_map& vm, const CommonOptions& common) {
    TaskWaitSettings s;
    s.interval_s = vm["interval"].as<double>();
    s.max_interval_s = vm["max-interval"].as<double>();
    s.timeout_s = common.timeout_s;
    if (s.interval_s <= 0 || s.max_interval_s < s.interval_s)
        fail(kExitUsage, "--interval must be positive and not above --max-interval");
    return s;
}

void add_batch_option(po::options_description& d, int default_size) {
    d.add_options()("batch-size", po::value<int>()->default_value(default_size)->value_name("N"),
                    "input lines handled per API call");
}

std::size_t batch_size(const po::variables_map& vm) {
    int n = vm["batch-size"].as<int>();
    if (n < 1) fail(kExitUsage, "--batch-size must be at least 1");
    return static_cast<std::size_t>(n);
}

}  // namespace hci
