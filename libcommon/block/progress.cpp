#include "libcommon/block/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace hci {

namespace {
std::string g_label;  // "LABEL: " or empty
}  // namespace

void set_progress_label(const std::string& label) {
    std::string clean = printable_text(label, 60);
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

Progress::Progress(ProgressMode mode, uint64_t total, SteadyClock clock, int fd)
    : clock_(clock ? std::move(clock) : SteadyClock([] { return std::chrono::steady_clock::now(); })),
      line_(mode, clock_, fd),
      total_(total),
      start_(clock_()) {}

void Progress::update(uint64_t done) {
    done_ = done;
    if (line_.due()) line_.show(text(false));
}

void Progress::finish() {
    if (finished_) return;
    line_.end(text(true));
    finished_ = true;
}

std::string Progress::text(bool final) const {
    ProgressReading r;
    r.done = done_;
    r.total = total_;
    r.seconds = std::chrono::duration<double>(clock_() - start_).count();
    r.final = final;
    return progress_text(g_label, r);
}

std::string progress_text(const std::string& label, const ProgressReading& r) {
    // Before a second has passed the rate says more about the first block
    // than about the copy: neither rate nor ETA then.
    const bool rated = r.seconds >= kRateAfter;
    const double rate = rated ? static_cast<double>(r.done) / r.seconds : 0;
    std::string text = label + human_bytes(double(r.done));
    char buf[64];
    if (r.total) {
        int pct = static_cast<int>(100.0 * static_cast<double>(r.done) / static_cast<double>(r.total));
        std::snprintf(buf, sizeof buf, " / %s %3d%%", human_bytes(double(r.total)).c_str(), pct);
        text += buf;
    }
    if (rated) ((text += ' ') += human_bytes(rate)) += "/s";  // appended: " " + a temporary trips GCC 12's -Wrestrict
    if (r.final) {
        std::snprintf(buf, sizeof buf, " %.1fs", r.seconds);
        text += buf;
    } else if (rated && r.total >= r.done && rate > 0) {
        auto left = static_cast<long>(static_cast<double>(r.total - r.done) / rate);
        std::snprintf(buf, sizeof buf, " ETA %ld:%02ld:%02ld", left / 3600, left / 60 % 60, left % 60);
        text += buf;
    }
    return text;
}

}  // namespace hci
