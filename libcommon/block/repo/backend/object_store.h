#pragma once
// The storage a repository lives on, as whole immutable objects under keys
// (issue 18 §1; restic's internal/backend is the model): a POSIX directory
// (local or NFS), an in-memory store for unit tests, and S3 later. Above it
// the repository sees no paths, renames, appends or file locks.
//
// Keys are '/'-separated paths of parts [A-Za-z0-9_+@:=-][A-Za-z0-9._+@:=-]*:
// no empty part, no "." or "..", and no part starting with '.', which every
// store keeps for its own temporaries.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hci::repo {

struct ObjectInfo {
    std::string key;
    uint64_t size = 0;
};

class ObjectStore {
public:
    virtual ~ObjectStore() = default;

    // Stores a whole object under `key`, replacing one that is there.
    // Readers see the old object or the new one, never a part of either.
    virtual void save(const std::string& key, const void* data, size_t length) = 0;
    // Stores the object only if no object has the key (a create-only PUT,
    // link()): of writers racing for one key exactly one gets true.
    virtual bool create(const std::string& key, const void* data, size_t length) = 0;
    // Up to `length` bytes from `offset` (all to the end when length is 0):
    // fewer at the end of the object, none past it. nullopt when the object
    // does not exist.
    virtual std::optional<std::vector<unsigned char>> load(const std::string& key, uint64_t offset = 0,
                                                           uint64_t length = 0) = 0;
    virtual std::optional<ObjectInfo> stat(const std::string& key) = 0;
    // Every object whose key starts with `prefix`, in key order.
    virtual void list(const std::string& prefix, const std::function<void(const ObjectInfo&)>& visit) = 0;
    // Removes the objects; keys that do not exist are no error. Returns how
    // many it removed.
    virtual uint64_t remove(const std::vector<std::string>& keys) = 0;
    // The store's own clock in seconds since the epoch (a file system's
    // time stamps, a server's Date), never the host's: leases and grace
    // periods are judged by it, so hosts with skewed clocks agree.
    virtual int64_t now() = 0;
    // Makes every save and create so far durable.
    virtual void sync() = 0;
    // Where a key is, for messages ("DIR/KEY", "s3://BUCKET/KEY").
    virtual std::string where(const std::string& key) const = 0;
};

// Usage error (exit 2) naming the key unless it is valid (see above).
void validate_key(const std::string& key);

// Today's directory repository: a key is a file under `dir`; objects are
// written to unpredictable temporary names (O_EXCL|O_NOFOLLOW) and renamed
// (save) or linked (create) into place; sync() is one syncfs(2).
std::unique_ptr<ObjectStore> open_local_store(const std::string& dir);

// For unit tests: objects in memory, `clock` (seconds) as the store's time.
std::unique_ptr<ObjectStore> open_memory_store(std::function<int64_t()> clock = nullptr);

}  // namespace hci::repo
