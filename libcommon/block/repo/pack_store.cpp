// The packing chunk store of format version 2 (zadp-repo(5), "Packs"), as
// objects of an ObjectStore:
//
//   packs/XX/<16 hex>.pack     objects back to back, then their sealed table
//   packs/unmerged/<16 hex>.table   a copy of a new pack's table
//   packs/locator              every pack's table merged, sorted by chunk id
//   packs/damaged              chunks check --read-data set aside
//
// On a store whose locks are leases (S3) the locator is written by gc only,
// as immutable generations packs/locators/GEN, and gc condemns before it
// deletes (packs/condemned/, condemned.h): stores never merge there.
//
// A writer adds the objects its workers encoded to its own pack, so
// concurrent writers never share an object. A finished pack is published
// create-only and its table copied to packs/unmerged/ first, where every
// process finds it. The locator (a sorted array with a 64Ki-entry fan-out,
// looked up by ranged reads, never loaded whole) keeps memory bounded
// whatever the repository's size: a process holds only the unmerged tables,
// and merges them into a new locator once there are many.
//
// This file is only the store's policy: when packs are started, finished,
// published and merged, what is set aside, and gc's and repair's order of
// steps. The pack format is pack.h, the locator locator.h, and the repack
// plan and its copying repack.h.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/little_endian.h"
#include "libcommon/block/repo/chunk_store.h"
#include "libcommon/block/repo/condemned.h"
#include "libcommon/block/repo/locator.h"
#include "libcommon/block/repo/pack.h"
#include "libcommon/block/repo/repack.h"

namespace hci::repo {
namespace {

using namespace pack;  // the format (pack.h), the locator (locator.h), repacking (repack.h)

constexpr size_t kMergeTables = 32;          // unmerged tables a store leaves before it merges them
constexpr size_t kMergeEntries = 131072;     // unmerged entries a process holds before it merges them
constexpr size_t kRebuildMemory = 32u << 20; // entries gc sorts at once when it rebuilds the locator

// ---- the store ----

class PackChunkStore : public ChunkStore {
public:
    // A store that failed leaves its unfinished pack unpublished: the
    // writer's destructor drops it.
    PackChunkStore(ObjectStore& store, std::string prefix, const Sealer& sealer)
        : store_(store), prefix_(std::move(prefix)), sealer_(sealer), generations_(store.locks_are_leases()) {}

    bool contains(const ChunkId& id) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        return find(id).has_value() || (catch_up() && find(id).has_value());
    }

    bool reusable(const ChunkId& id) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        return find(id, true).has_value();
    }

    uint64_t put(const ChunkId& id, const unsigned char* object, size_t length) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        if (find(id, true)) return 0;
        append(id, object, length);
        return length;
    }

    bool read(const ChunkId& id, Bytes& out) override {
        for (int attempt = 0;; ++attempt) {
            std::optional<Location> at;
            std::shared_ptr<ObjectReader> reader;
            {
                std::lock_guard<std::mutex> g(mu_);
                load();
                at = find(id);
                if (at && held_here(at->pack)) {  // in a pack this process is writing or uploading
                    read_at(*at, out);
                    return true;
                }
            }
            if (at && (reader = open_pack(at->pack))) {
                read_at(*reader, *at, out);
                return true;
            }
            // A pack gc deleted after this process loaded its view: the
            // copy gc kept is in a newer locator generation (condemned.h).
            if (!at || !generations_ || attempt > 0) return false;
            std::lock_guard<std::mutex> g(mu_);
            reload();
        }
    }

    void for_each(const std::function<void(const Listed&)>& visit) override {
        std::shared_ptr<const Locator> locator;
        std::vector<Entry> recent;
        std::set<Location> damaged;
        {
            std::lock_guard<std::mutex> g(mu_);
            load();
            locator = locator_;
            damaged = damaged_;
            for (const auto& [id, at] : recent_)
                if (!damaged_.count(at)) recent.push_back({id, at});
        }
        ChunkId last{};
        bool any = false;
        // A generation may still name packs gc deleted after writing it.
        std::unordered_map<uint64_t, bool> exists;
        auto gone = [&](uint64_t pack) {
            if (!generations_) return false;
            auto [it, added] = exists.emplace(pack, true);
            if (added) it->second = store_.stat(pack_key(pack)).has_value();
            return !it->second;
        };
        locator->for_each([&](const Entry& e) {
            if ((any && e.id == last) || damaged.count(e.at) || gone(e.at.pack)) return;
            last = e.id;
            any = true;
            visit({e.id, e.at.length});
        });
        std::vector<Entry> found;
        for (const auto& e : recent) {  // not merged yet, or merged only as copies set aside
            locator->find(e.id, found);
            if (std::all_of(found.begin(), found.end(), [&](const Entry& f) { return damaged.count(f.at) > 0; }))
                visit({e.id, e.at.length});
        }
    }

    void remove(const ChunkId& id) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        if (auto at = find(id)) set_aside(id, *at);
    }
    std::optional<std::string> quarantine(const ChunkId& id) override;
    bool read_other_copy(const ChunkId& id, Bytes& out, const std::function<bool(Bytes&)>& verify) override;

    void sync() override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        finish_pack();  // every pack's PUT returned 200
        store_.sync();
        if (wrote_ && !generations_ && unmerged_count() > kMergeTables) try_merge();
    }

    uint64_t count_hint() override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        return locator_->size() + recent_.size();
    }

    std::optional<Place> where(const ChunkId& id) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        auto at = find(id);
        if (!at) return std::nullopt;
        return Place{pack_key(at->pack), at->offset, at->length};
    }

    bool places_share_objects() const override { return true; }

    SweepReport sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) override;
    bool begin_concurrent_gc(const ConcurrentGc& gc, bool dry_run) override;
    void end_concurrent_gc() override {
        std::lock_guard<std::mutex> g(mu_);
        gc_.reset();
    }

    RebuildReport rebuild(bool dry_run, bool rewrite_damaged) override;

    std::vector<DamagedFile> damaged_files() override {
        std::vector<DamagedFile> damaged;
        std::vector<Entry> entries;
        for (auto pack : list_packs()) {
            uint64_t size = 0;
            std::string error = read_pack_table(pack, entries, size);
            if (!error.empty()) damaged.push_back({store_.where(pack_key(pack)), error});
        }
        return damaged;
    }

