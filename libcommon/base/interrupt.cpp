#include "libcommon/base/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

namespace hci {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
// The file to remove on a signal; the handler only calls async-signal-safe
// functions (unlink, signal, raise).
char g_doomed[4096];
std::atomic<bool> g_have_doomed{false};
// install_interrupt_handlers() asked for the flag; otherwise a signal ends us.
std::atomic<bool> g_cooperative{false};

extern "C" void on_signal(int sig) {
    std::signal(sig, SIG_DFL);  // the next one ends us the usual way
    const bool doomed = g_have_doomed.load();
    if (doomed) ::unlink(g_doomed);
    if (doomed || !g_cooperative.load()) {
        std::raise(sig);
        return;
    }
    g_interrupted = 1;
}

// A signal ignored when we started stays ignored, as Unix tools do: nohup
// means hang-ups must not end us, and a background job of a non-interactive
// shell ignores SIGINT, so the shell script around us decides what an
// interrupt does, not we alone halfway through its work.
bool ignored_now(int sig) {
    struct sigaction old {};
    return sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN;
}

// Asked before our first handler goes in (the first call sees all three).
bool ignored_at_start(int sig) {
    static const bool int_ignored = ignored_now(SIGINT), term_ignored = ignored_now(SIGTERM),
                      hup_ignored = ignored_now(SIGHUP);
    return sig == SIGINT ? int_ignored : sig == SIGTERM ? term_ignored : hup_ignored;
}

void install_handler() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        if (ignored_at_start(sig)) continue;
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, nullptr);
    }
}

}  // namespace

void install_interrupt_handlers() {
    g_cooperative = true;
    install_handler();
}

void remove_if_killed(const std::string& path) {
    if (path.size() >= sizeof g_doomed) return;
    g_have_doomed = false;
    std::memcpy(g_doomed, path.c_str(), path.size() + 1);
    g_have_doomed = true;
    install_handler();
}

void clear_remove_if_killed() { g_have_doomed = false; }

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
