// The packing chunk store of format version 2 (zadp-repo(5), "Packs"), as
// objects of an ObjectStore:
//
//   packs/XX/<16 hex>.pack     objects back to back, then their sealed table
//   packs/unmerged/<16 hex>.table   a copy of a new pack's table
//   packs/locator              every pack's table merged, sorted by chunk id
//   packs/damaged              chunks check --read-data set aside
//
// A writer adds the objects its workers encoded to its own pack, so
// concurrent writers never share an object. A finished pack is published
// create-only and its table copied to packs/unmerged/ first, where every
// process finds it. The locator (a sorted array with a 64Ki-entry fan-out,
// looked up by ranged reads, never loaded whole) keeps memory bounded
// whatever the repository's size: a process holds only the unmerged tables,
// and merges them into a new locator once there are many.
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/little_endian.h"
#include "libcommon/block/repo/chunk_store.h"

namespace hci::repo {
namespace {

using little_endian::get32;
using little_endian::get64;
using little_endian::put32;
using little_endian::put64;

constexpr uint64_t kPackTarget = 16u << 20;  // a pack is finished once it holds this much
constexpr size_t kEntrySize = 48;            // id[32] pack u64 offset u32 length u32
constexpr size_t kPackHeaderSize = 16;       // "ZADPPACK" u32 version u32 0
constexpr size_t kPackTailSize = 16;         // u32 entries u32 sealed table length "ZPACKEND"
constexpr size_t kFanout = 65536;            // locator buckets, by the first two bytes of the id
constexpr size_t kLocatorHeaderSize = 32;    // "ZADPLOCA" u32 version u32 0 u64 entries u64 XXH3(fan-out)
constexpr size_t kMergeTables = 32;          // unmerged tables a store leaves before it merges them
constexpr size_t kMergeEntries = 131072;     // unmerged entries a process holds before it merges them
constexpr size_t kRebuildMemory = 32u << 20; // entries gc sorts at once when it rebuilds the locator

struct Location {
    uint64_t pack = 0;
    uint32_t offset = 0, length = 0;
    bool operator<(const Location& o) const { return std::tie(pack, offset) < std::tie(o.pack, o.offset); }
};

struct Entry {
    ChunkId id{};
    Location at;
    bool operator<(const Entry& o) const { return id != o.id ? id < o.id : at < o.at; }
    bool operator==(const Entry& o) const { return id == o.id && at.pack == o.at.pack && at.offset == o.at.offset; }
};

void encode_entry(const Entry& e, unsigned char* p) {
    std::memcpy(p, e.id.data(), 32);
    put64(p + 32, e.at.pack);
    put32(p + 40, e.at.offset);
    put32(p + 44, e.at.length);
}

Entry decode_entry(const unsigned char* p) {
    Entry e;
    std::memcpy(e.id.data(), p, 32);
    e.at = {get64(p + 32), get32(p + 40), get32(p + 44)};
    return e;
}

size_t bucket_of(const ChunkId& id) { return (size_t{id[0]} << 8) | id[1]; }

struct IdHash {
    size_t operator()(const ChunkId& id) const { return get64(id.data()); }  // ids are uniformly random
};

std::string pack_name(uint64_t pack) {
    unsigned char b[8];
    put64(b, pack);
    return to_hex(b, 8);
}

std::optional<uint64_t> pack_from_name(const std::string& hex) {
    unsigned char b[8];
    if (hex.size() != 16 || !from_hex(hex, b, 8)) return std::nullopt;
    return get64(b);
}

std::string table_aad(uint64_t pack) { return "pack " + pack_name(pack); }

// The pack a table file in unmerged/ belongs to, from its name.
std::optional<uint64_t> pack_of_table(const std::string& name) {
    if (!name.ends_with(".table")) return std::nullopt;
    return pack_from_name(name.substr(0, name.size() - 6));
}

// Exactly `length` bytes at `offset` of an object (exit 6 when it is shorter).
void read_exact(ObjectReader& reader, void* buf, size_t length, uint64_t offset, const std::string& what) {
    thread_local std::vector<unsigned char> got;
    reader.read(offset, length, got);
    if (got.size() != length) fail(kExitIntegrity, what + " is truncated");
    if (length) std::memcpy(buf, got.data(), length);
}

// An object not yet published, read back through its writer (a locator a
// dry run built, to judge by without publishing it).
class UnpublishedReader : public ObjectReader {
public:
    explicit UnpublishedReader(std::unique_ptr<ObjectWriter> writer) : writer_(std::move(writer)) {}
    uint64_t size() const override { return writer_->size(); }
    void read(uint64_t offset, size_t length, std::vector<unsigned char>& out) override {
        writer_->read_at(offset, length, out);
    }

private:
    std::unique_ptr<ObjectWriter> writer_;
};

// A pack's table: its entries sorted by id, sealed for this pack.
std::vector<unsigned char> seal_table(const std::vector<Entry>& entries, uint64_t pack, const Sealer& sealer) {
    std::vector<unsigned char> plain(entries.size() * kEntrySize);
    for (size_t i = 0; i < entries.size(); ++i) encode_entry(entries[i], plain.data() + i * kEntrySize);
    return sealer.seal(plain.data(), plain.size(), table_aad(pack));
}

// The entries of a sealed table, or an error text.
std::string open_table(const std::vector<unsigned char>& sealed, uint64_t pack, const Sealer& sealer,
                       std::vector<Entry>& out) {
    auto plain = sealer.open(sealed.data(), sealed.size(), table_aad(pack));
    if (!plain) return "its table does not verify";
    if (plain->size() % kEntrySize != 0) return "its table has a partial entry";
    out.clear();
    for (size_t p = 0; p < plain->size(); p += kEntrySize) {
        Entry e = decode_entry(plain->data() + p);
        if (e.at.pack != pack) return "its table names another pack";
        out.push_back(e);
    }
    return "";
}

// ---- the locator ----

// A sorted array of entries on disk with a fan-out of cumulative counts per
// two-byte id prefix: a lookup reads one bucket (about 48 bytes times the
// chunks / 65536) with pread.
class Locator {
public:
    static std::shared_ptr<const Locator> empty() {
        auto l = std::shared_ptr<Locator>(new Locator());
        l->fanout_.assign(kFanout, 0);
        return l;
    }

