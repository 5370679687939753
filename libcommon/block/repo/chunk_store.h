#pragma once
// Where a repository keeps its chunk objects. The repository above seals,
// compresses and names chunks; a ChunkStore only keeps opaque object bytes
// by id: one object per chunk (format version 1) or packs (version 2), all
// in an ObjectStore (backend/object_store.h), never through paths.
// put() and contains() are safe from several threads at once, and so is read().
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/repo/format.h"

namespace hci::repo {

class ChunkStore {
public:
    virtual ~ChunkStore() = default;
    virtual bool contains(const ChunkId& id) = 0;
    // Whether a store may reuse the stored chunk instead of storing it:
    // contains(), except that a chunk whose only copies are in packs gc
    // condemned counts as absent (condemned.h).
    virtual bool reusable(const ChunkId& id) { return contains(id); }
    // Stores an object unless the id is present; returns the bytes written
    // (0 when it was present). Never leaves a partial object under the id.
    virtual uint64_t put(const ChunkId& id, const unsigned char* object, size_t length) = 0;
    uint64_t put(const ChunkId& id, const std::vector<unsigned char>& object) {
        return put(id, object.data(), object.size());
    }
    // Reads the object's bytes into `out`; false when it is missing.
    virtual bool read(const ChunkId& id, Bytes& out) = 0;
    // The object's bytes, or nullopt when it is missing.
    std::optional<std::vector<unsigned char>> get(const ChunkId& id) {
        Bytes b;
        if (!read(id, b)) return std::nullopt;
        return std::vector<unsigned char>(b.data(), b.data() + b.size());
    }
    struct Listed {
        ChunkId id;
        uint64_t bytes = 0;
    };
    // Every stored chunk once, in no particular order.
    virtual void for_each(const std::function<void(const Listed&)>& visit) = 0;
    // Forgets a chunk: contains() and read() no longer find it (tests use
    // this to make a chunk go missing).
    virtual void remove(const ChunkId& id) = 0;
    // Moves a damaged chunk aside (kept for inspection, no longer found by
    // contains()), so the next store that has its bytes writes it again.
    // Returns where it went, for the user; nullopt when the object, read
    // where its pack's own table puts it, is intact: then what pointed at
    // the damaged bytes (a locator entry) is wrong, and rebuild() fixes it.
    virtual std::optional<std::string> quarantine(const ChunkId& id) = 0;
    // After read() gave bytes that did not verify: another intact copy of
    // the chunk (where its pack's own table puts it, or in another pack),
    // checked against its seal with `verify`; false when there is none.
    virtual bool read_other_copy(const ChunkId& id, Bytes& out, const std::function<bool(Bytes&)>& verify) {
        (void)id, (void)out, (void)verify;
        return false;
    }
    // Makes every put() so far durable (and visible to other processes).
    virtual void sync() = 0;
    // How many chunks the store holds, roughly; 0 when it cannot tell cheaply.
    virtual uint64_t count_hint() = 0;

    // Where a chunk's bytes are, for messages and tests: the object's key.
    struct Place {
        std::string key;
        uint64_t offset = 0, length = 0;
    };
    virtual std::optional<Place> where(const ChunkId& id) = 0;
    // Whether where() names ranges of objects that hold many chunks (packs),
    // which a reader may fetch several at a time (image.h); the chunk's
    // object is then the bytes of that range as read() would give them.
    virtual bool places_share_objects() const { return false; }

