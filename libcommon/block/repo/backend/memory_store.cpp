// An object store in memory, for unit tests: a sorted map under a mutex.
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>

#include "libcommon/block/repo/backend/lease_lock.h"
#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo {
namespace {

// Readers-writer locks by name, within this process: what flock gives a
// directory repository, for tests of the repository on this store.
class LockTable {
public:
    bool take(const std::string& name, bool exclusive, bool wait) {
        std::unique_lock<std::mutex> g(mu_);
        auto free = [&] {
            auto& s = states_[name];
            return exclusive ? (!s.exclusive && s.shared == 0) : !s.exclusive;
        };
        if (!wait && !free()) return false;
        changed_.wait(g, free);
        auto& s = states_[name];
        if (exclusive)
            s.exclusive = true;
        else
            ++s.shared;
        return true;
    }
    void give(const std::string& name, bool exclusive) {
        {
            std::lock_guard<std::mutex> g(mu_);
            auto& s = states_[name];
            if (exclusive)
                s.exclusive = false;
            else
                --s.shared;
        }
        changed_.notify_all();
    }

private:
    struct State {
        int shared = 0;
        bool exclusive = false;
    };
    std::mutex mu_;
    std::condition_variable changed_;
    std::map<std::string, State> states_;
};

class MemoryLock : public StoreLock {
public:
    MemoryLock(std::shared_ptr<LockTable> table, std::string name, bool exclusive)
        : table_(std::move(table)), name_(std::move(name)), exclusive_(exclusive) {}
    ~MemoryLock() override { table_->give(name_, exclusive_); }

private:
    std::shared_ptr<LockTable> table_;
    std::string name_;
    bool exclusive_;
};

class MemoryStore : public ObjectStore {
public:
    MemoryStore(std::function<int64_t()> clock, bool leases) : clock_(std::move(clock)), leases_(leases) {}

    void save(const std::string& key, const void* data, size_t length) override {
        validate_key(key);
        auto* p = static_cast<const unsigned char*>(data);
        std::lock_guard<std::mutex> g(mu_);
        objects_[key].assign(p, p + length);
    }

    bool create(const std::string& key, const void* data, size_t length) override {
        validate_key(key);
        auto* p = static_cast<const unsigned char*>(data);
        std::lock_guard<std::mutex> g(mu_);
        return objects_.try_emplace(key, p, p + length).second;
    }

    std::optional<std::vector<unsigned char>> load(const std::string& key, uint64_t offset, uint64_t length) override {
        validate_key(key);
        std::lock_guard<std::mutex> g(mu_);
        auto it = objects_.find(key);
        if (it == objects_.end()) return std::nullopt;
        const auto& o = it->second;
        uint64_t begin = std::min<uint64_t>(offset, o.size());
        uint64_t end = length == 0 ? o.size() : std::min<uint64_t>(o.size(), begin + length);
        return std::vector<unsigned char>(o.begin() + static_cast<ptrdiff_t>(begin),
                                          o.begin() + static_cast<ptrdiff_t>(end));
    }

    std::optional<ObjectInfo> stat(const std::string& key) override {
        validate_key(key);
        std::lock_guard<std::mutex> g(mu_);
        auto it = objects_.find(key);
        if (it == objects_.end()) return std::nullopt;
        return ObjectInfo{key, it->second.size()};
    }

    void list(const std::string& prefix, const std::function<void(const ObjectInfo&)>& visit) override {
        std::vector<ObjectInfo> found;
        {
            std::lock_guard<std::mutex> g(mu_);
            for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.starts_with(prefix); ++it)
                found.push_back({it->first, it->second.size()});
        }
        for (const auto& o : found) visit(o);  // unlocked: a visitor may use the store
    }

    uint64_t remove(const std::vector<std::string>& keys) override {
        std::lock_guard<std::mutex> g(mu_);
        uint64_t removed = 0;
        for (const auto& key : keys) removed += objects_.erase(key);
        return removed;
    }

    int64_t now() override { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }
    void sync() override {}
    std::string where(const std::string& key) const override { return "memory:" + key; }

    std::unique_ptr<StoreLock> lock(const std::string& name, bool exclusive, bool wait) override {
        validate_key(name);
        if (leases_) return LeaseLock::take(*this, name, exclusive, wait);
        if (!locks_->take(name, exclusive, wait)) return nullptr;
        return std::make_unique<MemoryLock>(locks_, name, exclusive);
    }

    bool locks_are_leases() const override { return leases_; }

private:
    std::function<int64_t()> clock_;
    bool leases_;
    std::shared_ptr<LockTable> locks_ = std::make_shared<LockTable>();
    std::mutex mu_;
    std::map<std::string, std::vector<unsigned char>> objects_;
};

}  // namespace

std::unique_ptr<ObjectStore> open_memory_store(std::function<int64_t()> clock, bool leases) {
    return std::make_unique<MemoryStore>(std::move(clock), leases);
}

}  // namespace hci::repo
