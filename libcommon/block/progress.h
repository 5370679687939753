#pragma once
// A one-line progress meter on stderr: bytes done of total, percent, rate and
// ETA, redrawn at most a few times a second (a StatusLine), ended with a newline.
#include <chrono>
#include <cstdint>
#include <string>

#include "libcommon/base/status_line.h"

namespace hci {

class Progress {
public:
    // kAuto shows the meter only when stderr is a terminal.
    Progress(ProgressMode mode, uint64_t total);
    void set_total(uint64_t total) { total_ = total; }
    void update(uint64_t done);
    void finish();
    bool enabled() const { return line_.enabled(); }

private:
    std::string text(bool final) const;
    StatusLine line_;
    uint64_t total_;
    uint64_t done_ = 0;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_;
};

// Text shown before every meter of this process, so a script running several
// copies says which one is which ("web01 disk 0 read"). Control characters
// become '?', and it is cut at 60 bytes.
void set_progress_label(const std::string& label);

// "1.5 GiB", "512 KiB", "12 B".
std::string human_bytes(double bytes);

}  // namespace hci