private:
    // Short: the object's checks will say it is damaged.
    static void read_at(ObjectReader& reader, const Location& at, Bytes& out) { pack::read_object(reader, at, out); }
    // From a pack this process is writing or uploading (caller holds mu_).
    void read_at(const Location& at, Bytes& out) {
        thread_local std::vector<unsigned char> got;
        ObjectWriter& writer = writing(at.pack) ? *pack_writer_ : *uploading_.at(at.pack);
        writer.read_at(at.offset, at.length, got);
        out.reset(got.size());
        if (!got.empty()) std::memcpy(out.data(), got.data(), got.size());
    }
    bool writing(uint64_t pack) const { return pack_writer_ && pack == pack_; }
    bool held_here(uint64_t pack) const { return writing(pack) || uploading_.count(pack) > 0; }

    // Publishes a finished pack: first a copy of its table in unmerged/,
    // where every process finds it, then the pack create-only. On a store
    // where each write is a request (S3), both PUTs run in the background,
    // in that order, while the workers fill the next pack, up to
    // kUploadsInFlight packs at once; sync() waits for them all (an index is
    // committed only after every pack it names returned 200). Its chunks are
    // found and read from the spooled pack meanwhile (caller holds mu_).
    // Elsewhere both are written at once (the table durable with the pack
    // at sync()).
    static constexpr size_t kUploadsInFlight = 3;
    void upload(uint64_t pack, std::unique_ptr<ObjectWriter> finished, std::vector<unsigned char> table) {
        if (!store_.reads_are_requests()) {
            store_.save(table_key(pack), table.data(), table.size());
            if (!finished->commit(true)) fail(kExitIo, pack_where(pack) + " exists already (two packs drew one random name)");
            return;
        }
        std::shared_ptr<ObjectWriter> writer = std::move(finished);
        uploading_[pack] = writer;
        uploads_.push_back({pack, std::async(std::launch::async, [this, writer, pack, table = std::move(table)] {
                                store_.save(table_key(pack), table.data(), table.size());
                                if (!writer->commit(true))
                                    fail(kExitIo, pack_where(pack) + " exists already (two packs drew one random name)");
                            })});
        while (uploads_.size() > kUploadsInFlight) reap_upload();
    }
    // Waits for the oldest upload; rethrows its error.
    void reap_upload() {
        Upload oldest = std::move(uploads_.front());
        uploads_.pop_front();
        uploading_.erase(oldest.pack);
        oldest.done.get();
    }

    std::string pack_key(uint64_t pack) const { return pack::pack_key(prefix_, pack); }
    std::string table_key(uint64_t pack) const { return prefix_ + "/unmerged/" + pack_name(pack) + ".table"; }
    std::string locator_key() const { return prefix_ + "/locator"; }
    std::string damaged_key() const { return prefix_ + "/damaged"; }
    std::string pack_where(uint64_t pack) const { return store_.where(pack_key(pack)); }

    // The packs named in unmerged/ (by their tables' keys).
    std::vector<std::pair<uint64_t, std::string>> unmerged_tables() {
        std::vector<std::pair<uint64_t, std::string>> tables;
        std::string dir = prefix_ + "/unmerged/";
        store_.list(dir, [&](const ObjectInfo& o) {
            std::string name = o.key.substr(dir.size());
            if (auto pack = pack_of_table(name); pack && name.find('/') == std::string::npos)
                tables.emplace_back(*pack, o.key);
        });
        return tables;
    }
    size_t unmerged_count() { return unmerged_tables().size(); }

    // Reads what other processes published: the unmerged tables first, then
    // the locator, so a table merged meanwhile is found in the locator. Both
    // are caches of the packs' own tables: a damaged unmerged table is
    // replaced by its pack's own table, and a lost or damaged locator by the
    // tables of the packs no unmerged table names (a store publishes a
    // pack's table before the pack, so every pack file is named by one or
    // the other), as long as they fit in bounded memory.
    void load() {
        if (loaded_) return;
        std::vector<Entry> entries;
        std::set<uint64_t> tabled;
        load_damaged();
        load_condemned();  // after this process took its lease (condemned.h)
        for (const auto& [number, key] : unmerged_tables()) {
            const std::optional<uint64_t> pack = number;
            bool found;
            try {
                found = read_table_file(*pack, entries);  // false: merged and removed meanwhile
            } catch (const Error& e) {
                if (e.code() != kExitIntegrity) throw;
                log_warning(std::string(e.what()) + "; reading the pack's own table instead");
                uint64_t size = 0;
                found = read_pack_table(*pack, entries, size).empty();
            }
            if (!found) continue;
            tabled.insert(*pack);
            known_.insert(*pack);
            for (const auto& e : entries)
                if (!damaged_.count(e.at)) recent_.emplace(e.id, e.at);
        }
        try {
            locator_ = open_locator();
        } catch (const Error& e) {
            if (e.code() != kExitIntegrity) throw;
            log_warning(e.what());
            locator_ = Locator::empty();
        }
        if (!locator_->present()) load_untabled_packs(tabled);
        loaded_ = true;
        caught_up_ = false;
    }

    // After a miss, once per view: the tables of packs published since the
    // view was loaded, where stores never merge. A store publishes its
    // packs' tables before its index, so an image listed after the view
    // was loaded (gc's mark lists images after it rebuilt the locator) has
    // every chunk found then (caller holds mu_). True when it read any.
    bool catch_up() {
        if (!generations_ || caught_up_) return false;
        caught_up_ = true;
        bool any = false;
        std::vector<Entry> entries;
        for (const auto& [pack, key] : unmerged_tables()) {
            try {
                if (known_.count(pack) || !read_table_file(pack, entries)) continue;
            } catch (const Error& e) {
                if (e.code() != kExitIntegrity) throw;
                log_warning(e.what());  // its chunks count as missing: gc then removes nothing
                continue;
            }
            known_.insert(pack);
            for (const auto& e : entries)
                if (!damaged_.count(e.at)) recent_.emplace(e.id, e.at);
            any = true;
        }
        if (any) packs_seen_.clear();  // a pack seen missing may be there now
        return any;
    }

    // Without a locator: the own tables of the packs no unmerged table
    // names (none, unless the locator was lost), within bounded memory.
    void load_untabled_packs(const std::set<uint64_t>& tabled) {
        std::vector<Entry> entries;
        uint64_t untabled = 0;
        for (auto pack : list_packs()) {
            if (tabled.count(pack)) continue;
            ++untabled;
            uint64_t size = 0;
            if (!read_pack_table(pack, entries, size).empty()) continue;  // rebuild() scans it
            for (const auto& e : entries)
                if (!damaged_.count(e.at)) recent_.emplace(e.id, e.at);
            if (recent_.size() > 4 * kMergeEntries)
                fail(kExitIntegrity, "the pack locator " + store_.where(locator_key()) + " is missing or damaged, and the packs "
                                     "are too many to read their tables instead; zadp-repo repair rebuilds it");
        }
        if (untabled)
            log_warning("the pack locator " + store_.where(locator_key()) + " is missing or damaged: read the tables of " +
                        std::to_string(untabled) + " packs instead (zadp-repo repair rebuilds it)");
    }

    bool read_table_file(uint64_t pack, std::vector<Entry>& out) {
        auto sealed = store_.load(table_key(pack));
        if (!sealed) return false;
        std::string error = open_table(*sealed, pack, sealer_, out);
        if (!error.empty())
            fail(kExitIntegrity, store_.where(table_key(pack)) + " is damaged: " + error + "; zadp-repo repair rebuilds it");
        return true;
    }

    // packs/damaged as text ("" when there is none).
    std::string damaged_text() {
        auto bytes = store_.load(damaged_key());
        if (!bytes) return "";
        if (bytes->size() > (1u << 26))
            fail(kExitIntegrity, store_.where(damaged_key()) + " is larger than " + std::to_string(1u << 26) + " bytes");
        return std::string(bytes->begin(), bytes->end());
    }

    void load_damaged() {
        auto marks = parse_damaged(damaged_text());
        damaged_.insert(marks.begin(), marks.end());
    }

    static std::set<Location> parse_damaged(const std::string& text) {
        std::set<Location> marks;
        size_t start = 0;
        while (start < text.size()) {
            size_t nl = text.find('\n', start);
            if (nl == std::string::npos) break;
            std::string line = text.substr(start, nl - start);
            start = nl + 1;
            // "PACK OFFSET [ID]"; a line that does not parse marks nothing
            auto pack = pack_from_name(line.substr(0, 16));
            uint32_t offset = 0;
            if (!pack || line.size() < 18 || line[16] != ' ') continue;
            auto [end, ec] = std::from_chars(line.data() + 17, line.data() + line.size(), offset);
            if (ec == std::errc() && (end == line.data() + line.size() || *end == ' ')) marks.insert({*pack, offset, 0});
        }
        return marks;
    }

    // The first usable location of a chunk (caller holds mu_): not set
    // aside, and in a pack file that exists, so that a store writes again a
    // chunk whose pack was lost and check reports it missing. A copy in a
    // condemned pack comes last, and never `for_reuse` (a store's dedup):
    // a store stores such a chunk again (condemned.h).
    std::optional<Location> find(const ChunkId& id, bool for_reuse = false) {
        auto usable = [&](const Location& at) { return !damaged_.count(at) && pack_exists(at.pack); };
        std::optional<Location> condemned;
        auto take = [&](const Location& at) {
            if (!usable(at)) return false;
            if (!condemned_.count(at.pack)) return true;
            if (!condemned) condemned = at;
            return false;
        };
        for (auto [it, end] = recent_.equal_range(id); it != end; ++it)
            if (take(it->second)) return it->second;
        thread_local std::vector<Entry> found;
        locator_->find(id, found);
        for (const auto& e : found)
            if (take(e.at)) return e.at;
        if (for_reuse) return std::nullopt;
        return condemned;
    }

    bool pack_exists(uint64_t pack) {
        if (held_here(pack)) return true;  // being written or uploaded
        if (!packs_listed_ && store_.reads_are_requests()) {
            // One listing (a request per 1000 packs) rather than a HEAD per pack.
            for (auto listed : list_packs()) packs_seen_[listed] = true;
            packs_listed_ = true;
        }
        auto [it, added] = packs_seen_.emplace(pack, false);
        if (added) it->second = store_.stat(pack_key(pack)).has_value();
        return it->second;
    }

    std::shared_ptr<ObjectReader> open_pack(uint64_t pack) {
        std::lock_guard<std::mutex> g(readers_mu_);
        if (auto it = readers_.find(pack); it != readers_.end()) return it->second;
        std::shared_ptr<ObjectReader> reader = store_.open_reader(pack_key(pack));
        if (!reader) return nullptr;
        if (readers_.size() >= 64) readers_.erase(readers_.begin());  // readers still using it keep it open
        return readers_[pack] = reader;
    }

    // Adds an object to this process's open pack (caller holds mu_).
    void append(const ChunkId& id, const unsigned char* object, size_t length) {
        if (!pack_writer_) start_pack();
        pack_writer_->write(object, length);
        Entry e{id, {pack_, static_cast<uint32_t>(pack_size_), static_cast<uint32_t>(length)}};
        pack_entries_.push_back(e);
        recent_.emplace(e.id, e.at);  // beside a copy set aside, which find() passes over
        pack_size_ += length;
        wrote_ = true;
        if (pack_size_ >= kPackTarget) {
            finish_pack(Publish::kInBackground);
            // Bounded memory for any image size: a merge, or where only gc
            // writes the locator, forgetting this process's own published
            // packs (a chunk met again later is stored again).
            if (recent_.size() > kMergeEntries && generations_)
                forget_own_packs();
            else if (recent_.size() > kMergeEntries)
                try_merge();
        }
    }

    void start_pack() {
        unsigned char b[8];
        random_bytes(b, sizeof b);
        pack_ = little_endian::get64(b);  // random: no one can predict the name
        pack_writer_ = store_.open_writer(pack_key(pack_));
        auto header = pack_header();
        pack_writer_->write(header.data(), header.size());
        pack_size_ = kPackHeaderSize;
        pack_entries_.clear();
    }

    // Writes the open pack's table, publishes a copy of it in unmerged/,
    // then publishes the pack create-only (caller holds mu_). In that order,
    // every pack is named by an unmerged table or the locator (load() relies
    // on it); a table whose pack never came (a store killed between the
    // two) only names chunks that are not there. Unless kInBackground (a
    // full pack in the middle of a store), every pack is published on
    // return, those uploaded in the background before too.
    enum class Publish { kNow, kInBackground };
    void finish_pack(Publish when = Publish::kNow) {
        if (pack_writer_) seal_and_upload();
        if (when == Publish::kNow)
            while (!uploads_.empty()) reap_upload();
    }
    void seal_and_upload() {
        std::sort(pack_entries_.begin(), pack_entries_.end());
        auto table = seal_table(pack_entries_, pack_, sealer_);
        auto tail = pack_tail(pack_entries_.size(), table.size());
        auto writer = std::move(pack_writer_);  // dropped unpublished if this fails
        writer->write(table.data(), table.size());
        writer->write(tail.data(), tail.size());
        upload(pack_, std::move(writer), std::move(table));
        packs_seen_[pack_] = true;
        own_packs_.insert(pack_);
        pack_entries_.clear();
    }

    // The locator only indexes the packs: the chunks are safe whether a
    // merge works or not, so a failed one does not fail the store.
    void try_merge() {
        try {
            merge_tables();
        } catch (const Error& e) {
            log_warning(std::string("could not merge the pack tables (") + e.what() + "); zadp-repo gc will");
        }
    }

    // Merges every unmerged table into a new locator, then removes those
    // tables. Under the lock packs/locator.lock, so two merges never lose
    // each other's tables; readers keep the locator they opened (caller
    // holds mu_).
    void merge_tables() {
        auto lock = store_.lock(prefix_ + "/locator.lock", true, true);
        std::vector<Entry> entries, one;
        std::vector<std::string> merged;
        for (const auto& [pack, key] : unmerged_tables()) {
            if (!read_table_file(pack, one)) continue;
            entries.insert(entries.end(), one.begin(), one.end());
            merged.push_back(key);
        }
        std::sort(entries.begin(), entries.end());
        auto current = Locator::open(store_, locator_key());
        LocatorWriter out(store_, locator_key());
        size_t next = 0;
        current->for_each([&](const Entry& e) {
            for (; next < entries.size() && entries[next] < e; ++next) out.add(entries[next]);
            out.add(e);
        });
        for (; next < entries.size(); ++next) out.add(entries[next]);
        locator_ = out.commit();
        store_.remove(merged);
        recent_.clear();
        for (const auto& e : pack_entries_) recent_.emplace(e.id, e.at);
    }

    // Lists a copy of a chunk in packs/damaged, so that no process finds it
    // again; returns where that copy is (caller holds mu_). The list is one
    // whole object, rewritten with the line added under packs/locator.lock
    // (no appends: an object store has none), so that two checks setting
    // chunks aside at once do not lose each other's lines.
    std::string set_aside(const ChunkId& id, const Location& at) {
        std::string line = pack_name(at.pack) + " " + std::to_string(at.offset) + " " + to_hex(id) + "\n";
        {
            auto lock = store_.lock(prefix_ + "/locator.lock", true, true);
            std::string text = damaged_text();
            if (!text.empty() && text.back() != '\n') text += '\n';  // a line cut short marks nothing
            text += line;
            store_.save(damaged_key(), text.data(), text.size());
            store_.sync();
        }
        damaged_.insert({at.pack, at.offset, 0});
        return pack_where(at.pack) + " at " + std::to_string(at.offset) + " (listed in " + store_.where(damaged_key()) + ")";
    }

    // The table of a pack, read from its end; an error text when damaged.
    std::string read_pack_table(uint64_t pack, std::vector<Entry>& out, uint64_t& file_size) {
        out.clear();
        auto reader = store_.open_reader(pack_key(pack));
        if (!reader) return errno_text(ENOENT);
        file_size = reader->size();
        return pack::read_pack_table(*reader, pack, sealer_, out, pack_where(pack));
    }

    // A pack as gc and rebuild see it: its own table, or, when that does not
    // read (`damage` says why), the intact objects found by scanning it.
    struct PackView {
        uint64_t pack = 0, file_size = 0;
        std::vector<Entry> entries;
        std::string damage;
    };
    PackView view_pack(uint64_t pack);
    // The pack's own entry for `id`: from its table or, if that is damaged, a scan.
    std::optional<Location> own_location(const ChunkId& id, uint64_t pack);
    bool verifies(const ChunkId& id, Bytes& object) const;
    // Reads an object from its pack, or from the pack this process is writing.
    bool read_object(const Location& at, Bytes& out);

    std::vector<uint64_t> list_packs();
    std::shared_ptr<const Locator> rebuild_locator(const std::vector<uint64_t>& packs, bool publish,
                                                   RebuildReport* report);
    void move_to_lost_and_found(uint64_t pack, RebuildReport& report);
    void revalidate_damaged(bool dry_run);
    void write_damaged_list(const std::set<Location>& dropped = {});
    void forget_unmerged_tables();
    void forget_covered_tables(const std::vector<std::pair<uint64_t, std::string>>& tables,
                               const std::vector<uint64_t>& packs);
    bool copy_elsewhere(const ChunkId& id);
    enum class Verdict { kGone, kDelete, kNeeded, kDamaged };
    Verdict judge_condemned(uint64_t pack, const std::function<bool(const ChunkId&)>& live, SweepReport& r);
    SweepReport sweep_concurrently(const std::function<bool(const ChunkId&)>& live, bool dry_run);
    void condemn(const RepackPlan& plan);

    // Adds a pack to a repack plan by its own table.
    void plan_pack(RepackPlanner& planner, uint64_t pack) {
        std::vector<Entry> entries;
        uint64_t file_size = 0;
        if (read_pack_table(pack, entries, file_size).empty())
            planner.add(pack, file_size, entries);
        else
            planner.add_damaged(pack);  // never removed, never rewritten
    }

    void load_condemned() {
        condemned_lists_ = load_condemned_lists(store_, prefix_);
        condemned_.clear();
        for (const auto& l : condemned_lists_) condemned_.insert(l.packs.begin(), l.packs.end());
    }

    // The newest locator generation (retried when gc removed it meanwhile),
    // or packs/locator where stores merge (a directory) or none was written.
    std::shared_ptr<const Locator> open_locator() {
        for (int attempt = 0; generations_ && attempt < 5; ++attempt) {
            auto gens = locator_generations(store_, prefix_);
            if (gens.empty()) break;
            if (auto reader = store_.open_reader(gens.back())) {
                locator_opened_ = gens.back();
                return Locator::open(std::move(reader), store_.where(gens.back()));
            }
        }
        locator_opened_ = locator_key();
        return Locator::open(store_, locator_key());
    }

    std::string next_locator_key() {
        if (!generations_) return locator_key();
        auto gens = locator_generations(store_, prefix_);
        return locator_generation_key(prefix_, gens.empty() ? 1 : generation_of(gens.back()) + 1);
    }

    void forget_own_packs() {
        std::erase_if(recent_, [&](const auto& kv) { return own_packs_.count(kv.second.pack) > 0; });
        own_packs_.clear();
    }

    // Forgets what was loaded and loads the newest (caller holds mu_); the
    // pack being written stays found.
    void reload() {
        loaded_ = false;
        known_.clear();
        recent_.clear();
        damaged_.clear();
        packs_seen_.clear();
        load();
        for (const auto& e : pack_entries_) recent_.emplace(e.id, e.at);
    }

    ObjectStore& store_;
    std::string prefix_;  // "packs"
    const Sealer& sealer_;
    const bool generations_;  // locator generations, no merges by stores, condemn before delete
    std::mutex mu_;
    bool loaded_ = false;
    std::shared_ptr<const Locator> locator_;
    // Unmerged tables and this process's pack. One chunk may have several
    // copies here: a table whose pack never came (a store killed between
    // the two) and the copy a later store wrote again; find() takes the
    // first usable one, so every copy must stay.
    std::unordered_multimap<ChunkId, Location, IdHash> recent_;
    std::set<Location> damaged_;                             // by pack and offset
    std::unordered_map<uint64_t, bool> packs_seen_;          // whether each pack file exists
    bool packs_listed_ = false;                              // packs_seen_ holds a listing's
    bool wrote_ = false;
    std::unique_ptr<ObjectWriter> pack_writer_;  // the pack this process is writing, if any
    struct Upload {
        uint64_t pack;
        std::future<void> done;
    };
    std::map<uint64_t, std::shared_ptr<ObjectWriter>> uploading_;  // finished packs whose PUT runs
    std::deque<Upload> uploads_;                                  // those PUTs, oldest first
    uint64_t pack_ = 0, pack_size_ = 0;
    std::vector<Entry> pack_entries_;
    std::vector<CondemnedList> condemned_lists_;
    std::set<uint64_t> condemned_;  // packs a condemned list names
    std::string locator_opened_;    // the key of the locator loaded
    std::set<uint64_t> known_;      // packs whose table the view holds (from unmerged/ or a rebuild)
    bool caught_up_ = false;        // catch_up() ran since the view was loaded
    std::set<uint64_t> own_packs_;  // packs this process published, while their entries are in recent_
    // gc beside stores (begin_concurrent_gc): which lists' time has come
    // (judged before the mark), the packs with an unmerged table then (new
    // since the last generation: never condemned this run), and what
    // rebuild() saw.
    std::optional<ConcurrentGc> gc_;
    std::vector<bool> deletable_;
    std::set<uint64_t> young_;
    std::set<uint64_t> listed_;
    std::vector<uint64_t> orphan_tables_;
    SweepReport waiting_;
    std::mutex readers_mu_;
    std::map<uint64_t, std::shared_ptr<ObjectReader>> readers_;
};