    // An empty locator when there is none yet.
    static std::shared_ptr<const Locator> open(ObjectStore& store, const std::string& key) {
        return open(store.open_reader(key), store.where(key));
    }
    static std::shared_ptr<const Locator> open(std::unique_ptr<ObjectReader> reader, const std::string& where) {
        auto l = std::const_pointer_cast<Locator>(empty());
        if (!reader) return l;
        l->reader_ = std::move(reader);
        l->load(where);
        return l;
    }

    uint64_t size() const { return count_; }
    // False when there was no locator (a new repository: no merge or gc
    // yet, or it was lost).
    bool present() const { return reader_ != nullptr; }

    // Every entry of `id`, in location order.
    void find(const ChunkId& id, std::vector<Entry>& out) const {
        out.clear();
        if (!reader_) return;
        size_t b = bucket_of(id);
        uint64_t begin = b == 0 ? 0 : fanout_[b - 1], end = fanout_[b];
        if (begin == end) return;
        thread_local std::vector<unsigned char> buf;
        buf.resize((end - begin) * kEntrySize);
        read_exact(*reader_, buf.data(), buf.size(), entries_offset() + begin * kEntrySize, "the pack locator");
        auto at = [&](uint64_t i) { return buf.data() + i * kEntrySize; };
        uint64_t lo = 0, hi = end - begin;
        while (lo < hi) {  // the first entry not below id
            uint64_t mid = (lo + hi) / 2;
            if (std::memcmp(at(mid), id.data(), 32) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < end - begin && std::memcmp(at(lo), id.data(), 32) == 0; ++lo) out.push_back(decode_entry(at(lo)));
    }

    // Every entry in id order, read in large pieces.
    template <class F>
    void for_each(F visit) const {
        if (!reader_) return;
        constexpr uint64_t kBatch = 8192;
        std::vector<unsigned char> buf;
        for (uint64_t i = 0; i < count_; i += kBatch) {
            uint64_t n = std::min(kBatch, count_ - i);
            buf.resize(n * kEntrySize);
            read_exact(*reader_, buf.data(), buf.size(), entries_offset() + i * kEntrySize, "the pack locator");
            for (uint64_t k = 0; k < n; ++k) visit(decode_entry(buf.data() + k * kEntrySize));
        }
    }

private:
    Locator() = default;
    static uint64_t entries_offset() { return kLocatorHeaderSize + kFanout * 4; }

    void load(const std::string& path) {
        auto damaged = [&](const std::string& why) {
            fail(kExitIntegrity, "the pack locator " + path + " is damaged (" + why +
                                     "); zadp-repo repair rebuilds it from the packs");
        };
        unsigned char header[kLocatorHeaderSize];
        uint64_t size = reader_->size();
        if (size < entries_offset()) damaged("too short");
        read_exact(*reader_, header, sizeof header, 0, path);
        if (std::memcmp(header, "ZADPLOCA", 8) != 0 || get32(header + 8) != 1) damaged("bad header");
        count_ = get64(header + 16);
        std::vector<unsigned char> fan(kFanout * 4);
        read_exact(*reader_, fan.data(), fan.size(), kLocatorHeaderSize, path);
        if (XXH3_64bits(fan.data(), fan.size()) != get64(header + 24)) damaged("bad fan-out checksum");
        if (size != entries_offset() + count_ * kEntrySize) damaged("wrong length");
        for (size_t b = 0; b < kFanout; ++b) {
            fanout_[b] = get32(fan.data() + b * 4);
            if ((b > 0 && fanout_[b] < fanout_[b - 1]) || fanout_[b] > count_) damaged("bad fan-out");
        }
        if (fanout_.back() != count_) damaged("bad fan-out");
    }

    std::shared_ptr<ObjectReader> reader_;  // one version: a merge meanwhile does not change it
    std::vector<uint64_t> fanout_;
    uint64_t count_ = 0;
};

// Writes a new locator from entries given in id order, published whole
// (replacing the one there) and made durable by commit().
class LocatorWriter {
public:
    LocatorWriter(ObjectStore& store, const std::string& key)
        : store_(store), key_(key), out_(store.open_writer(key)) {
        counts_.assign(kFanout, 0);
        std::vector<unsigned char> head(kLocatorHeaderSize + kFanout * 4, 0);  // filled in by commit()
        out_->write(head.data(), head.size());
    }
    LocatorWriter(const LocatorWriter&) = delete;
    LocatorWriter& operator=(const LocatorWriter&) = delete;

