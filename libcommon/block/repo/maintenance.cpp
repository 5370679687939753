#include "libcommon/block/repo/maintenance.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/condemned.h"
#include "libcommon/block/repo/id_filter.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/ordered_pool.h"

namespace hci::repo {
namespace {

std::string bucket(int64_t t, const char* format) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

std::string group_of(const std::string& name) { return name.substr(0, name.find('/')); }
std::string backup_of(const std::string& name) { return name.substr(0, name.rfind('/')); }

struct StateOf {
    BackupState state = BackupState::kComplete;
    std::string error;  // the manifest blob is damaged (exit 6)
};

// The state of GROUP/TIME from the names of its blobs (FILEs) and, when it
// has one, its manifest's "complete" field.
StateOf backup_state(Repository& repo, const std::string& backup, const std::set<std::string>& blobs) {
    if (!blobs.count(kManifest))
        return {blobs.count(kUnfinishedMarker) ? BackupState::kUnfinished : BackupState::kComplete, ""};
    std::vector<unsigned char> text;
    try {
        text = repo.get_blob(backup + "/" + kManifest);
    } catch (const Error& e) {
        if (e.code() != kExitIntegrity) throw;
        return {BackupState::kUnknown, e.what()};
    }
    boost::system::error_code ec;
    auto manifest = boost::json::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), ec);
    if (ec || !manifest.is_object()) return {BackupState::kUnknown, ""};
    const auto* complete = manifest.as_object().if_contains("complete");
    return {complete && complete->is_bool() && !complete->as_bool() ? BackupState::kPartial : BackupState::kComplete,
            ""};
}

// The backups of every group (or one), each with its state. Damaged
// manifests are named in `damaged`.
std::map<std::string, std::vector<PruneCandidate>> backups_by_group(Repository& repo, const std::string& group,
                                                                    std::vector<std::string>& damaged) {
    std::map<std::string, std::map<std::string, std::set<std::string>>> blobs;  // group -> TIME -> blob FILEs
    for (const auto& item : repo.list(group)) {
        std::string b = backup_of(item.name);
        auto& names = blobs[group_of(b)][b.substr(b.find('/') + 1)];
        if (!item.image) names.insert(item.name.substr(b.size() + 1));
    }
    std::map<std::string, std::vector<PruneCandidate>> out;
    for (const auto& [g, times] : blobs)
        for (const auto& [time, names] : times) {
            auto s = backup_state(repo, g + "/" + time, names);
            if (!s.error.empty()) damaged.push_back(s.error);
            out[g].push_back({time, s.state});
        }
    return out;
}

// Removes every image and blob of GROUP/TIME (on a directory, then its
// directory, once empty).
void remove_backup(Repository& repo, const std::string& backup) {
    std::vector<std::string> keys;
    for (const auto& item : repo.list(backup)) keys.push_back(item.key);
    repo.store().remove(keys);
}

// Reads and verifies every stored chunk on the chunk workers, as many in
// flight as a store keeps; each worker reuses its own buffers, so memory
// stays bounded whatever the repository's size. Returns the bad ones.
std::map<ChunkId, std::string> verify_every_chunk(Repository& repo) {
    struct Verdict {
        ChunkId id;
        std::string error;
    };
    std::map<ChunkId, std::string> bad;
    const size_t workers = chunk_worker_count();
    const size_t limit = chunks_in_flight(repo.config().chunk_size, workers);
    OrderedPool<Verdict> pool(workers);
    auto collect_one = [&] {
        Verdict v = pool.next();
        if (!v.error.empty()) bad.emplace(v.id, std::move(v.error));
    };
    repo.chunks().for_each([&](const ChunkStore::Listed& c) {
        while (pool.pending() >= limit) collect_one();
        pool.submit([&repo, id = c.id] {
            thread_local Bytes file, scratch;
            PlainView plain;
            return Verdict{id, repo.load_chunk(id, file, scratch, plain, false)};
        });
    });
    while (pool.pending() > 0) collect_one();
    return bad;
}

