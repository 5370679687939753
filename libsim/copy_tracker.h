#pragma once
// Snapshot copies run on worker threads, off the event loop, so a large
// dense copy stalls no other API call. This tracks them by source volume: a
// write to a volume waits until its copies are done, so a snapshot stays a
// point-in-time copy of what the API had written before it.
// (Writes that reach a volume through tgtd are not tracked.)
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

namespace sim {

class CopyTracker {
public:
    void begin(const std::string& source);
    void end(const std::string& source);
    bool busy(const std::string& source) const;
    void wait_until_idle(const std::string& source);
    int in_flight() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable idle_;
    std::multiset<std::string> sources_;
};

}  // namespace sim
