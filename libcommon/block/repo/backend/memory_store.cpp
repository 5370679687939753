// An object store in memory, for unit tests: a sorted map under a mutex.
#include <ctime>
#include <map>
#include <mutex>

#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo {
namespace {

class MemoryStore : public ObjectStore {
public:
    explicit MemoryStore(std::function<int64_t()> clock) : clock_(std::move(clock)) {}

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

private:
    std::function<int64_t()> clock_;
    std::mutex mu_;
    std::map<std::string, std::vector<unsigned char>> objects_;
};

}  // namespace

std::unique_ptr<ObjectStore> open_memory_store(std::function<int64_t()> clock) {
    return std::make_unique<MemoryStore>(std::move(clock));
}

}  // namespace hci::repo