    void add(const Entry& e) {
        if (have_last_ && e == last_) return;  // one entry once
        last_ = e;
        have_last_ = true;
        ++counts_[bucket_of(e.id)];
        ++count_;
        size_t at = buf_.size();
        buf_.resize(at + kEntrySize);
        encode_entry(e, buf_.data() + at);
        if (buf_.size() >= (1u << 20)) flush();
    }

    // Publishes the new locator; with `publish` false (a dry run) only
    // opens it for this process and removes the file.
    std::shared_ptr<const Locator> commit(bool publish = true) {
        flush();
        std::vector<unsigned char> head(kLocatorHeaderSize + kFanout * 4, 0);
        uint64_t sum = 0;
        for (size_t b = 0; b < kFanout; ++b) {
            sum += counts_[b];
            put32(head.data() + kLocatorHeaderSize + b * 4, static_cast<uint32_t>(sum));
        }
        std::memcpy(head.data(), "ZADPLOCA", 8);
        put32(head.data() + 8, 1);
        put64(head.data() + 16, count_);
        put64(head.data() + 24, XXH3_64bits(head.data() + kLocatorHeaderSize, kFanout * 4));
        out_->write_at(0, head.data(), head.size());
        if (!publish) return Locator::open(std::make_unique<UnpublishedReader>(std::move(out_)), store_.where(key_));
        out_->commit(false);
        store_.sync();
        return Locator::open(store_, key_);
    }

private:
    void flush() {
        out_->write(buf_.data(), buf_.size());
        buf_.clear();
    }

