#pragma once
// One hci-sim per state directory: an exclusive flock on DIR/hci-sim.pid,
// which holds the owner's pid so a second instance can name it. The kernel
// drops the lock when the owner exits, however it exits.
#include <string>

namespace sim {

class StateLock {
public:
    // Creates DIR if missing. hci::Error (exit 3) naming the running
    // instance's pid when another hci-sim holds DIR.
    explicit StateLock(const std::string& dir);
    ~StateLock();
    StateLock(const StateLock&) = delete;
    StateLock& operator=(const StateLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace sim
