#pragma once
// A one-line progress meter on stderr: bytes done of total, percent, and
// once there is at least a second of data the rate and ETA (a first reading
// after a few milliseconds would claim absurd rates), redrawn at most a few
// times a second (a StatusLine), ended with a newline so the next meter
// starts a line of its own.
#include <chrono>
#include <cstdint>
#include <string>

#include "libcommon/base/status_line.h"

namespace hci {

class Progress {
public:
    // kAuto shows the meter only when stderr (fd) is a terminal; clock: see StatusLine.
    Progress(ProgressMode mode, uint64_t total, SteadyClock clock = {}, int fd = STDERR_FILENO);
    void set_total(uint64_t total) { total_ = total; }
    void update(uint64_t done);
    void finish();
    bool enabled() const { return line_.enabled(); }

private:
    std::string text(bool final) const;
    SteadyClock clock_;
    StatusLine line_;
    uint64_t total_;
    uint64_t done_ = 0;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_;
};

// One reading of a meter, and its text: "LABEL: 1.5 GiB / 8.0 GiB  18% 
// 120.3 MiB/s ETA 0:00:55"; without total, only the bytes (and rate); the
// rate and ETA only from kRateAfter on; final: the time taken instead of ETA.
struct ProgressReading {
    uint64_t done = 0, total = 0;
    double seconds = 0;  // since the meter started
    bool final = false;
};
constexpr double kRateAfter = 1.0;
std::string progress_text(const std::string& label, const ProgressReading& reading);

// Text shown before every meter of this process, so a script running several
// copies says which one is which ("web01 disk 0 read"). Control characters
// become '?', and it is cut at 60 bytes.
void set_progress_label(const std::string& label);

// "1.5 GiB", "512 KiB", "12 B".
std::string human_bytes(double bytes);

}  // namespace hci