    ObjectStore& store_;
    std::string key_;
    std::unique_ptr<ObjectWriter> out_;
    std::vector<uint32_t> counts_;
    std::vector<unsigned char> buf_;
    uint64_t count_ = 0;
    Entry last_;
    bool have_last_ = false;
};

// ---- the store ----

class PackChunkStore : public ChunkStore {
public:
    // A store that failed leaves its unfinished pack unpublished: the
    // writer's destructor drops it.
    PackChunkStore(ObjectStore& store, std::string prefix, const Sealer& sealer)
        : store_(store), prefix_(std::move(prefix)), sealer_(sealer) {}

    bool contains(const ChunkId& id) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        return find(id).has_value();
    }

    uint64_t put(const ChunkId& id, const unsigned char* object, size_t length) override {
        std::lock_guard<std::mutex> g(mu_);
        load();
        if (find(id)) return 0;
        append(id, object, length);
        return length;
    }

    bool read(const ChunkId& id, Bytes& out) override {
        std::optional<Location> at;
        std::shared_ptr<ObjectReader> reader;
        {
            std::lock_guard<std::mutex> g(mu_);
            load();
            at = find(id);
            if (at && writing(at->pack)) {  // in the pack this process is writing
                read_at(*at, out);
                return true;
            }
        }
        if (!at || !(reader = open_pack(at->pack))) return false;
        read_at(*reader, *at, out);
        return true;
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
        locator->for_each([&](const Entry& e) {
            if ((any && e.id == last) || damaged.count(e.at)) return;
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
        finish_pack();
        store_.sync();
        if (wrote_ && unmerged_count() > kMergeTables) try_merge();
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

    SweepReport sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) override;

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
    static void read_at(ObjectReader& reader, const Location& at, Bytes& out) {
        thread_local std::vector<unsigned char> got;
        reader.read(at.offset, at.length, got);
        out.reset(got.size());
        if (!got.empty()) std::memcpy(out.data(), got.data(), got.size());
    }
    // From the pack this process is writing (caller holds mu_).
    void read_at(const Location& at, Bytes& out) {
        thread_local std::vector<unsigned char> got;
        pack_writer_->read_at(at.offset, at.length, got);
        out.reset(got.size());
        if (!got.empty()) std::memcpy(out.data(), got.data(), got.size());
    }
    bool writing(uint64_t pack) const { return pack_writer_ && pack == pack_; }

    std::string pack_key(uint64_t pack) const {
        std::string hex = pack_name(pack);
        return prefix_ + "/" + hex.substr(0, 2) + "/" + hex + ".pack";
    }
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
            for (const auto& e : entries)
                if (!damaged_.count(e.at)) recent_.emplace(e.id, e.at);
        }
        try {
            locator_ = Locator::open(store_, locator_key());
        } catch (const Error& e) {
            if (e.code() != kExitIntegrity) throw;
            log_warning(e.what());
            locator_ = Locator::empty();
        }
        if (!locator_->present()) load_untabled_packs(tabled);
        loaded_ = true;
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
        std::string text = damaged_text();
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
            if (ec == std::errc() && (end == line.data() + line.size() || *end == ' ')) damaged_.insert({*pack, offset, 0});
        }
    }