boost::json::object image_line(const std::string& name, const IndexHeader& h, const IndexTrailer& t) {
    boost::json::object o = image_summary(h, t);
    o["type"] = "image";
    o["backup"] = backup_of(name);
    o["created"] = t.created;
    o["vm_id"] = h.vm_id;
    boost::system::error_code ec;
    auto identity = boost::json::parse(h.identity, ec);
    o["identity"] = ec ? boost::json::value(nullptr) : identity;
    return o;
}

}  // namespace

std::optional<int64_t> parse_backup_time(const std::string& time) {
    std::string s;
    for (char c : time)
        if (c != '-' && c != ':') s += c;
    // YYYYMMDDTHHMMSSZ
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
    for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14})
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    std::tm tm{};
    tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(s.substr(4, 2)) - 1;
    tm.tm_mday = std::stoi(s.substr(6, 2));
    tm.tm_hour = std::stoi(s.substr(9, 2));
    tm.tm_min = std::stoi(s.substr(11, 2));
    tm.tm_sec = std::stoi(s.substr(13, 2));
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    return static_cast<int64_t>(::timegm(&tm));
}

namespace {

struct Rule {
    const char* reason;
    int count;
    const char* format;  // strftime of the period; null: every backup
    int kept = 0;
    std::string last_bucket;
};

std::vector<Rule> rules_of(const PrunePolicy& p) {
    return {{"last", p.last, nullptr, 0, ""},         {"hourly", p.hourly, "%Y-%m-%d %H", 0, ""},
            {"daily", p.daily, "%Y-%m-%d", 0, ""},     {"weekly", p.weekly, "%G-W%V", 0, ""},
            {"monthly", p.monthly, "%Y-%m", 0, ""},    {"yearly", p.yearly, "%Y", 0, ""}};
}

// Applies the rules to one backup (the next older one of its kind): each
// rule that keeps it adds its reason. Returns whether any kept it.
bool apply_rules(std::vector<Rule>& rules, int64_t secs, const std::string& time, std::vector<std::string>& reasons) {
    bool keep = false;
    for (auto& r : rules) {
        if (r.count == 0 || (r.count > 0 && r.kept >= r.count)) continue;
        std::string bucket_name = r.format ? bucket(secs, r.format) : time;
        if (r.kept > 0 && bucket_name == r.last_bucket) continue;
        r.last_bucket = bucket_name;
        ++r.kept;
        keep = true;
        reasons.push_back(r.reason);
    }
    return keep;
}

}  // namespace

const char* backup_state_name(BackupState s) {
    switch (s) {
        case BackupState::kComplete: return "complete";
        case BackupState::kPartial: return "partial";
        case BackupState::kUnfinished: return "unfinished";
        case BackupState::kUnknown: return "unknown";
    }
    return "unknown";
}

std::vector<PruneDecision> select_prune(const std::vector<PruneCandidate>& backups, const PrunePolicy& policy) {
    // Complete and partial backups fill slots of their own: a partial one
    // never takes a complete one's place.
    std::vector<Rule> complete_rules = rules_of(policy), partial_rules = rules_of(policy);
    struct Dated {
        int64_t secs;
        const PruneCandidate* backup;
    };
    std::vector<Dated> dated;
    std::vector<PruneDecision> out;
    for (const auto& b : backups) {
        if (auto secs = parse_backup_time(b.time))
            dated.push_back({*secs, &b});
        else
            out.push_back({b.time, true, b.state, {"unparsable time"}});
    }
    std::stable_sort(dated.begin(), dated.end(), [](const Dated& a, const Dated& b) { return a.secs > b.secs; });
    bool seen_complete = false;
    for (size_t i = 0; i < dated.size(); ++i) {
        const auto& [secs, b] = dated[i];
        PruneDecision d{b->time, false, b->state, {}};
        switch (b->state) {
            case BackupState::kUnfinished:
                d.reasons.push_back("unfinished");
                if (i == 0) {
                    d.keep = true;
                    d.reasons.push_back("newest");
                }
                break;
            case BackupState::kUnknown:
                d.keep = true;
                d.reasons.push_back("unreadable manifest");
                break;
            case BackupState::kPartial:
                d.reasons.push_back("partial");
                // Older than a complete backup: superseded by it.
                if (!seen_complete) d.keep = apply_rules(partial_rules, secs, b->time, d.reasons);
                break;
            case BackupState::kComplete:
                d.keep = apply_rules(complete_rules, secs, b->time, d.reasons);
                // Every rule keeps the first backup it sees; this states the
                // promise of zadp-repo(5) whatever rules come later.
                if (!seen_complete && !d.keep) {
                    d.keep = true;
                    d.reasons.push_back("newest complete");
                }
                seen_complete = true;
                break;
        }
        out.push_back(std::move(d));
    }
    return out;
}

