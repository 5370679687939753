#include "libsim/copy_tracker.h"

namespace sim {

void CopyTracker::begin(const std::string& source) {
    std::lock_guard lock(mutex_);
    sources_.insert(source);
}

void CopyTracker::end(const std::string& source) {
    std::lock_guard lock(mutex_);
    if (auto it = sources_.find(source); it != sources_.end()) sources_.erase(it);
    idle_.notify_all();
}

bool CopyTracker::busy(const std::string& source) const {
    std::lock_guard lock(mutex_);
    return sources_.count(source) > 0;
}

void CopyTracker::wait_until_idle(const std::string& source) {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return sources_.count(source) == 0; });
}

int CopyTracker::in_flight() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(sources_.size());
}

}  // namespace sim
