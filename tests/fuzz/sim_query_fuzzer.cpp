// libFuzzer target: hci-sim's Prisma-style query parser (where, orderBy,
// cursors, skip/first/last) through the real request path, as a get-vms,
// get-vm-disks or get-tasks body. Malformed input must be a 4xx answer; a 500
// ("internal error") or an uncaught exception is a finding.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "libsim/simulator.h"

namespace {

std::unique_ptr<sim::Simulator> g_sim;
std::string g_token;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    sim::Options opts;
    opts.state_dir = std::filesystem::temp_directory_path() / ("hci-fuzz-sim-" + std::to_string(::getpid()));
    const char* source = std::getenv("HCI_SOURCE_DIR");
    opts.scenario_file = std::string(source ? source : ".") + "/tests/fixtures/scenario-basic.json";
    opts.use_tgtd = false;
    g_sim = std::make_unique<sim::Simulator>(opts);
    g_sim->start();
    auto reply = g_sim->handle("POST", "/v2/api/login", R"({"username":"admin","password":"admin-password"})", "");
    if (reply.status != 200) std::abort();
    g_token = std::string(reply.body.at("data").at("token").as_string());
    std::atexit([] { std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                                 ("hci-fuzz-sim-" + std::to_string(::getpid()))); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* ops[] = {"get-vms", "get-vm-disks", "get-tasks", "get-iscsi-luns"};
    if (size == 0) return 0;
    std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto reply = g_sim->handle("POST", std::string("/v2/api/") + ops[data[0] % 4], body, g_token);
    if (reply.status >= 500) std::abort();
    return 0;
}