// A lease that could not be refreshed may be another's by now (on S3):
// what the exclusive lock proved (no store runs) may no longer hold.
static void require_held(Repository& repo, const Repository::Lock& lock, const std::string& what) {
    if (!lock.held())
        fail(kExitIo, what + " lost the repository lock " + repo.store().where(Repository::kLockKey) +
                          "; it removes nothing more");
}

bool prune(Repository& repo, const std::string& group, const PrunePolicy& policy, bool dry_run, const Emit& emit) {
    if (!policy.any()) fail(kExitUsage, "prune needs at least one --keep-* option (it never removes everything)");
    std::unique_ptr<Repository::Lock> lock;
    bool lock_tried = false;
    std::vector<std::string> damaged;
    for (const auto& [g, backups] : backups_by_group(repo, group, damaged)) {
        for (auto& d : select_prune(backups, policy)) {
            if (!d.keep && d.unfinished()) {
                if (!lock_tried) lock = repo.lock_exclusive_if_free();
                lock_tried = true;
                if (!lock) {
                    d.keep = true;
                    d.reasons.push_back("in use");
                }
            }
            std::string backup = g + "/" + d.time;
            if (!d.keep && !dry_run && d.unfinished()) require_held(repo, *lock, "prune");
            if (!d.keep && !dry_run) remove_backup(repo, backup);
            boost::json::object o;
            o["backup"] = backup;
            o["action"] = d.keep ? "keep" : dry_run ? "would remove" : "removed";
            boost::json::array reasons;
            for (const auto& r : d.reasons) reasons.push_back(boost::json::value(r));
            o["reasons"] = reasons;
            o["state"] = backup_state_name(d.state);
            if (d.unfinished()) o["unfinished"] = true;
            emit(o);
        }
    }
    for (const auto& e : damaged) log_error(e + " (that backup is kept)");
    return damaged.empty();
}

bool sweep_unfinished(Repository& repo, const std::string& group, bool dry_run, const Emit& emit) {
    auto lock = repo.lock_exclusive_if_free();
    if (!lock) {
        boost::json::object o;
        o["sweep"] = "skipped";
        o["reason"] = "the repository is in use: a backup, store, read or gc holds " + repo.store().where(Repository::kLockKey);
        emit(o);
        return false;
    }
    std::vector<std::string> damaged;  // their backups hold backup.json: not unfinished
    for (const auto& [g, backups] : backups_by_group(repo, group, damaged)) {
        for (const auto& b : backups) {
            const bool unfinished = b.state == BackupState::kUnfinished;
            std::string backup = g + "/" + b.time;
            std::string marker = backup + "/" + kUnfinishedMarker;
            bool has_marker = unfinished || !repo.list(marker).empty();
            if (!has_marker) continue;
            if (!dry_run) {
                require_held(repo, *lock, "sweep");
                if (unfinished)
                    remove_backup(repo, backup);
                else
                    repo.store().remove({Repository::blob_key(marker)});
            }
            boost::json::object o;
            o["backup"] = backup;
            o["action"] = std::string(dry_run ? "would remove" : "removed") + (unfinished ? "" : " marker");
            o["unfinished"] = unfinished;
            emit(o);
        }
    }
    return true;
}

namespace {

// The VM name a JSON text (a manifest, unfinished.json, an index identity)
// records in "vm"."name", or "".
std::string vm_name_in(std::string_view text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return "";
    const auto* vm = v.as_object().if_contains("vm");
    const auto* name = vm && vm->is_object() ? vm->as_object().if_contains("name") : nullptr;
    return name && name->is_string() ? std::string(name->as_string()) : "";
}

// True when `arg` names an existing group.
bool is_group(Repository& repo, const std::string& arg) {
    try {
        validate_prefix(arg);
    } catch (const Error&) {
        return false;  // spaces and the like: a VM name, never a group
    }
    return arg.find('/') == std::string::npos && repo.has_group(arg);
}

}  // namespace

