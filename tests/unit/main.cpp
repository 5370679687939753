// Catch2 main. Like every tool (hci::run_main), the tests ignore SIGPIPE:
// the iSCSI tests kill targets mid-command, and a write to the dead socket
// must surface as EPIPE, not end the test process.
//
// --skip-unless-tgt (first argument): exit 77, ctest's "skipped", when no
// tgtd can run here (not root, tgt not installed). ctest runs the [iscsi]
// cases that way, so they are reported as skipped instead of passing empty.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <iostream>

#include "libsim/tgtd.h"

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
    return Catch::Session().run(argc, argv);
}
