#pragma once
// One line of status on stderr, redrawn in place ("\r...\033[K"): the
// progress of long work. Shown on a terminal, or everywhere with --progress;
// never on stdout. A message written meanwhile (log.h, notice) first clears
// the line, and the next update draws it again, so the two never mix.
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "libcommon/base/cli.h"

namespace hci {

enum class ProgressMode { kAuto, kOn, kOff };

// --progress and --no-progress, and what they select (both: usage error).
void add_progress_options(po::options_description& d);
ProgressMode progress_switch(const CommandLine& cli);

// Where a status line and a meter take the time from: the steady clock,
// unless a test gives a clock of its own (never wall-clock speed in tests).
using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

class StatusLine {
public:
    // kAuto shows the line only when fd (stderr) is a terminal.
    explicit StatusLine(ProgressMode mode, SteadyClock clock = {}, int fd = STDERR_FILENO);
    ~StatusLine();  // ends a shown line (keeps it) so what follows starts on its own
    StatusLine(const StatusLine&) = delete;
    StatusLine& operator=(const StatusLine&) = delete;

    bool enabled() const { return enabled_; }
    // Whether show() would draw now: callers skip building the text otherwise.
    bool due() const;
    // Draws text in place, at most a few times a second unless now.
    void show(const std::string& text, bool now = false);
    // Erases the line (work done, nothing to keep).
    void clear();
    // Draws text now and ends the line with a newline: it stays on the screen.
    void end(const std::string& text);

private:
    void write_line(const std::string& text, const char* tail);
    SteadyClock clock_;
    int fd_;
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_draw_{};
};

// Text from elsewhere (a label, a server's description) made safe to draw:
// control characters become '?', cut at max bytes on a character boundary.
std::string printable_text(std::string_view text, std::size_t max);

// Erases the status line on the screen, if any, before a message; it is
// drawn again at its next update (log.cpp and notice() call this).
void clear_status_line_for_message();

}  // namespace hci
