#include "libcommon/block/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace hci {

namespace {
std::string g_label;  // "LABEL: " or empty
}  // namespace

void set_progress_label(const std::string& label) {
    std::string clean;
    for (char c : label.substr(0, 60)) clean.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
    g_label = clean.empty() ? "" : clean + ": ";
}

std::string human_bytes(double bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024 && u < 5) {
        bytes /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

Progress::Progress(ProgressMode mode, uint64_t total)
    : enabled_(mode == ProgressMode::kOn || (mode == ProgressMode::kAuto && ::isatty(STDERR_FILENO))),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
    // An error ends the meter's line so the error message starts on its own.
    if (enabled_ && !finished_ && done_ > 0) (void)!::write(STDERR_FILENO, "\n", 1);
}

void Progress::update(uint64_t done) {
    done_ = done;
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(250)) return;
    last_draw_ = now;
    draw(false);
}

void Progress::finish() {
    if (!enabled_ || finished_) return;
    draw(true);
    finished_ = true;
}

void Progress::draw(bool final) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
    char line[256];
    int pct = total_ ? static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_)) : 100;
    std::string eta = "--:--";
    if (final) {
        char b[32];
        std::snprintf(b, sizeof b, "%.1fs", seconds);
        eta = b;
    } else if (rate > 0 && total_ >= done_) {
        auto left = static_cast<long>(static_cast<double>(total_ - done_) / rate);
        char b[32];
        std::snprintf(b, sizeof b, "ETA %ld:%02ld:%02ld", left / 3600, left / 60 % 60, left % 60);
        eta = b;
    }
    int n = total_ ? std::snprintf(line, sizeof line, "\r%s%s / %s %3d%% %s/s %s%s\033[K", g_label.c_str(),
                                   human_bytes(double(done_)).c_str(), human_bytes(double(total_)).c_str(), pct,
                                   human_bytes(rate).c_str(), eta.c_str(), final ? "\n" : "")
                   : std::snprintf(line, sizeof line, "\r%s%s %s/s%s\033[K", g_label.c_str(),
                                   human_bytes(double(done_)).c_str(),
                                   human_bytes(rate).c_str(), final ? "\n" : "");
    if (n > 0) (void)!::write(STDERR_FILENO, line, static_cast<size_t>(std::min<int>(n, sizeof line - 1)));
}

}  // namespace hci
