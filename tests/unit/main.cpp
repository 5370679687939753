// Catch2 main. Like every tool (hci::run_main), the tests ignore SIGPIPE:
// the iSCSI tests kill targets mid-command, and a write to the dead socket
// must surface as EPIPE, not end the test process.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <csignal>

int main(int argc, char* argv[]) {
    std::signal(SIGPIPE, SIG_IGN);
    return Catch::Session().run(argc, argv);
}