PackChunkStore::PackView PackChunkStore::view_pack(uint64_t pack) {
    PackView v;
    v.pack = pack;
    v.damage = read_pack_table(pack, v.entries, v.file_size);
    if (v.damage.empty()) return v;
    std::vector<unsigned char> bytes;
    if (auto info = store_.stat(pack_key(pack)); info && info->size <= (1u << 30))
        bytes = store_.load(pack_key(pack)).value_or(std::vector<unsigned char>());
    v.file_size = bytes.size();
    v.entries = scan_pack(pack, bytes, sealer_);
    return v;
}

std::optional<Location> PackChunkStore::own_location(const ChunkId& id, uint64_t pack) {
    // The pack being written has its table still in memory.
    for (const auto& e : writing(pack) ? pack_entries_ : view_pack(pack).entries)
        if (e.id == id && !damaged_.count(e.at)) return e.at;
    return std::nullopt;
}

bool PackChunkStore::read_object(const Location& at, Bytes& out) {
    if (held_here(at.pack)) {
        read_at(at, out);
        return true;
    }
    auto reader = open_pack(at.pack);
    if (reader) read_at(*reader, at, out);
    return reader != nullptr;
}

bool PackChunkStore::verifies(const ChunkId& id, Bytes& object) const {
    Bytes scratch;
    PlainView plain;
    return decode_object(ObjectKind::kChunk, to_hex(id), object, sealer_, scratch, plain).empty();
}