    // Garbage collection, run with no store or read in progress, after
    // rebuild(): removes chunks `live` says no index references, and what
    // interrupted stores left. A packing store removes or rewrites a file
    // only when it read the file's own table and every object it drops is
    // dead; a file whose table does not read is kept (damaged_files).
    struct SweepReport {
        uint64_t chunks_kept = 0, bytes_kept = 0;
        uint64_t chunks_removed = 0, bytes_removed = 0;  // objects really removed
        uint64_t chunks_unused_kept = 0, bytes_unused_kept = 0;  // dead, in files kept whole
        uint64_t temporaries_removed = 0;
        uint64_t files_removed = 0, files_rewritten = 0, damaged_files = 0;
        uint64_t bytes_freed = 0;  // file bytes removed less file bytes written
        // Beside stores (begin_concurrent_gc): packs condemned by this run
        // (dead, or rewritten), condemned earlier and still waiting for
        // leases or the grace period, and found needed again when their
        // time came (kept, no longer condemned).
        uint64_t files_condemned = 0, condemned_waiting = 0, condemned_rescued = 0;
        uint64_t lists_waiting_for_leases = 0, lists_waiting_for_grace = 0;
    };
    virtual SweepReport sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) = 0;

    // gc beside stores and reads on a store whose locks are leases
    // (condemned.h, zadp-repo(5) "Object storage"): called before
    // rebuild() and the mark; it judges which condemned lists may be
    // deleted now (their leases ended, older than `grace_s`). Then rebuild()
    // publishes a new locator generation and sweep() deletes what those
    // lists condemned and a fresh mark proves unneeded, and condemns what
    // it finds dead, deleting nothing else. False when this store cannot
    // (format version 1): gc then runs under the exclusive lock.
    struct ConcurrentGc {
        int64_t grace_s = 86400;
        std::string lease_dir;             // the leases of stores and reads ("locks/lock/")
        std::set<std::string> own_leases;  // gc's own: never waited for
        // Fails (exit 7) when gc's leases are no longer surely held; called
        // before anything is deleted or condemned.
        std::function<void()> require_held = [] {};
    };
    virtual bool begin_concurrent_gc(const ConcurrentGc& gc, bool dry_run) {
        (void)gc, (void)dry_run;
        return false;
    }
    // After gc: the store is an ordinary one again.
    virtual void end_concurrent_gc() {}

    // Files whose own table does not read, and why: what gc will not
    // remove and repair rewrites. Empty for a store without tables.
    struct DamagedFile {
        std::string file, error;
    };
    virtual std::vector<DamagedFile> damaged_files() { return {}; }

    // What rebuild() found and did.
    struct RebuildReport {
        uint64_t files = 0;               // pack files read
        uint64_t damaged_tables = 0;      // of those, files whose own table did not read
        uint64_t objects_recovered = 0;   // intact objects found in them by scanning
        uint64_t files_rewritten = 0;     // damaged files whose objects went into new packs
        bool locator_rebuilt = false;
        std::vector<std::string> damage;  // one line per damaged file: where, why, what was found
        std::vector<std::string> set_aside;  // where rewritten damaged files were moved
    };
    // Rebuilds what the store derives from its files (a packing store's
    // locator and unmerged tables) from the files themselves: each pack's
    // own table, or, when that does not read, the intact objects found by
    // scanning the pack. With `rewrite_damaged` (zadp-repo repair), the
    // intact objects of such a pack are copied into a new pack and the
    // damaged file is moved to lost+found/, never deleted. With dry_run
    // nothing is published. Under the exclusive repository lock.
    virtual RebuildReport rebuild(bool dry_run, bool rewrite_damaged) {
        (void)dry_run, (void)rewrite_damaged;
        return {};
    }
};

// Format version 1: one object per chunk, PREFIX/XXX/<64 hex digits>
// (PREFIX is "chunks"), fanned out by the first three digits; stored
// create-only.
std::unique_ptr<ChunkStore> open_directory_chunk_store(ObjectStore& store, const std::string& prefix);

// Format version 2: chunks packed into objects of about 16 MiB under PREFIX
// ("packs"), each with a sealed table of its chunks, and one sorted locator
// over all of them (zadp-repo(5), "Packs").
std::unique_ptr<ChunkStore> open_pack_chunk_store(ObjectStore& store, const std::string& prefix, const Sealer& sealer);

}  // namespace hci::repo
