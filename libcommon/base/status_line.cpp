#include "libcommon/base/status_line.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "libcommon/base/error.h"

namespace hci {

namespace {
StatusLine* g_shown = nullptr;  // the line on the screen now, if any
constexpr auto kRedrawEvery = std::chrono::milliseconds(250);

void write_fd(int fd, const std::string& bytes) { (void)!::write(fd, bytes.data(), bytes.size()); }

// A line wider than the terminal wraps, and "\r" would then redraw only its
// last row: cut it to the width (when fd is a terminal that says).
std::string fit_terminal(int fd, const std::string& text) {
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_col < 2 || text.size() < size.ws_col) return text;
    return printable_text(text, size.ws_col - 1u);
}
}  // namespace

void add_progress_options(po::options_description& d) {
    d.add_options()
        ("progress", "show progress on stderr")
        ("no-progress", "never show progress");
}

ProgressMode progress_switch(const CommandLine& cli) {
    if (cli.has("progress") && cli.has("no-progress")) fail(kExitUsage, "--progress and --no-progress exclude each other");
    return cli.has("progress") ? ProgressMode::kOn : cli.has("no-progress") ? ProgressMode::kOff : ProgressMode::kAuto;
}

StatusLine::StatusLine(ProgressMode mode, SteadyClock clock, int fd)
    : clock_(clock ? std::move(clock) : SteadyClock([] { return std::chrono::steady_clock::now(); })),
      fd_(fd),
      enabled_(mode == ProgressMode::kOn || (mode == ProgressMode::kAuto && ::isatty(fd))) {}

StatusLine::~StatusLine() {
    if (shown_) write_fd(fd_, "\n");
    if (g_shown == this) g_shown = nullptr;
}

void StatusLine::write_line(const std::string& text, const char* tail) {
    // Appended in order rather than "\r" + std::string: that inserts at the
    // front, which GCC 12 -O3 misreads as an overlapping copy (-Wrestrict).
    std::string line = "\r";
    line += fit_terminal(fd_, text);
    line += "\033[K";
    line += tail;
    write_fd(fd_, line);
    last_draw_ = clock_();
}

bool StatusLine::due() const { return enabled_ && (!shown_ || clock_() - last_draw_ >= kRedrawEvery); }

void StatusLine::show(const std::string& text, bool now) {
    if (!(now ? enabled_ : due())) return;
    write_line(text, "");
    shown_ = true;
    g_shown = this;
}

void StatusLine::clear() {
    if (!shown_) return;
    write_fd(fd_, "\r\033[K");
    shown_ = false;
    if (g_shown == this) g_shown = nullptr;
}

void StatusLine::end(const std::string& text) {
    if (!enabled_) return;
    write_line(text, "\n");
    shown_ = false;
    if (g_shown == this) g_shown = nullptr;
}

std::string printable_text(std::string_view text, std::size_t max) {
    std::size_t cut = std::min(max, text.size());
    while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    std::string clean;
    for (char c : text.substr(0, cut)) clean.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
    return clean;
}

void clear_status_line_for_message() {
    if (g_shown) g_shown->clear();
}

}  // namespace hci