std::vector<std::string> groups_named(Repository& repo, const std::string& vm_name) {
    std::set<std::string> groups;
    for (const auto& item : repo.list("")) {
        std::string group = group_of(item.name);
        if (groups.count(group)) continue;
        std::string recorded;
        try {
            if (item.image) {
                recorded = vm_name_in(IndexReader(repo.store(), item.key, "repo:" + item.name, repo.sealer()).header().identity);
            } else if (item.name.ends_with("/" + std::string(kManifest)) || item.name.ends_with("/" + std::string(kUnfinishedMarker))) {
                auto text = repo.get_blob(item.name);
                recorded = vm_name_in(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
            }
        } catch (const Error& e) {
            if (e.code() != kExitIntegrity && e.code() != kExitNotFound) throw;  // damage: ls reports it
        }
        if (recorded == vm_name) groups.insert(group);
    }
    return {groups.begin(), groups.end()};
}

std::vector<std::string> resolve_ls_argument(Repository& repo, const std::string& arg) {
    if (arg.empty() || arg.find('/') != std::string::npos || is_group(repo, arg)) return {arg};
    auto groups = groups_named(repo, arg);
    if (groups.empty())
        fail(kExitNotFound, "no backup of a VM named '" + arg + "' (nor a group of that id) in " + repo.dir());
    return groups;
}

bool list_items(Repository& repo, const std::string& prefix, const Emit& emit) {
    bool ok = true;
    std::map<std::string, std::string> states;  // GROUP/TIME -> its state's name
    auto state_of = [&](const std::string& backup) {
        auto it = states.find(backup);
        if (it != states.end()) return it->second;
        std::set<std::string> blobs;
        for (const auto& i : repo.list(backup))
            if (!i.image) blobs.insert(i.name.substr(backup.size() + 1));
        auto s = backup_state(repo, backup, blobs);
        if (!s.error.empty()) {
            ok = false;
            log_error(s.error);
        }
        return states[backup] = backup_state_name(s.state);
    };
    for (const auto& item : repo.list(prefix)) {
        boost::json::object o;
        if (item.image) {
            try {
                IndexReader index(repo.store(), item.key, "repo:" + item.name, repo.sealer());
                o = image_line(item.name, index.header(), index.trailer());
            } catch (const Error& e) {
                if (e.code() != kExitIntegrity) throw;
                ok = false;
                o["name"] = item.name;
                o["type"] = "image";
                o["backup"] = backup_of(item.name);
                o["error"] = e.what();
            }
        } else {
            auto info = repo.store().stat(item.key);
            o["name"] = item.name;
            o["type"] = "blob";
            o["backup"] = backup_of(item.name);
            o["stored_bytes"] = info ? info->size : 0;
        }
        o["state"] = state_of(backup_of(item.name));
        emit(o);
    }
    return ok;
}

void remove_items(Repository& repo, const std::string& name, const Emit& emit) {
    validate_prefix(name);
    if (std::count(name.begin(), name.end(), '/') < 1)
        fail(kExitUsage, "rm takes GROUP/TIME or GROUP/TIME/FILE (use prune to thin out a group)");
    auto items = repo.list(name);
    if (items.empty()) fail(kExitNotFound, "repo:" + name + ": nothing by that name in the repository");
    for (const auto& item : items) {
        repo.store().remove({item.key});
        boost::json::object o;
        o["removed"] = item.name;
        o["type"] = item.image ? "image" : "blob";
        emit(o);
    }
}

namespace {

// The images of the repository whose index reads (an index removed
// meanwhile by rm or prune is simply gone), and how many chunks they
// reference. An index that does not read stops gc: its chunks are unknown.
std::vector<Repository::Item> readable_images(Repository& repo, uint64_t& referenced) {
    std::vector<Repository::Item> images;
    for (auto& item : repo.list("")) {
        if (!item.image) continue;
        try {
            referenced += IndexReader(repo.store(), item.key, "repo:" + item.name, repo.sealer()).trailer().chunks;
        } catch (const Error& e) {
            if (e.code() == kExitNotFound) continue;
            fail(kExitIntegrity, std::string(e.what()) + "; gc removes nothing while an index cannot be read "
                                                         "(rm the image or restore the file)");
        }
        images.push_back(std::move(item));
    }
    return images;
}

// Marks every chunk the images use in `live` (when given) and returns, per
// image, how many of them the store lacks and the first offset of one.
struct MissingChunks {
    std::string image;
    uint64_t chunks = 0, first_offset = 0;
};
std::vector<MissingChunks> mark_images(Repository& repo, const std::vector<Repository::Item>& images, IdFilter* live,
                                       uint64_t& marked) {
    std::vector<MissingChunks> missing;
    for (const auto& item : images) {
        std::optional<IndexReader> index;
        try {
            index.emplace(repo.store(), item.key, "repo:" + item.name, repo.sealer());
        } catch (const Error& e) {
            if (e.code() == kExitNotFound) continue;  // removed since it was listed: no longer live
            throw;
        }
        ++marked;
        MissingChunks m{item.name};
        const uint64_t cs = index->header().chunk_size;
        for (uint64_t i = 0; i < index->entries(); ++i) {
            ChunkId id = index->entry(i);
            if (is_zero_id(id)) continue;
            if (live) live->add(id);
            if (repo.chunks().contains(id)) continue;
            if (m.chunks++ == 0) m.first_offset = i * cs;
        }
        if (m.chunks) missing.push_back(m);
    }
    return missing;
}

}  // namespace

int64_t gc_grace_from(const std::string& option) {
    if (!option.empty()) return pack::parse_grace(option, "--grace");
    const char* env = std::getenv("ZADP_REPO_GC_GRACE");
    if (env && *env) return pack::parse_grace(env, "ZADP_REPO_GC_GRACE");
    return pack::kDefaultGrace;
}

namespace {

// The locks gc holds: on a store whose locks are leases, "gc" exclusive and
// "lock" shared, beside stores and reads, when the chunk store can condemn
// (format version 2); else "lock" exclusive.
struct GcLocks {
    std::unique_ptr<Repository::Lock> gc, repository;
    bool concurrent = false;
};
// Ends the chunk store's concurrent gc, before the locks go.
struct EndConcurrentGc {
    ChunkStore* chunks;
    ~EndConcurrentGc() {
        if (chunks) chunks->end_concurrent_gc();
    }
};
GcLocks take_gc_locks(Repository& repo, bool dry_run, int64_t grace_s) {
    GcLocks l;
    if (repo.store().locks_are_leases()) {
        l.gc = repo.store().lock("gc", true, true);
        l.repository = repo.lock_shared();
        ChunkStore::ConcurrentGc c;
        c.grace_s = grace_s;
        c.lease_dir = "locks/" + std::string(Repository::kLockKey) + "/";
        c.own_leases = {l.gc->lease_key(), l.repository->lease_key()};
        c.require_held = [&repo, gc = l.gc.get(), lock = l.repository.get()] {
            require_held(repo, *gc, "gc");
            require_held(repo, *lock, "gc");
        };
        l.concurrent = repo.chunks().begin_concurrent_gc(c, dry_run);
        if (l.concurrent) return l;
        l.repository.reset();
    }
    l.repository = repo.lock_exclusive();
    return l;
}

}  // namespace

GcReport collect_garbage(Repository& repo, bool dry_run, bool allow_damage, int64_t grace_s) {
    auto locks = take_gc_locks(repo, dry_run, grace_s);
    EndConcurrentGc end{locks.concurrent ? &repo.chunks() : nullptr};
    auto& lock = locks.repository;
    GcReport r;
    r.concurrent = locks.concurrent;
    r.grace_s = grace_s;
    auto rebuilt = repo.chunks().rebuild(dry_run, false);
    r.locator_rebuilt = rebuilt.locator_rebuilt;
    r.damaged_packs = rebuilt.damaged_tables;
    for (const auto& d : rebuilt.damage) r.problems.push_back(d + " (never removed; zadp-repo repair rewrites it)");
    uint64_t referenced = 0;
    auto images = readable_images(repo, referenced);
    uint64_t stored = repo.chunks().count_hint();
    IdFilter live(stored ? std::min(stored, referenced) : referenced);
    for (const auto& m : mark_images(repo, images, &live, r.images)) {
        r.missing_chunks += m.chunks;
        r.images_missing_chunks.push_back(m.image);
    }
    if (r.missing_chunks)
        r.problems.push_back(std::to_string(r.missing_chunks) + " chunk(s) that " +
                             std::to_string(r.images_missing_chunks.size()) +
                             " image(s) use are missing (zadp-repo check names them; the next backup of the same "
                             "data stores them again)");
    if (!r.problems.empty() && !allow_damage) {
        r.refused = true;
        return r;
    }
    // A writer may have stored chunks since the mark if the lease was lost.
    if (!dry_run) require_held(repo, *lock, "gc");
    if (!dry_run && locks.gc) require_held(repo, *locks.gc, "gc");
    // Temporaries are a dead writer's only while no writer runs.
    if (!dry_run && !r.concurrent) r.temporaries_removed += repo.store().remove_temporaries("backups", false);
    auto swept = repo.chunks().sweep([&](const ChunkId& id) { return live.maybe_contains(id); }, dry_run);
    r.chunks_kept = swept.chunks_kept;
    r.bytes_kept = swept.bytes_kept;
    r.chunks_removed = swept.chunks_removed;
    r.bytes_removed = swept.bytes_removed;
    r.chunks_unused_kept = swept.chunks_unused_kept;
    r.bytes_unused_kept = swept.bytes_unused_kept;
    r.temporaries_removed += swept.temporaries_removed;
    r.files_removed = swept.files_removed;
    r.files_rewritten = swept.files_rewritten;
    r.bytes_freed = swept.bytes_freed;
    r.files_condemned = swept.files_condemned;
    r.condemned_waiting = swept.condemned_waiting;
    r.condemned_rescued = swept.condemned_rescued;
    r.lists_waiting_for_leases = swept.lists_waiting_for_leases;
    r.lists_waiting_for_grace = swept.lists_waiting_for_grace;
    return r;
}

boost::json::object gc_report_json(const GcReport& r, bool dry_run) {
    boost::json::object o;
    o["gc"] = r.refused ? "refused" : dry_run ? "dry-run" : "done";
    o["images"] = r.images;
    o["chunks_kept"] = r.chunks_kept;
    o["bytes_kept"] = r.bytes_kept;
    o["chunks_removed"] = r.chunks_removed;
    o["bytes_removed"] = r.bytes_removed;
    o["chunks_unused_kept"] = r.chunks_unused_kept;
    o["bytes_unused_kept"] = r.bytes_unused_kept;
    o["bytes_freed"] = r.bytes_freed;
    o["temporaries_removed"] = r.temporaries_removed;
    o["files_removed"] = r.files_removed;
    o["files_rewritten"] = r.files_rewritten;
    o["missing_chunks"] = r.missing_chunks;
    o["damaged_packs"] = r.damaged_packs;
    o["locator_rebuilt"] = r.locator_rebuilt;
    if (r.concurrent) {
        o["concurrent"] = true;
        o["grace_s"] = r.grace_s;
        o["packs_condemned"] = r.files_condemned;
        o["condemned_waiting"] = r.condemned_waiting;
        o["condemned_rescued"] = r.condemned_rescued;
        o["lists_waiting_for_leases"] = r.lists_waiting_for_leases;
        o["lists_waiting_for_grace"] = r.lists_waiting_for_grace;
    }
    if (!r.problems.empty()) {
        boost::json::array problems, images;
        for (const auto& p : r.problems) problems.push_back(boost::json::value(p));
        for (const auto& i : r.images_missing_chunks) images.push_back(boost::json::value(i));
        o["problems"] = problems;
        o["images_missing_chunks"] = images;
    }
    return o;
}

uint64_t repair(Repository& repo, bool dry_run, const Emit& emit) {
    auto lock = repo.lock_exclusive();
    auto rebuilt = repo.chunks().rebuild(dry_run, true);
    for (const auto& d : rebuilt.damage) {
        boost::json::object o;
        o["damaged_pack"] = d;
        emit(o);
    }
    uint64_t unrecoverable = 0, images = 0;
    for (const auto& item : repo.list("")) {
        if (!item.image) continue;
        ++images;
        try {
            uint64_t marked = 0;
            for (const auto& m : mark_images(repo, {item}, nullptr, marked)) {
                boost::json::object o;
                o["image"] = m.image;
                o["missing_chunks"] = m.chunks;
                o["first_bad_offset"] = m.first_offset;
                o["repair"] = "unrecoverable here: the next backup of the same data stores the chunks again";
                emit(o);
                ++unrecoverable;
            }
        } catch (const Error& e) {
            if (e.code() != kExitIntegrity) throw;
            boost::json::object o;
            o["image"] = item.name;
            o["error"] = e.what();
            o["repair"] = "unrecoverable: the index does not read (zadp-repo rm it, or restore the file)";
            emit(o);
            ++unrecoverable;
        }
    }
    boost::json::object o;
    o["repair"] = dry_run ? "dry-run" : "done";
    o["packs"] = rebuilt.files;
    o["damaged_packs"] = rebuilt.damaged_tables;
    o["objects_recovered"] = rebuilt.objects_recovered;
    o["packs_rewritten"] = rebuilt.files_rewritten;
    boost::json::array moved;
    for (const auto& m : rebuilt.set_aside) moved.push_back(boost::json::value(m));
    o["moved_to_lost_and_found"] = moved;
    o["locator_rebuilt"] = rebuilt.locator_rebuilt;
    o["images"] = images;
    o["unrecoverable_images"] = unrecoverable;
    emit(o);
    return unrecoverable;
}

uint64_t check(Repository& repo, const std::string& prefix, bool read_data, const Emit& emit) {
    auto lock = repo.lock_shared();
    std::set<ChunkId> bad;
    uint64_t damaged = 0;
    if (read_data) {
        // Sorted by id: the lines come out in one order whatever the store's
        // listing order and the workers' timing.
        std::map<ChunkId, std::string> errors = verify_every_chunk(repo);
        for (const auto& [id, error] : errors) {
            boost::json::object o;
            o["chunk"] = to_hex(id);
            o["error"] = error;
            auto moved = error == "missing" ? std::optional<std::string>("") : repo.chunks().quarantine(id);
            if (moved) {
                bad.insert(id);
                if (!moved->empty()) o["moved_to"] = *moved;
            } else {
                o["locator_defect"] = true;
                o["note"] = "the chunk is intact where its pack's own table puts it: the locator is wrong "
                            "(zadp-repo repair rebuilds it)";
                ++damaged;
            }
            emit(o);
        }
    }
    if (prefix.empty()) {
        for (const auto& pack : repo.chunks().damaged_files()) {
            boost::json::object o;
            o["pack"] = pack.file;
            o["ok"] = false;
            o["error"] = pack.error;
            o["note"] = "reads go on through the locator; gc keeps the pack, zadp-repo repair rewrites it";
            ++damaged;
            emit(o);
        }
    }
    for (const auto& item : repo.list(prefix)) {
        boost::json::object o;
        o["name"] = item.name;
        o["type"] = item.image ? "image" : "blob";
        try {
            if (!item.image) {
                repo.get_blob(item.name);
                o["ok"] = true;
                emit(o);
                continue;
            }
            IndexReader index(repo.store(), item.key, "repo:" + item.name, repo.sealer());
            check_index_fits(repo, index.header(), "repo:" + item.name);  // as a restore does
            uint64_t missing = 0, bad_chunks = 0, first_bad = UINT64_MAX;
            const uint64_t cs = index.header().chunk_size;
            for (uint64_t i = 0; i < index.entries(); ++i) {
                ChunkId id = index.entry(i);
                if (is_zero_id(id)) continue;
                bool is_bad = bad.count(id) > 0;
                bool is_missing = !is_bad && !repo.chunks().contains(id);
                if (!is_bad && !is_missing) continue;
                (is_bad ? bad_chunks : missing)++;
                first_bad = std::min(first_bad, i * cs);
            }
            o["ok"] = missing == 0 && bad_chunks == 0;
            o["missing_chunks"] = missing;
            o["damaged_chunks"] = bad_chunks;
            if (first_bad != UINT64_MAX) o["first_bad_offset"] = first_bad;
        } catch (const Error& e) {
            if (e.code() != kExitIntegrity) throw;
            o["ok"] = false;
            o["error"] = e.what();
        }
        if (!o["ok"].as_bool()) ++damaged;
        emit(o);
    }
    return damaged;
}

}  // namespace hci::repo
