#pragma once
// What zadp-repo does to a whole repository: listing, retention (prune),
// garbage collection and checking. Results are JSON objects, one per line.
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/block/repo/repository.h"

namespace hci::repo {

using Emit = std::function<void(const boost::json::object&)>;

// ---- prune ----

// A backup's TIME as seconds since the epoch: 2026-11-28T020000Z,
// 2026-11-28T02:00:00Z or 20261128T020000Z (UTC). nullopt otherwise.
std::optional<int64_t> parse_backup_time(const std::string& time);

struct PrunePolicy {
    int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;  // -1: no limit
    bool any() const { return last || hourly || daily || weekly || monthly || yearly; }
};

// What a backup GROUP/TIME restores, from its blobs (zadp-repo(5)):
//   complete    every disk: a manifest backup.json whose "complete" is not
//               false, or no manifest and no unfinished.json (a plain
//               zadp-write store);
//   partial     some disks: its manifest says "complete": false;
//   unfinished  unfinished.json and no backup.json: a writer (backup-vm.sh)
//               still runs or died; it stores the marker first and the
//               manifest last;
//   unknown     its manifest cannot be read or parsed: nothing is proven,
//               so prune keeps it and check reports the blob.
enum class BackupState { kComplete, kPartial, kUnfinished, kUnknown };
const char* backup_state_name(BackupState s);

inline constexpr const char* kUnfinishedMarker = "unfinished.json";
inline constexpr const char* kManifest = "backup.json";

struct PruneCandidate {
    std::string time;
    BackupState state = BackupState::kComplete;
};

struct PruneDecision {
    std::string time;  // the backup (GROUP/TIME within one group)
    bool keep = false;
    BackupState state = BackupState::kComplete;
    // "last", "daily", ...; "unparsable time"; "unfinished", "newest";
    // "partial"; "newest complete"; "unreadable manifest"
    std::vector<std::string> reasons;
    bool unfinished() const { return state == BackupState::kUnfinished; }
};

// The restic rules, per group: going from the newest backup to the oldest,
// each --keep-X option keeps a backup when it is the newest one of a new
// period (hour, day, ISO week, month, year; every backup for "last") until
// it kept its count. A backup any option keeps stays. Times that do not
// parse are always kept. Input in any order; output newest first.
//
// Only complete backups fill the slots: a backup that does not restore every
// disk never takes a complete one's place, so failed nights can never push
// the good backups out. Besides the rules the group's newest complete
// backup is always kept (reason "newest complete" if no rule kept it).
//  - unfinished: the newest backup of the group, if unfinished, is kept
//    (reasons "unfinished", "newest": it may still be running); every other
//    unfinished one is removed (reason "unfinished"; Proxmox Backup's rule).
//  - partial, newer than the group's newest complete backup: it holds the
//    newest copy of the disks that were saved, so the same rules apply to
//    these partial backups among themselves, in slots of their own (reasons
//    "partial" and the rules'); a VM whose disk fails every night keeps as
//    many partial backups as complete ones, not all of them.
//  - partial, older than the newest complete backup: superseded by it,
//    removed (reason "partial").
//  - unknown: kept (reason "unreadable manifest"), never counted.
std::vector<PruneDecision> select_prune(const std::vector<PruneCandidate>& backups, const PrunePolicy& policy);

// Applies select_prune to every group (or one), removing what is not kept
// unless dry_run; it reads each backup's manifest to learn its state. Emits
// one line per backup (with its "state"). An unfinished backup is removed
// only under the exclusive repository lock taken without waiting (its writer
// may still run on another host, see sweep_unfinished); when the lock is
// busy it is kept with the reasons "unfinished", "in use". Returns false
// when a manifest was damaged (that backup is kept; exit 6).
bool prune(Repository& repo, const std::string& group, const PrunePolicy& policy, bool dry_run, const Emit& emit);

// ---- unfinished backups ----

// The protocol between writers and the sweep: a writer (backup-vm.sh) holds
// DIR/lock shared from before it stores unfinished.json until its backup
// holds backup.json or is removed. So when the exclusive lock is free, no
// writer runs on any host sharing the repository (NFS locks included) and
// every unfinished backup is a dead run's. Then this removes every unfinished
// backup of every group (or one), and the marker of complete backups that
// still hold one. When the lock is busy it removes nothing and returns false.
// One line per backup it removes (or would, with dry_run), or one saying
// the repository is in use.
bool sweep_unfinished(Repository& repo, const std::string& group, bool dry_run, const Emit& emit);

// ---- listing, removal ----

// One line per image and blob under prefix, each with the "state" of its
// backup (complete, partial, unfinished, unknown). Returns false if an index
// or a manifest was damaged.
bool list_items(Repository& repo, const std::string& prefix, const Emit& emit);
// The groups holding a backup whose manifest, unfinished.json or an image's
// identity records the VM name `vm_name` (the name at backup time; a group
// matches when any of its backups does, so a renamed or deleted VM is found
// by its newest name and by its old ones). Sorted.
std::vector<std::string> groups_named(Repository& repo, const std::string& vm_name);
// What `zadp-repo ls ARG` lists: ARG itself when empty, holding a '/' or an
// existing group; else the groups of the VMs named ARG (exit 4 when none).
std::vector<std::string> resolve_ls_argument(Repository& repo, const std::string& arg);
// Removes GROUP/TIME (a whole backup) or GROUP/TIME/FILE. Exit 4 if absent.
void remove_items(Repository& repo, const std::string& name, const Emit& emit);

// ---- garbage collection and checking ----

struct GcReport {
    uint64_t images = 0;
    uint64_t chunks_kept = 0, bytes_kept = 0;
    uint64_t chunks_removed = 0, bytes_removed = 0;  // objects really removed
    uint64_t chunks_unused_kept = 0, bytes_unused_kept = 0;  // dead, in packs kept whole
    uint64_t temporaries_removed = 0;
    uint64_t files_removed = 0, files_rewritten = 0;  // chunk or pack files
    uint64_t bytes_freed = 0;  // file bytes removed less file bytes written
    uint64_t missing_chunks = 0;  // referenced but absent (check tells which images)
    uint64_t damaged_packs = 0;   // packs whose own table does not read
    bool locator_rebuilt = false;
    // What gc could not prove; unless allowed, gc then removes nothing.
    std::vector<std::string> problems;
    std::vector<std::string> images_missing_chunks;
    bool refused = false;
    // Beside stores and reads (a store whose locks are leases; zadp-repo(5),
    // "Object storage"): gc condemned what it found dead and deleted only
    // what earlier runs condemned, once their leases ended and the grace
    // period passed (files_removed counts those).
    bool concurrent = false;
    int64_t grace_s = 0;
    uint64_t files_condemned = 0, condemned_waiting = 0, condemned_rescued = 0;
    uint64_t lists_waiting_for_leases = 0, lists_waiting_for_grace = 0;
};
// Mark and sweep under the exclusive repository lock. First the chunk
// store's derived files (the locator) are rebuilt from the packs' own
// tables, so that nothing is judged by a damaged cache; then every chunk an
// index references goes into a Bloom filter (IdFilter), and the chunk store
// removes what the filter does not hold and repacks packs with dead chunks.
// It never removes a pack whose own table does not read. Refuses (exit 6)
// to sweep if any index cannot be read. When chunks that images use are
// missing or a pack's table is damaged, it removes nothing and returns with
// `refused` set, unless `allow_damage`.
//
// On a store whose locks are leases (S3) gc never waits for stores and
// reads: it holds the lease "gc" exclusively (two gcs exclude each other)
// and "lock" shared, condemns what is dead and deletes only what earlier
// runs condemned once every lease older than their list ended, the list is
// `grace_s` old by the store's clock, and this run's mark proves it unneeded
// (condemned.h). The same rules of damage hold for both.
GcReport collect_garbage(Repository& repo, bool dry_run, bool allow_damage = false, int64_t grace_s = 86400);
// --grace, else ZADP_REPO_GC_GRACE, else 24 h (usage error when bad).
int64_t gc_grace_from(const std::string& option);
boost::json::object gc_report_json(const GcReport& r, bool dry_run);

// zadp-repo repair, under the exclusive lock: rebuilds the locator from the
// packs (rewriting packs whose own table is damaged, their intact objects
// copied into new packs and the damaged files moved to lost+found/), stores
// nothing again, then lists what is unrecoverable: one line per image that
// uses missing chunks or whose index does not read, and a summary line.
// Returns the number of such images. Idempotent.
uint64_t repair(Repository& repo, bool dry_run, const Emit& emit);

// Emits one line per image and blob (ok or what is wrong, with the first
// bad offset) and, with read_data, one per bad chunk. Returns the number of
// damaged images and blobs, plus locator defects. A damaged chunk is moved
// aside (ID.bad, or listed in packs/damaged), so the next backup holding its
// bytes stores it again and heals the older images; a chunk whose copy is
// intact where its pack's own table puts it is never set aside: the line
// says "locator_defect" (zadp-repo repair rebuilds the locator).
uint64_t check(Repository& repo, const std::string& prefix, bool read_data, const Emit& emit);

}  // namespace hci::repo