std::optional<std::string> PackChunkStore::quarantine(const ChunkId& id) {
    std::lock_guard<std::mutex> g(mu_);
    load();
    auto at = find(id);
    if (!at) return "";
    // Only bytes that fail their seal where the pack's own table puts them
    // are damaged; a locator entry that disagrees is the locator's defect.
    auto own = own_location(id, at->pack);
    if (!own) return std::nullopt;
    Bytes object;
    if (read_object(*own, object) && verifies(id, object)) return std::nullopt;
    return set_aside(id, *own);
}

bool PackChunkStore::read_other_copy(const ChunkId& id, Bytes& out, const std::function<bool(Bytes&)>& verify) {
    std::vector<Location> candidates;
    {
        std::lock_guard<std::mutex> g(mu_);
        load();
        auto at = find(id);
        if (!at) return false;
        if (auto own = own_location(id, at->pack); own && (own->offset != at->offset || own->length != at->length))
            candidates.push_back(*own);
        thread_local std::vector<Entry> found;
        locator_->find(id, found);
        for (const auto& e : found)
            if (e.at.pack != at->pack && !damaged_.count(e.at)) candidates.push_back(e.at);
    }
    for (const auto& c : candidates) {
        bool read;
        {
            std::lock_guard<std::mutex> g(mu_);  // the pack being written may be one
            read = read_object(c, out);
        }
        if (read && verify(out)) {
            log_warning("chunk " + to_hex(id) + " was read from " + pack_where(c.pack) + " at " +
                        std::to_string(c.offset) + ": the locator's copy did not verify (zadp-repo check "
                        "--read-data sets damaged copies aside; zadp-repo repair rebuilds the locator)");
            return true;
        }
    }
    return false;
}

