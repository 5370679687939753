#include "libcommon/base/interrupt.h"

#include <chrono>
#include <csignal>
#include <thread>

namespace hci {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_signal(int sig) {
    g_interrupted = 1;
    std::signal(sig, SIG_DFL);  // the next one ends us the usual way
}

}  // namespace

void install_interrupt_handlers() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, nullptr);
    }
}

bool interrupted() { return g_interrupted != 0; }

void check_interrupted() {
    if (interrupted()) throw Interrupted();
}

void interruptible_sleep(long ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        check_interrupted();
        std::this_thread::sleep_for(std::min(std::chrono::milliseconds(50),
                                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 end - std::chrono::steady_clock::now())));
    }
    check_interrupted();
}

}  // namespace hci
