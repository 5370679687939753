// Catch2 main. Like every tool (hci::run_main), the tests ignore SIGPIPE:
// the iSCSI tests kill targets mid-command, and a write to the dead socket
// must surface as EPIPE, not end the test process.
//
// --skip-unless-tgt (first argument): exit 77, ctest's "skipped", when no
// tgtd can run here (not root, tgt not installed). ctest runs the [iscsi]
// cases that way, so they are reported as skipped instead of passing empty.
//
// --skip-unless-s3 ENV_FILE (first argument): exit 77 unless ENV_FILE (the
// exports scripts/rgw-testbed.sh wrote) exists; else its exports are set and
// the S3 cases run (s3_test_util.h).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>

#include "libsim/tgtd.h"
#include "s3_test_util.h"

namespace {

// "export NAME=VALUE" lines into the environment; false when unreadable.
bool load_exports(const char* path) {
    std::ifstream in(path);
    if (!in) return false;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with("export ")) continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        ::setenv(line.substr(7, eq - 7).c_str(), line.substr(eq + 1).c_str(), 1);
    }
    return true;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && std::strcmp(argv[1], "--skip-unless-tgt") == 0) {
        if (std::string why = sim::Tgtd::unavailable(); !why.empty()) {
            std::cout << "skipped: " << why << "\n";
            return 77;
        }
        argv[1] = argv[0];
        ++argv;
        --argc;
    }
    if (argc > 2 && std::strcmp(argv[1], "--skip-unless-s3") == 0) {
        if (!load_exports(argv[2])) {
            std::cout << "skipped: no S3 test bed (" << argv[2] << " is missing: Ceph RGW not installed or not started)\n";
            return 77;
        }
        hci::s3_test::enabled = true;
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
    }
    return Catch::Session().run(argc, argv);
}