// Every published pack, by the keys PREFIX/XX/<16 hex>.pack.
std::vector<uint64_t> PackChunkStore::list_packs() {
    std::vector<uint64_t> packs;
    std::string dir = prefix_ + "/";
    store_.list(dir, [&](const ObjectInfo& o) {
        std::string rest = o.key.substr(dir.size());  // XX/<16 hex>.pack
        if (rest.size() != 2 + 1 + 16 + 5 || rest[2] != '/' || !rest.ends_with(".pack")) return;
        if (auto pack = pack_from_name(rest.substr(3, 16))) packs.push_back(*pack);
    });
    return packs;
}

// A new locator from the packs' own tables (scanned when damaged), sorted
// in passes over ranges of the fan-out so that at most kRebuildMemory of
// entries are held at once (the entries of damaged packs are kept).
std::shared_ptr<const Locator> PackChunkStore::rebuild_locator(const std::vector<uint64_t>& packs, bool publish,
                                                               RebuildReport* report) {
    uint64_t total = 0;
    std::vector<Entry> one;
    std::map<uint64_t, std::vector<Entry>> scanned;
    for (auto pack : packs) {
        uint64_t size = 0;
        if (read_pack_table(pack, one, size).empty()) {
            total += one.size();
            continue;
        }
        auto v = view_pack(pack);
        total += v.entries.size();
        if (report) {
            ++report->damaged_tables;
            report->objects_recovered += v.entries.size();
            report->damage.push_back(pack_where(pack) + ": " + v.damage + "; " + std::to_string(v.entries.size()) +
                                     " intact objects found in it by scanning");
        }
        scanned[pack] = std::move(v.entries);
    }
    if (report) report->files += packs.size();
    size_t passes = std::max<size_t>(1, (total * sizeof(Entry) + kRebuildMemory - 1) / kRebuildMemory);
    const std::string key = next_locator_key();
    LocatorWriter out(store_, key);
    for (size_t pass = 0; pass < passes; ++pass) {
        size_t lo = kFanout * pass / passes, hi = kFanout * (pass + 1) / passes;
        std::vector<Entry> entries;
        for (auto pack : packs) {
            uint64_t size = 0;
            auto it = scanned.find(pack);
            if (it == scanned.end() && !read_pack_table(pack, one, size).empty()) continue;  // changed meanwhile
            for (const auto& e : it == scanned.end() ? one : it->second)
                if (bucket_of(e.id) >= lo && bucket_of(e.id) < hi && !damaged_.count(e.at)) entries.push_back(e);
        }
        std::sort(entries.begin(), entries.end());
        for (const auto& e : entries) out.add(e);
    }
    if (report) report->locator_rebuilt = publish;
    auto locator = out.commit(publish, generations_);  // a generation is created once
    if (publish) locator_opened_ = key;
    return locator;
}