    // The first usable location of a chunk (caller holds mu_): not set
    // aside, and in a pack file that exists, so that a store writes again a
    // chunk whose pack was lost and check reports it missing.
    std::optional<Location> find(const ChunkId& id) {
        auto usable = [&](const Location& at) { return !damaged_.count(at) && pack_exists(at.pack); };
        if (auto it = recent_.find(id); it != recent_.end() && usable(it->second)) return it->second;
        thread_local std::vector<Entry> found;
        locator_->find(id, found);
        for (const auto& e : found)
            if (usable(e.at)) return e.at;
        return std::nullopt;
    }

    bool pack_exists(uint64_t pack) {
        if (writing(pack)) return true;  // the one being written
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
        recent_.insert_or_assign(e.id, e.at);  // over a copy set aside
        pack_size_ += length;
        wrote_ = true;
        if (pack_size_ >= kPackTarget) {
            finish_pack();
            if (recent_.size() > kMergeEntries) try_merge();  // bounded memory for any image size
        }
    }

    void start_pack() {
        unsigned char b[8];
        random_bytes(b, sizeof b);
        pack_ = get64(b);  // random: no one can predict the name
        pack_writer_ = store_.open_writer(pack_key(pack_));
        unsigned char header[kPackHeaderSize] = {};
        std::memcpy(header, "ZADPPACK", 8);
        put32(header + 8, 1);
        pack_writer_->write(header, sizeof header);
        pack_size_ = kPackHeaderSize;
        pack_entries_.clear();
    }

