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

// One version of an object, read in ranges: every read sees the object as
// it was when it was opened, even when another process replaces it meanwhile
// (the local store keeps the file open; a default reader holds a copy).
class ObjectReader {
public:
    virtual ~ObjectReader() = default;
    virtual uint64_t size() const = 0;
    // Up to `length` bytes from `offset` into `out`: fewer at the end.
    // Returns how many.
    virtual size_t read(uint64_t offset, size_t length, unsigned char* out) = 0;
    void read(uint64_t offset, size_t length, std::vector<unsigned char>& out) {
        out.resize(length);
        out.resize(read(offset, length, out.data()));
    }
};

// A new object written in pieces (a pack, an index, a locator), published
// whole under its key by commit(); destroyed uncommitted, it leaves nothing
// under the key. What was written can be read back before it is published.
class ObjectWriter {
public:
    virtual ~ObjectWriter() = default;
    virtual void write(const void* data, size_t length) = 0;  // appends
    // Overwrites bytes already written (a header filled in last).
    virtual void write_at(uint64_t offset, const void* data, size_t length) = 0;
    virtual void read_at(uint64_t offset, size_t length, std::vector<unsigned char>& out) = 0;
    virtual uint64_t size() const = 0;
    // Publishes the object: replacing one under the key, or with
    // `create_only` only when there is none (false then: nothing changed).
    // Durable at the store's sync().
    virtual bool commit(bool create_only) = 0;
    // Until committed or destroyed, SIGINT, SIGTERM or SIGHUP removes what
    // was written (the local store's temporary file) and ends the program
    // at once (interrupt.h; one writer per process: an image's index).
    // Default: nothing (the process ends through its error path).
    virtual void remove_if_killed() {}
};

// A lock of the repository's (zadp-repo(5), "Locks"), held until destroyed.
// On a directory it is flock(2) on a file; in memory, an in-process table;
// on an object store it will be a lease object, refreshed while held and
// judged by the store's clock: held() says whether it is still ours.
class StoreLock {
public:
    virtual ~StoreLock() = default;
    virtual bool held() const { return true; }
    // The lease object's key when the lock is a lease ("" otherwise): gc
    // never waits for its own leases (zadp-repo(5), "Object storage").
    virtual std::string lease_key() const { return ""; }
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

    // ---- added when the repository moved onto this interface ----
    // The defaults work for any store through the calls above; a store may
    // do better (the local store streams to a temporary file and reads
    // through an open descriptor).

    // load() of a range into `out` (room for `length` bytes): how many
    // bytes; nullopt when the object does not exist. Default: load() copied.
    virtual std::optional<size_t> read_range(const std::string& key, uint64_t offset, size_t length, unsigned char* out);
    // Opens one version of an object for ranged reads; nullptr when it does
    // not exist. Default: loads it whole.
    virtual std::unique_ptr<ObjectReader> open_reader(const std::string& key);
    // A writer for a new object under `key`. Default: builds it in memory,
    // then save() or create().
    virtual std::unique_ptr<ObjectWriter> open_writer(const std::string& key);
    // Takes the lock `name` (a key), shared or exclusive. With `wait` false
    // returns nullptr at once when another holder conflicts. Default: fails
    // (exit 2): a store without locks cannot hold a repository that several
    // processes share.
    virtual std::unique_ptr<StoreLock> lock(const std::string& name, bool exclusive, bool wait);
    // Removes what interrupted writers of this store left under `prefix`
    // (temporary files; nothing on a store without them) and returns how
    // many; with dry_run only counts. Only while no writer runs (gc holds
    // the exclusive repository lock). Default: 0.
    virtual uint64_t remove_temporaries(const std::string& prefix, bool dry_run);
    // Whether lock() gives leases (objects under locks/NAME/, judged by
    // now()) rather than flock: then gc runs beside stores and reads
    // (condemn, then delete) and the pack locator is written in immutable
    // generations by gc only (zadp-repo(5), "Object storage").
    virtual bool locks_are_leases() const { return false; }
    // The largest object one write can store (S3: one PUT, 5 GiB); a
    // writer that would need more fails before it commits anything.
    virtual uint64_t max_object_size() const { return UINT64_MAX; }
    // Whether each read is a request with a cost of its own (S3), so that a
    // reader should fetch neighbouring objects in one ranged read, many at
    // once, rather than one by one (image.h, ImageReader).
    virtual bool reads_are_requests() const { return false; }
};

// For init: whether this store keeps create-only writes create-only, i.e. a
// second create() of one key fails (S3: the second If-None-Match: * PUT gets
// 412; a store that ignores the condition answers 200). Writes and removes
// the key `key` (which should be unique to this probe).
bool create_only_holds(ObjectStore& store, const std::string& key);

// Usage error (exit 2) naming the key unless it is valid (see above).
void validate_key(const std::string& key);

// Today's directory repository: a key is a file under `dir`; objects are
// written to unpredictable temporary names (O_EXCL|O_NOFOLLOW) and renamed
// (save) or linked (create) into place; sync() is one syncfs(2). Locks are
// flock(2) on the file named by the lock's key. Objects at the top level
// (config, key) are 0600 whatever the umask, others 0644 under it. Directories are made as
// needed; one left empty by remove() is removed, except those of the first
// two levels (DIR/backups, DIR/packs/XX).
std::unique_ptr<ObjectStore> open_local_store(const std::string& dir);

// For unit tests: objects in memory, `clock` (seconds) as the store's time.
// Locks are an in-process table (like flock), or with `leases` lease
// objects as on S3 (LeaseLock, judged by `clock`).
std::unique_ptr<ObjectStore> open_memory_store(std::function<int64_t()> clock = nullptr, bool leases = false);

}  // namespace hci::repo