// A mark in packs/damaged hides a copy from every reader and lets gc drop
// it, so it must name an object of its pack that fails its seal: a mark
// that names none (a damaged list, or a pack rewritten since) or an intact
// object is dropped.
void PackChunkStore::revalidate_damaged(bool dry_run) {
    std::set<Location> proven;
    std::map<uint64_t, PackView> views;
    for (const auto& at : damaged_) {
        auto it = views.find(at.pack);
        if (it == views.end()) it = views.emplace(at.pack, view_pack(at.pack)).first;
        const auto& entries = it->second.entries;
        auto e = std::find_if(entries.begin(), entries.end(), [&](const Entry& x) { return x.at.offset == at.offset; });
        if (e == entries.end() && it->second.damage.empty()) continue;  // no object there
        if (e == entries.end()) {  // the pack's table is damaged and the scan found no intact object there
            proven.insert(at);
            continue;
        }
        Bytes object;
        if (!read_object(e->at, object) || !verifies(e->id, object)) {
            proven.insert(at);
            continue;
        }
        log_warning("packs/damaged named an intact copy of chunk " + to_hex(e->id) + " in " + pack_where(at.pack) +
                    "; it is no longer set aside");
    }
    if (proven.size() == damaged_.size()) return;
    std::set<Location> dropped;
    for (const auto& at : damaged_)
        if (!proven.count(at)) dropped.insert(at);
    damaged_ = std::move(proven);
    if (!dry_run) write_damaged_list(dropped);
}

// Beside checks that set chunks aside (gc_), under their lock and keeping
// the marks they added since this process loaded the list: only `dropped`
// ones go.
void PackChunkStore::write_damaged_list(const std::set<Location>& dropped) {
    std::unique_ptr<StoreLock> lock;
    if (gc_) {
        lock = store_.lock(prefix_ + "/locator.lock", true, true);
        for (const auto& at : parse_damaged(damaged_text()))
            if (!dropped.count(at)) damaged_.insert(at);
    }
    std::string text;
    for (const auto& at : damaged_) text += pack_name(at.pack) + " " + std::to_string(at.offset) + "\n";
    if (text.empty())
        store_.remove({damaged_key()});
    else
        store_.save(damaged_key(), text.data(), text.size());
    store_.sync();
}

// Under the exclusive lock: every unmerged table, and the locator
// generations before the one just written (no process reads them).
void PackChunkStore::forget_unmerged_tables() {
    std::vector<std::string> keys;
    store_.list(prefix_ + "/unmerged/", [&](const ObjectInfo& o) { keys.push_back(o.key); });
    if (generations_) {
        for (const auto& gen : locator_generations(store_, prefix_))
            if (gen != locator_opened_) keys.push_back(gen);
        keys.push_back(locator_key());
    }
    store_.remove(keys);
}

// Beside stores: only the tables listed before the packs whose pack was
// listed, so the generation just written covers them; a store's table
// published meanwhile stays. A reader that listed a table removed now
// finds its pack in that generation (it opens the locator after the
// tables). Tables whose pack was not there are condemned by sweep().
void PackChunkStore::forget_covered_tables(const std::vector<std::pair<uint64_t, std::string>>& tables,
                                           const std::vector<uint64_t>& packs) {
    std::set<uint64_t> listed(packs.begin(), packs.end());
    std::vector<std::string> keys;
    orphan_tables_.clear();
    for (const auto& [pack, key] : tables) {
        if (listed.count(pack))
            keys.push_back(key);
        else if (young_.count(pack))  // there at the start of this run too: its store may have died
            orphan_tables_.push_back(pack);
    }
    store_.remove(keys);
}

