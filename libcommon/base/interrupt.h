#pragma once
// Ctrl-C (SIGINT), SIGTERM and SIGHUP, the one place that handles them:
// either as a flag, so a tool can undo what it created before it exits (a
// second signal ends the program at once), or, while a file is registered
// with remove_if_killed(), by removing that file and ending the program.
// A signal that was ignored when the program started stays ignored (nohup,
// background jobs of scripts), as Unix tools do.
#include "libcommon/base/error.h"

namespace hci {

constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

class Interrupted : public Error {
public:
    Interrupted() : Error(static_cast<ExitCode>(kExitInterrupted), "interrupted") {}
};

void install_interrupt_handlers();
// While `path` is set, a signal removes that file and ends the program the
// usual way (for a temporary file that must not outlive us). One file at a
// time; clear_remove_if_killed() forgets it.
void remove_if_killed(const std::string& path);
void clear_remove_if_killed();
bool interrupted();
// Throws Interrupted when a signal arrived.
void check_interrupted();
// Sleeps up to ms, waking early (and throwing Interrupted) on a signal.
void interruptible_sleep(long ms);

}  // namespace hci