    // Writes the open pack's table, publishes a copy of it in unmerged/,
    // then publishes the pack create-only (caller holds mu_). In that order,
    // every pack is named by an unmerged table or the locator (load() relies
    // on it); a table whose pack never came (a store killed between the
    // two) only names chunks that are not there.
    void finish_pack() {
        if (!pack_writer_) return;
        std::sort(pack_entries_.begin(), pack_entries_.end());
        auto table = seal_table(pack_entries_, pack_, sealer_);
        unsigned char tail[kPackTailSize];
        put32(tail, static_cast<uint32_t>(pack_entries_.size()));
        put32(tail + 4, static_cast<uint32_t>(table.size()));
        std::memcpy(tail + 8, "ZPACKEND", 8);
        auto writer = std::move(pack_writer_);  // dropped unpublished if this fails
        writer->write(table.data(), table.size());
        writer->write(tail, sizeof tail);
        // A copy of the table in unmerged/, where every process finds it;
        // durable with the pack at sync().
        store_.save(table_key(pack_), table.data(), table.size());
        if (!writer->commit(true)) fail(kExitIo, pack_where(pack_) + " exists already (two packs drew one random name)");
        packs_seen_[pack_] = true;
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

    // The table of a pack file, read from its end; an error text when damaged.
    std::string read_pack_table(uint64_t pack, std::vector<Entry>& out, uint64_t& file_size) {
        out.clear();
        std::string path = pack_where(pack);
        auto reader = store_.open_reader(pack_key(pack));
        if (!reader) return errno_text(ENOENT);
        file_size = reader->size();
        if (file_size < kPackHeaderSize + kPackTailSize) return "it is truncated";
        unsigned char tail[kPackTailSize];
        read_exact(*reader, tail, sizeof tail, file_size - kPackTailSize, path);
        uint64_t sealed_length = get32(tail + 4);
        if (std::memcmp(tail + 8, "ZPACKEND", 8) != 0 || sealed_length + kPackHeaderSize + kPackTailSize > file_size)
            return "its tail is damaged";
        std::vector<unsigned char> sealed(sealed_length);
        read_exact(*reader, sealed.data(), sealed.size(), file_size - kPackTailSize - sealed_length, path);
        std::string error = open_table(sealed, pack, sealer_, out);
        if (!error.empty()) return error;
        uint64_t objects_end = file_size - kPackTailSize - sealed_length;
        for (const auto& e : out)
            if (e.at.offset < kPackHeaderSize || uint64_t{e.at.offset} + e.at.length > objects_end)
                return "its table points outside the pack";
        return "";
    }

    // A pack as gc and rebuild see it: its own table, or, when that does not
    // read (`damage` says why), the intact objects found by scanning it.
    struct PackView {
        uint64_t pack = 0, file_size = 0;
        std::vector<Entry> entries;
        std::string damage;
    };
    PackView view_pack(uint64_t pack);
    std::vector<Entry> scan_pack(uint64_t pack, const std::vector<unsigned char>& bytes) const;
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
    void write_damaged_list();
    void forget_unmerged_tables();

    ObjectStore& store_;
    std::string prefix_;  // "packs"
    const Sealer& sealer_;
    std::mutex mu_;
    bool loaded_ = false;
    std::shared_ptr<const Locator> locator_;
    std::unordered_map<ChunkId, Location, IdHash> recent_;  // unmerged tables and this process's pack
    std::set<Location> damaged_;                             // by pack and offset
    std::unordered_map<uint64_t, bool> packs_seen_;          // whether each pack file exists
    bool wrote_ = false;
    std::unique_ptr<ObjectWriter> pack_writer_;  // the pack this process is writing, if any
    uint64_t pack_ = 0, pack_size_ = 0;
    std::vector<Entry> pack_entries_;
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
    v.entries = scan_pack(pack, bytes);
    return v;
}

// Objects are self-describing: a header with the plain length and whether a
// zstd frame follows gives the object's length, and an object is taken only
// when its bytes hash to an id it is sealed for. Anything else is skipped
// up to the next object magic.
std::vector<Entry> PackChunkStore::scan_pack(uint64_t pack, const std::vector<unsigned char>& bytes) const {
    std::vector<Entry> found;
    const unsigned char* data = bytes.data();
    size_t pos = kPackHeaderSize;
    while (pos + 4 <= bytes.size()) {
        auto* hit = static_cast<const unsigned char*>(::memmem(data + pos, bytes.size() - pos, "ZOBJ", 4));
        if (!hit) break;
        pos = static_cast<size_t>(hit - data);
        size_t length = chunk_object_length(data + pos, bytes.size() - pos, sealer_);
        if (length && pos <= UINT32_MAX) {
            if (auto id = identify_chunk_object(data + pos, length, sealer_)) {
                found.push_back({*id, {pack, static_cast<uint32_t>(pos), static_cast<uint32_t>(length)}});
                pos += length;
                continue;
            }
        }
        ++pos;
    }
    std::sort(found.begin(), found.end());
    return found;
}

std::optional<Location> PackChunkStore::own_location(const ChunkId& id, uint64_t pack) {
    // The pack being written has its table still in memory.
    for (const auto& e : writing(pack) ? pack_entries_ : view_pack(pack).entries)
        if (e.id == id && !damaged_.count(e.at)) return e.at;
    return std::nullopt;
}

bool PackChunkStore::read_object(const Location& at, Bytes& out) {
    if (writing(at.pack)) {
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
    LocatorWriter out(store_, locator_key());
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
    return out.commit(publish);
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
    damaged_ = std::move(proven);
    if (!dry_run) write_damaged_list();
}

void PackChunkStore::write_damaged_list() {
    std::string text;
    for (const auto& at : damaged_) text += pack_name(at.pack) + " " + std::to_string(at.offset) + "\n";
    if (text.empty())
        store_.remove({damaged_key()});
    else
        store_.save(damaged_key(), text.data(), text.size());
    store_.sync();
}

void PackChunkStore::forget_unmerged_tables() {
    std::vector<std::string> keys;
    store_.list(prefix_ + "/unmerged/", [&](const ObjectInfo& o) { keys.push_back(o.key); });
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
    auto packs = list_packs();
    locator_ = rebuild_locator(packs, !dry_run, &r);
    if (!dry_run) forget_unmerged_tables();
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
    SweepReport r;
    auto packs = list_packs();
    std::vector<uint64_t> drop;
    struct Rewrite {
        uint64_t pack;
        std::vector<Entry> live;
        uint64_t file_size, dead = 0, dead_bytes = 0;
    };
    std::vector<Rewrite> rewrites, small;
    uint64_t dropped_bytes = 0;
    for (auto pack : packs) {
        std::vector<Entry> entries;
        uint64_t file_size = 0;
        if (!read_pack_table(pack, entries, file_size).empty()) {
            ++r.damaged_files;  // what it holds is not proven: never removed, never rewritten
            continue;
        }
        Rewrite w{pack, {}, file_size};
        uint64_t live_bytes = 0;
        for (const auto& e : entries) {
            if (!damaged_.count(e.at) && live(e.id)) {
                ++r.chunks_kept;
                r.bytes_kept += e.at.length;
                w.live.push_back(e);
                live_bytes += e.at.length;
            } else {
                ++w.dead;
                w.dead_bytes += e.at.length;
            }
        }
        if (w.live.empty()) {
            drop.push_back(pack);
            dropped_bytes += file_size;
            r.chunks_removed += w.dead;
            r.bytes_removed += w.dead_bytes;
        } else if (live_bytes * 4 < (file_size - kPackHeaderSize) * 3) {
            rewrites.push_back(std::move(w));  // a quarter or more is dead
        } else if (file_size < kPackTarget / 4) {
            small.push_back(std::move(w));
        } else {
            r.chunks_unused_kept += w.dead;
            r.bytes_unused_kept += w.dead_bytes;
        }
    }
    if (small.size() >= 2) {  // small packs (from small nightly changes) are combined
        for (auto& w : small) rewrites.push_back(std::move(w));
    } else {
        for (auto& w : small) {
            r.chunks_unused_kept += w.dead;
            r.bytes_unused_kept += w.dead_bytes;
        }
    }
    r.files_removed = drop.size() + rewrites.size();
    r.files_rewritten = rewrites.size();
    r.temporaries_removed = store_.remove_temporaries(prefix_, true);
    uint64_t rewritten_bytes = 0, copied_bytes = 0;
    for (const auto& w : rewrites) {
        r.chunks_removed += w.dead;
        r.bytes_removed += w.dead_bytes;
        rewritten_bytes += w.file_size;
        for (const auto& e : w.live) copied_bytes += e.at.length;
    }
    // What the new packs take: the live objects, a header, and a table per 16 MiB.
    uint64_t new_packs = rewrites.empty() ? 0 : copied_bytes / kPackTarget + 1;
    uint64_t written = copied_bytes + new_packs * (kPackHeaderSize + kPackTailSize);
    for (const auto& w : rewrites) written += w.live.size() * kEntrySize;
    r.bytes_freed = dropped_bytes + rewritten_bytes > written ? dropped_bytes + rewritten_bytes - written : 0;
    if (dry_run) return r;
    store_.remove_temporaries(prefix_, false);
    // Copy what lives in rewritten packs into new packs, make them durable,
    // then publish a locator without the old packs, and only then remove them.
    Bytes object;
    for (const auto& w : rewrites) {
        auto reader = open_pack(w.pack);
        if (!reader) fail(kExitIo, "open " + pack_where(w.pack) + ": " + errno_text(ENOENT));
        for (const auto& e : w.live) {
            read_at(*reader, e.at, object);
            if (object.size() != e.at.length) fail(kExitIo, pack_where(w.pack) + " changed while gc copied it");
            append(e.id, object.data(), object.size());
        }
    }
    finish_pack();
    store_.sync();
    std::set<uint64_t> gone(drop.begin(), drop.end());
    for (const auto& w : rewrites) gone.insert(w.pack);
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

}  // namespace

std::unique_ptr<ChunkStore> open_pack_chunk_store(ObjectStore& store, const std::string& prefix, const Sealer& sealer) {
    return std::make_unique<PackChunkStore>(store, prefix, sealer);
}

}  // namespace hci::repo