void PackChunkStore::move_to_lost_and_found(uint64_t pack, RebuildReport& report) {
    // No rename on an object store: a copy, made durable, then the original removed.
    std::string to = prefix_ + "/lost+found/" + pack_name(pack) + ".pack";
    auto bytes = store_.load(pack_key(pack));
    if (!bytes) fail(kExitIo, "read " + pack_where(pack) + ": " + errno_text(ENOENT));
    store_.save(to, bytes->data(), bytes->size());
    store_.sync();
    store_.remove({pack_key(pack)});
    report.set_aside.push_back(store_.where(to));
}

ChunkStore::RebuildReport PackChunkStore::rebuild(bool dry_run, bool rewrite_damaged) {
    std::lock_guard<std::mutex> g(mu_);
    RebuildReport r;
    damaged_.clear();
    load_damaged();
    revalidate_damaged(dry_run);
    auto tables = unmerged_tables();  // before the packs (forget_covered_tables)
    auto packs = list_packs();
    locator_ = rebuild_locator(packs, !dry_run, &r);
    listed_ = std::set<uint64_t>(packs.begin(), packs.end());
    known_ = listed_;
    caught_up_ = false;
    if (!dry_run && gc_)
        forget_covered_tables(tables, packs);
    else if (!dry_run)
        forget_unmerged_tables();
    recent_.clear();
    packs_seen_.clear();
    loaded_ = true;
    if (dry_run || !rewrite_damaged || r.damaged_tables == 0) return r;
    // Copy the intact objects of damaged packs into new packs, make those
    // durable, publish a locator without the damaged packs, then move them.
    std::vector<uint64_t> damaged, intact;
    for (auto pack : packs) {
        auto v = view_pack(pack);
        if (v.damage.empty()) {
            intact.push_back(pack);
            continue;
        }
        damaged.push_back(pack);
        auto reader = open_pack(pack);
        if (!reader) continue;
        Bytes object;
        for (const auto& e : v.entries) {
            if (damaged_.count(e.at)) continue;
            read_at(*reader, e.at, object);
            append(e.id, object.data(), object.size());
        }
    }
    finish_pack();
    store_.sync();
    intact = list_packs();
    std::erase_if(intact, [&](uint64_t p) { return std::find(damaged.begin(), damaged.end(), p) != damaged.end(); });
    RebuildReport after;
    locator_ = rebuild_locator(intact, true, &after);
    forget_unmerged_tables();
    for (auto pack : damaged) move_to_lost_and_found(pack, r);
    r.files_rewritten = damaged.size();
    recent_.clear();
    packs_seen_.clear();
    {
        std::lock_guard<std::mutex> f(readers_mu_);
        readers_.clear();
    }
    return r;
}

ChunkStore::SweepReport PackChunkStore::sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) {
    std::lock_guard<std::mutex> g(mu_);
    load();
    if (gc_) return sweep_concurrently(live, dry_run);
    // The plan, from every pack's own table ...
    RepackPlanner planner(live, damaged_);
    for (auto pack : list_packs()) {
        plan_pack(planner, pack);
    }
    RepackPlan plan = planner.finish();
    SweepReport r = plan.report;
    r.temporaries_removed = store_.remove_temporaries(prefix_, true);
    if (dry_run) return r;
    // ... executed: what lives in rewritten packs is copied into new packs,
    // made durable, then a locator without the old packs is published, and
    // only then are they removed.
    store_.remove_temporaries(prefix_, false);
    copy_live_objects(
        plan, [&](uint64_t pack) { return open_pack(pack); }, [&](uint64_t pack) { return pack_where(pack); },
        [&](const ChunkId& id, const Bytes& object) { append(id, object.data(), object.size()); });
    finish_pack();
    store_.sync();
    std::set<uint64_t> gone(plan.drop.begin(), plan.drop.end());
    for (const auto& w : plan.rewrites) gone.insert(w.pack);
    std::vector<uint64_t> surviving;
    for (auto pack : list_packs())
        if (!gone.count(pack)) surviving.push_back(pack);
    locator_ = rebuild_locator(surviving, true, nullptr);
    forget_unmerged_tables();
    {
        std::lock_guard<std::mutex> f(readers_mu_);
        readers_.clear();
    }
    std::vector<std::string> gone_keys;
    for (auto pack : gone) gone_keys.push_back(pack_key(pack));
    store_.remove(gone_keys);
    // Keep the damaged marks of packs that stay.
    std::erase_if(damaged_, [&](const Location& at) { return gone.count(at.pack) > 0; });
    write_damaged_list();
    recent_.clear();
    packs_seen_.clear();
    return r;
}

// ---- gc beside stores and reads (condemned.h) ----

bool PackChunkStore::begin_concurrent_gc(const ConcurrentGc& gc, bool dry_run) {
    std::lock_guard<std::mutex> g(mu_);
    gc_ = gc;
    waiting_ = {};
    young_.clear();
    for (const auto& [pack, key] : unmerged_tables()) young_.insert(pack);
    load_condemned();
    // Judged before the mark: a store whose lease ends after this may
    // commit an index the mark must see.
    int64_t now = store_.now();
    deletable_.assign(condemned_lists_.size(), false);
    for (size_t i = 0; i < condemned_lists_.size(); ++i) {
        const auto& l = condemned_lists_[i];
        if (!l.readable) continue;
        if (!l.has_record) {
            if (!dry_run) write_lease_record(store_, l, gc.lease_dir, gc.own_leases);  // its gc died first
            ++waiting_.lists_waiting_for_leases;
        } else if (!leases_ended(store_, l, now)) {
            ++waiting_.lists_waiting_for_leases;
        } else if (now - l.time < gc.grace_s) {
            ++waiting_.lists_waiting_for_grace;
        } else {
            deletable_[i] = true;
        }
    }
    return true;
}

