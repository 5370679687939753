#pragma once
// Ctrl-C (SIGINT), SIGTERM and SIGHUP as a flag, so a tool can undo what it
// created before it exits. A second signal ends the program at once.
#include "libcommon/base/error.h"

namespace hci {

constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

class Interrupted : public Error {
public:
    Interrupted() : Error(static_cast<ExitCode>(kExitInterrupted), "interrupted") {}
};

void install_interrupt_handlers();
bool interrupted();
// Throws Interrupted when a signal arrived.
void check_interrupted();
// Sleeps up to ms, waking early (and throwing Interrupted) on a signal.
void interruptible_sleep(long ms);

}  // namespace hci
