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

Progress::Progress(ProgressMode mode, uint64_t total)
    : line_(mode), total_(total), start_(std::chrono::steady_clock::now()) {}

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
    if (total_)
        std::snprintf(line, sizeof line, "%s%s / %s %3d%% %s/s %s", g_label.c_str(), human_bytes(double(done_)).c_str(),
                      human_bytes(double(total_)).c_str(), pct, human_bytes(rate).c_str(), eta.c_str());
    else
        std::snprintf(line, sizeof line, "%s%s %s/s", g_label.c_str(), human_bytes(double(done_)).c_str(),
                      human_bytes(rate).c_str());
    return line;
}

}  // namespace hci