// Whether a chunk has a usable copy in a pack no list condemns (caller
// holds mu_; the locator is the generation rebuild() just wrote).
bool PackChunkStore::copy_elsewhere(const ChunkId& id) {
    auto usable = [&](const Location& at) {
        return !condemned_.count(at.pack) && !damaged_.count(at) && pack_exists(at.pack);
    };
    for (auto [it, end] = recent_.equal_range(id); it != end; ++it)
        if (usable(it->second)) return true;
    thread_local std::vector<Entry> found;
    locator_->find(id, found);
    return std::any_of(found.begin(), found.end(), [&](const Entry& e) { return usable(e.at); });
}

// A condemned pack whose time came: deleted only when its own table reads
// and every live chunk in it (by this run's mark) has a copy elsewhere.
PackChunkStore::Verdict PackChunkStore::judge_condemned(uint64_t pack, const std::function<bool(const ChunkId&)>& live,
                                                        SweepReport& r) {
    if (!store_.stat(pack_key(pack))) return Verdict::kGone;
    std::vector<Entry> entries;
    uint64_t size = 0;
    if (!read_pack_table(pack, entries, size).empty()) return Verdict::kDamaged;  // never removed
    for (const auto& e : entries)
        if (!damaged_.count(e.at) && live(e.id) && !copy_elsewhere(e.id)) return Verdict::kNeeded;
    ++r.files_removed;
    r.bytes_freed += size;
    for (const auto& e : entries) {
        ++r.chunks_removed;
        r.bytes_removed += e.at.length;
    }
    return Verdict::kDelete;
}

ChunkStore::SweepReport PackChunkStore::sweep_concurrently(const std::function<bool(const ChunkId&)>& live,
                                                           bool dry_run) {
    SweepReport r = waiting_;
    // Deleting what earlier runs condemned, once their time came.
    std::set<uint64_t> waiting, deleted;
    for (size_t i = 0; i < condemned_lists_.size(); ++i)
        if (!deletable_[i]) waiting.insert(condemned_lists_[i].packs.begin(), condemned_lists_[i].packs.end());
    std::vector<std::string> keys;
    std::vector<const CondemnedList*> done;
    for (size_t i = 0; i < condemned_lists_.size(); ++i) {
        if (!deletable_[i]) continue;
        const auto& l = condemned_lists_[i];
        for (auto pack : l.packs) {
            if (waiting.count(pack) || deleted.count(pack)) continue;
            auto verdict = judge_condemned(pack, live, r);
            if (verdict == Verdict::kDelete) {
                deleted.insert(pack);
                keys.push_back(pack_key(pack));
            } else if (verdict == Verdict::kNeeded) {
                ++r.condemned_rescued;  // an index names it again: no longer condemned
            }
        }
        for (auto pack : l.tables)
            if (!store_.stat(pack_key(pack))) keys.push_back(table_key(pack));
        for (const auto& k : l.locators)
            if (k != locator_opened_) keys.push_back(k);
        done.push_back(&l);
    }
    r.condemned_waiting = waiting.size();
    if (!dry_run) {
        gc_->require_held();
        store_.remove(keys);
        for (const auto* l : done) remove_condemned_list(store_, *l);
        std::set<Location> dropped;
        for (const auto& at : damaged_)
            if (deleted.count(at.pack)) dropped.insert(at);
        std::erase_if(damaged_, [&](const Location& at) { return deleted.count(at.pack) > 0; });
        if (!dropped.empty()) write_damaged_list(dropped);
    }
    condemned_ = waiting;
    // Condemning what is dead now: packs a generation covered before this
    // run (a store's new packs are judged by the next run), not condemned
    // already, every object dead or a rewrite's live ones copied first.
    RepackPlanner planner(live, damaged_);
    for (auto pack : listed_) {
        if (deleted.count(pack) || waiting.count(pack) || young_.count(pack)) continue;
        plan_pack(planner, pack);
    }
    RepackPlan plan = planner.finish();
    r.chunks_kept = plan.report.chunks_kept;
    r.bytes_kept = plan.report.bytes_kept;
    r.chunks_unused_kept = plan.report.chunks_unused_kept;
    r.bytes_unused_kept = plan.report.bytes_unused_kept;
    r.damaged_files = plan.report.damaged_files;
    r.files_condemned = plan.drop.size() + plan.rewrites.size();
    r.files_rewritten = plan.rewrites.size();
    if (!dry_run) condemn(plan);
    return r;
}

// Copies the live objects of the packs to rewrite into new packs, then
// publishes a list condemning them, the dead packs, orphan tables and the
// superseded locator generations (caller holds mu_).
void PackChunkStore::condemn(const RepackPlan& plan) {
    copy_live_objects(
        plan, [&](uint64_t pack) { return open_pack(pack); }, [&](uint64_t pack) { return pack_where(pack); },
        [&](const ChunkId& id, const Bytes& object) { append(id, object.data(), object.size()); });
    finish_pack();
    store_.sync();
    std::set<uint64_t> tables_condemned;
    std::set<std::string> locators_condemned;
    for (size_t i = 0; i < condemned_lists_.size(); ++i) {
        if (deletable_[i]) continue;  // handled above: its list is gone
        const auto& l = condemned_lists_[i];
        tables_condemned.insert(l.tables.begin(), l.tables.end());
        locators_condemned.insert(l.locators.begin(), l.locators.end());
    }
    CondemnedList list;
    list.packs = plan.drop;
    for (const auto& w : plan.rewrites) list.packs.push_back(w.pack);
    for (auto pack : orphan_tables_)
        if (!tables_condemned.count(pack)) list.tables.push_back(pack);
    auto superseded = locator_generations(store_, prefix_);
    if (store_.stat(locator_key())) superseded.push_back(locator_key());
    for (const auto& k : superseded)
        if (k != locator_opened_ && !locators_condemned.count(k)) list.locators.push_back(k);
    if (list.packs.empty() && list.tables.empty() && list.locators.empty()) return;
    condemned_.insert(list.packs.begin(), list.packs.end());
    gc_->require_held();
    std::string key = publish_condemned_list(store_, prefix_, std::move(list), gc_->lease_dir, gc_->own_leases);
    log_info("condemned " + std::to_string(plan.drop.size() + plan.rewrites.size()) + " pack(s) in " +
             store_.where(key) + "; a later gc deletes them");
}

}  // namespace

std::unique_ptr<ChunkStore> open_pack_chunk_store(ObjectStore& store, const std::string& prefix, const Sealer& sealer) {
    return std::make_unique<PackChunkStore>(store, prefix, sealer);
}

}  // namespace hci::repo
