#pragma once
// gc beside stores and reads, on a store whose locks are leases (S3;
// zadp-repo(5), "Object storage"): condemn, then delete. No object is
// renamed or changed; every object here is created once, create-only.
//
//   packs/condemned/TIME-RANDOM          what one gc run found dead (JSON)
//   packs/condemned/TIME-RANDOM.leases   the leases alive once it was published
//   packs/locators/GEN                   the locator, generation GEN (20 digits)
//
// A condemned pack is deleted by a later gc run only when (a) every lease
// named in the list's .leases record has ended, (b) the list is older than
// the grace period by the store's clock, and (c) that run's own mark proves
// the pack still unneeded (every live chunk it holds has a copy in a pack
// no list condemns). Why (a) makes it safe: a store takes its lease, then
// reads the condemned lists, then looks chunks up. If its lease object was
// created before gc listed the leases (after the list's create-only PUT
// returned), gc recorded it and deletes nothing of that list until it
// ended, and a store that ended has committed its index, which the deleting
// run's mark (made after it judged (a)) sees. Otherwise the store's lease,
// and so its reading of the lists, came after the list was published
// (list-after-write is strong): it treats chunks that live only in
// condemned packs as absent and stores them again, so its index never
// names a chunk that only a condemned pack holds.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo::pack {

struct CondemnedList {
    std::string key;     // packs/condemned/TIME-RANDOM
    int64_t time = 0;    // the store's time when gc wrote it
    std::vector<uint64_t> packs;   // dead packs (or rewritten: their live objects were copied first)
    std::vector<uint64_t> tables;  // unmerged tables whose pack did not exist
    std::vector<std::string> locators;  // locator generations (or the old packs/locator) superseded
    bool readable = true;  // false: what it condemns is unknown (nothing of it is ever deleted)
    bool has_record = false;        // its .leases record exists
    std::vector<std::string> leases;  // the lease keys the record names
};

// Every condemned list under PREFIX/condemned/, oldest first.
std::vector<CondemnedList> load_condemned_lists(ObjectStore& store, const std::string& prefix);

// Publishes a new list (create-only, under the store's time), then lists the
// leases under `lease_dir` (but `own`) into its record. Returns its key.
std::string publish_condemned_list(ObjectStore& store, const std::string& prefix, CondemnedList list,
                                   const std::string& lease_dir, const std::set<std::string>& own);
// Writes the .leases record of a list whose writer died before it did: the
// leases alive now (a superset of those alive then that still matter).
void write_lease_record(ObjectStore& store, const CondemnedList& list, const std::string& lease_dir,
                        const std::set<std::string>& own);
// Whether every lease the list's record names has ended by the store's time `now`.
bool leases_ended(ObjectStore& store, const CondemnedList& list, int64_t now);
// Removes the list and its record (after what it condemned was handled).
void remove_condemned_list(ObjectStore& store, const CondemnedList& list);

// ---- locator generations ----
std::string locator_generation_key(const std::string& prefix, uint64_t generation);
// The keys of every generation under PREFIX/locators/, oldest first.
std::vector<std::string> locator_generations(ObjectStore& store, const std::string& prefix);
// The generation number of a key from locator_generations().
uint64_t generation_of(const std::string& key);

// A duration for --grace and ZADP_REPO_GC_GRACE: "24h", "90m", "30s", "2d",
// "0" (seconds without a unit). Usage error (exit 2) naming `what` otherwise.
int64_t parse_grace(const std::string& text, const std::string& what);
inline constexpr int64_t kDefaultGrace = 24 * 3600;

}  // namespace hci::repo::pack
