// The packing chunk store of format version 2 (zadp-repo(5), "Packs").
//
//   packs/XX/<16 hex>.pack     objects back to back, then their sealed table
//   packs/unmerged/<16 hex>.table   a copy of a new pack's table
//   packs/locator              every pack's table merged, sorted by chunk id
//   packs/damaged              chunks check --read-data set aside
//
// A writer appends the objects its workers encoded to its own pack, so
// concurrent writers never share a file. A finished pack is renamed into
// place and its table copied to packs/unmerged/, where every process finds
// it. The locator (a sorted array with a 64Ki-entry fan-out, looked up with
// pread, never loaded whole) keeps memory bounded whatever the repository's
// size: a process holds only the unmerged tables, and merges them into a
// new locator once there are many.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
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
#include "libcommon/block/repo/repository.h"
#include "libcommon/block/stream_io.h"

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

void pread_all(int fd, void* buf, size_t length, uint64_t offset, const std::string& what) {
    auto* p = static_cast<unsigned char*>(buf);
    while (length > 0) {
        ssize_t n = ::pread(fd, p, length, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(kExitIo, "read " + what + ": " + errno_text(errno));
        if (n == 0) fail(kExitIntegrity, what + " is truncated");
        p += n;
        length -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
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
    static std::shared_ptr<const Locator> open(const std::string& path) {
        auto l = std::const_pointer_cast<Locator>(empty());
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return l;
            fail(kExitIo, "open " + path + ": " + errno_text(errno));
        }
        l->fd_ = std::make_shared<Fd>(fd);
        l->load(path);
        return l;
    }

    uint64_t size() const { return count_; }
    // False when there was no locator file (a new repository: no merge or
    // gc yet, or the file was lost).
    bool present() const { return fd_ != nullptr; }

    // Every entry of `id`, in location order.
    void find(const ChunkId& id, std::vector<Entry>& out) const {
        out.clear();
        if (!fd_) return;
        size_t b = bucket_of(id);
        uint64_t begin = b == 0 ? 0 : fanout_[b - 1], end = fanout_[b];
        if (begin == end) return;
        thread_local std::vector<unsigned char> buf;
        buf.resize((end - begin) * kEntrySize);
        pread_all(fd_->get(), buf.data(), buf.size(), entries_offset() + begin * kEntrySize, "the pack locator");
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
        if (!fd_) return;
        constexpr uint64_t kBatch = 8192;
        std::vector<unsigned char> buf;
        for (uint64_t i = 0; i < count_; i += kBatch) {
            uint64_t n = std::min(kBatch, count_ - i);
            buf.resize(n * kEntrySize);
            pread_all(fd_->get(), buf.data(), buf.size(), entries_offset() + i * kEntrySize, "the pack locator");
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
        struct stat st {};
        ::fstat(fd_->get(), &st);
        if (static_cast<uint64_t>(st.st_size) < entries_offset()) damaged("too short");
        pread_all(fd_->get(), header, sizeof header, 0, path);
        if (std::memcmp(header, "ZADPLOCA", 8) != 0 || get32(header + 8) != 1) damaged("bad header");
        count_ = get64(header + 16);
        std::vector<unsigned char> fan(kFanout * 4);
        pread_all(fd_->get(), fan.data(), fan.size(), kLocatorHeaderSize, path);
        if (XXH3_64bits(fan.data(), fan.size()) != get64(header + 24)) damaged("bad fan-out checksum");
        if (static_cast<uint64_t>(st.st_size) != entries_offset() + count_ * kEntrySize) damaged("wrong length");
        for (size_t b = 0; b < kFanout; ++b) {
            fanout_[b] = get32(fan.data() + b * 4);
            if ((b > 0 && fanout_[b] < fanout_[b - 1]) || fanout_[b] > count_) damaged("bad fan-out");
        }
        if (fanout_.back() != count_) damaged("bad fan-out");
    }

    std::shared_ptr<Fd> fd_;
    std::vector<uint64_t> fanout_;
    uint64_t count_ = 0;
};

// Writes a new locator from entries given in id order: temporary name,
// fsync, rename, fsync of the directory.
class LocatorWriter {
public:
    explicit LocatorWriter(const std::string& path)
        : file_(path), temp_(file_.temp_path()), fd_(file_.fd()), path_(path) {
        counts_.assign(kFanout, 0);
        offset_ = kLocatorHeaderSize + kFanout * 4;
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
        write_at(head.data(), head.size(), 0);
        if (!publish) return Locator::open(temp_);  // file_ removes the file; the descriptor stays
        file_.replace();
        return Locator::open(path_);
    }

private:
    void flush() {
        write_at(buf_.data(), buf_.size(), offset_);
        offset_ += buf_.size();
        buf_.clear();
    }
    void write_at(const unsigned char* p, size_t n, uint64_t offset) {
        while (n > 0) {
            ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) fail(kExitIo, "write " + temp_ + ": " + errno_text(errno));
            p += w;
            n -= static_cast<size_t>(w);
            offset += static_cast<uint64_t>(w);
        }
    }

    NewFile file_;  // at an unpredictable name: a planted link is never followed
    std::string temp_;
    int fd_;
    std::string path_;
    std::vector<uint32_t> counts_;
    std::vector<unsigned char> buf_;
    uint64_t offset_ = 0, count_ = 0;
    Entry last_;
    bool have_last_ = false;
};

// ---- the store ----

class PackChunkStore : public ChunkStore {
public:
    PackChunkStore(std::string dir, const Sealer& sealer) : dir_(std::move(dir)), sealer_(sealer) {}

    ~PackChunkStore() override {
        if (pack_fd_ >= 0) {  // a store that failed: its unfinished pack is garbage
            ::close(pack_fd_);
            ::unlink(pack_temp_.c_str());
        }
    }

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
        std::shared_ptr<Fd> fd;
        {
            std::lock_guard<std::mutex> g(mu_);
            load();
            at = find(id);
            if (at && at->pack == pack_ && pack_fd_ >= 0) {  // in the pack this process is writing
                read_at(pack_fd_, *at, out, pack_temp_);
                return true;
            }
        }
        if (!at || !(fd = open_pack(at->pack))) return false;
        read_at(fd->get(), *at, out, pack_path(at->pack));
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
        sync_file_system(dir_);
        if (wrote_ && list_dir(dir_ + "/unmerged").size() > kMergeTables) try_merge();
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
        return Place{pack_path(at->pack), at->offset, at->length};
    }

    SweepReport sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) override;

    RebuildReport rebuild(bool dry_run, bool rewrite_damaged) override;

    std::vector<DamagedFile> damaged_files() override {
        std::vector<DamagedFile> damaged;
        std::vector<Entry> entries;
        for (auto pack : list_packs(nullptr)) {
            uint64_t size = 0;
            std::string error = read_pack_table(pack, entries, size);
            if (!error.empty()) damaged.push_back({pack_path(pack), error});
        }
        return damaged;
    }

private:
    static void read_at(int fd, const Location& at, Bytes& out, const std::string& what) {
        out.reset(at.length);
        ssize_t n;
        do n = ::pread(fd, out.data(), at.length, at.offset);
        while (n < 0 && errno == EINTR);
        if (n < 0) fail(kExitIo, "read " + what + ": " + errno_text(errno));
        out.shrink(static_cast<size_t>(n));  // short: the object's checks will say it is damaged
    }

    std::string pack_path(uint64_t pack) const {
        std::string hex = pack_name(pack);
        return dir_ + "/" + hex.substr(0, 2) + "/" + hex + ".pack";
    }
    std::string table_path(uint64_t pack) const { return dir_ + "/unmerged/" + pack_name(pack) + ".table"; }

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
        for (const auto& name : list_dir(dir_ + "/unmerged")) {
            auto pack = pack_of_table(name);
            if (!pack) continue;
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
            locator_ = Locator::open(dir_ + "/locator");
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
        for (auto pack : list_packs(nullptr)) {
            if (tabled.count(pack)) continue;
            ++untabled;
            uint64_t size = 0;
            if (!read_pack_table(pack, entries, size).empty()) continue;  // rebuild() scans it
            for (const auto& e : entries)
                if (!damaged_.count(e.at)) recent_.emplace(e.id, e.at);
            if (recent_.size() > 4 * kMergeEntries)
                fail(kExitIntegrity, "the pack locator " + dir_ + "/locator is missing or damaged, and the packs "
                                     "are too many to read their tables instead; zadp-repo repair rebuilds it");
        }
        if (untabled)
            log_warning("the pack locator " + dir_ + "/locator is missing or damaged: read the tables of " +
                        std::to_string(untabled) + " packs instead (zadp-repo repair rebuilds it)");
    }

    bool read_table_file(uint64_t pack, std::vector<Entry>& out) {
        std::string path = table_path(pack);
        std::string text;
        try {
            text = read_small_file(path, 1u << 30);
        } catch (const Error& e) {
            if (e.code() == kExitNotFound) return false;
            throw;
        }
        std::string error = open_table(std::vector<unsigned char>(text.begin(), text.end()), pack, sealer_, out);
        if (!error.empty()) fail(kExitIntegrity, path + " is damaged: " + error + "; zadp-repo repair rebuilds it");
        return true;
    }

    void load_damaged() {
        std::string text;
        try {
            text = read_small_file(dir_ + "/damaged", 1u << 26);
        } catch (const Error& e) {
            if (e.code() == kExitNotFound) return;
            throw;
        }
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
        if (pack == pack_ && pack_fd_ >= 0) return true;  // the one being written
        auto [it, added] = packs_seen_.emplace(pack, false);
        if (added) {
            struct stat st {};
            it->second = ::stat(pack_path(pack).c_str(), &st) == 0;
        }
        return it->second;
    }

    std::shared_ptr<Fd> open_pack(uint64_t pack) {
        std::lock_guard<std::mutex> g(fds_mu_);
        if (auto it = fds_.find(pack); it != fds_.end()) return it->second;
        std::string path = pack_path(pack);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return nullptr;
            fail(kExitIo, "open " + path + ": " + errno_text(errno));
        }
        if (fds_.size() >= 64) fds_.erase(fds_.begin());  // readers still using it keep it open
        return fds_[pack] = std::make_shared<Fd>(fd);
    }

    // Appends an object to this process's open pack (caller holds mu_).
    void append(const ChunkId& id, const unsigned char* object, size_t length) {
        if (pack_fd_ < 0) start_pack();
        write_fd_all(pack_fd_, object, length, pack_temp_);
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
        pack_ = get64(b);
        std::string hex = pack_name(pack_);
        std::string sub = dir_ + "/" + hex.substr(0, 2);
        pack_temp_ = sub + "/.tmp." + hex + ".pack";  // hex is random: no one can predict it
        pack_fd_ = create_file_in(sub, ".tmp." + hex + ".pack", O_RDWR, 0644);
        if (pack_fd_ < 0 && errno == ENOENT) {
            if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) fail(kExitIo, "mkdir " + sub + ": " + errno_text(errno));
            pack_fd_ = create_file_in(sub, ".tmp." + hex + ".pack", O_RDWR, 0644);
        }
        if (pack_fd_ < 0) fail(kExitIo, "create " + pack_temp_ + ": " + errno_text(errno));
        unsigned char header[kPackHeaderSize] = {};
        std::memcpy(header, "ZADPPACK", 8);
        put32(header + 8, 1);
        write_fd_all(pack_fd_, header, sizeof header, pack_temp_);
        pack_size_ = kPackHeaderSize;
        pack_entries_.clear();
    }

    // Writes the open pack's table, publishes a copy of it in unmerged/,
    // then names the pack (caller holds mu_). In that order, every pack file
    // is named by an unmerged table or the locator (load() relies on it); a
    // table whose pack never came (a store killed between the two) only
    // names chunks that are not there.
    void finish_pack() {
        if (pack_fd_ < 0) return;
        std::sort(pack_entries_.begin(), pack_entries_.end());
        auto table = seal_table(pack_entries_, pack_, sealer_);
        unsigned char tail[kPackTailSize];
        put32(tail, static_cast<uint32_t>(pack_entries_.size()));
        put32(tail + 4, static_cast<uint32_t>(table.size()));
        std::memcpy(tail + 8, "ZPACKEND", 8);
        write_fd_all(pack_fd_, table.data(), table.size(), pack_temp_);
        write_fd_all(pack_fd_, tail, sizeof tail, pack_temp_);
        if (::close(pack_fd_) != 0) {
            pack_fd_ = -1;
            fail(kExitIo, "write " + pack_temp_ + ": " + errno_text(errno));
        }
        pack_fd_ = -1;
        publish_table(table);
        std::string path = pack_path(pack_);
        if (::rename(pack_temp_.c_str(), path.c_str()) != 0) fail(kExitIo, "rename " + pack_temp_ + ": " + errno_text(errno));
        packs_seen_[pack_] = true;
        pack_entries_.clear();
    }

    // A copy of the open pack's table in unmerged/, where every process finds it.
    void publish_table(const std::vector<unsigned char>& table) {
        // made by the first store, under its umask like the packs
        if (::mkdir((dir_ + "/unmerged").c_str(), 0755) != 0 && errno != EEXIST)
            fail(kExitIo, "mkdir " + dir_ + "/unmerged: " + errno_text(errno));
        NewFile table_file(table_path(pack_));
        table_file.write(table.data(), table.size());
        table_file.replace(false);  // made durable with the pack by sync()
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
    // tables. Under packs/locator.lock, so two merges never lose each
    // other's tables; readers keep the locator they opened (caller holds mu_).
    void merge_tables() {
        Repository::Lock lock(dir_ + "/locator.lock", true);
        std::vector<Entry> entries, one;
        std::vector<std::string> merged;
        for (const auto& name : list_dir(dir_ + "/unmerged")) {
            auto pack = pack_of_table(name);
            if (!pack || !read_table_file(*pack, one)) continue;
            entries.insert(entries.end(), one.begin(), one.end());
            merged.push_back(table_path(*pack));
        }
        std::sort(entries.begin(), entries.end());
        auto current = Locator::open(dir_ + "/locator");
        LocatorWriter out(dir_ + "/locator");
        size_t next = 0;
        current->for_each([&](const Entry& e) {
            for (; next < entries.size() && entries[next] < e; ++next) out.add(entries[next]);
            out.add(e);
        });
        for (; next < entries.size(); ++next) out.add(entries[next]);
        locator_ = out.commit();
        for (const auto& path : merged) ::unlink(path.c_str());
        recent_.clear();
        for (const auto& e : pack_entries_) recent_.emplace(e.id, e.at);
    }

    // Lists a copy of a chunk in packs/damaged, so that no process finds it
    // again; returns where that copy is (caller holds mu_).
    std::string set_aside(const ChunkId& id, const Location& at) {
        std::string line = pack_name(at.pack) + " " + std::to_string(at.offset) + " " + to_hex(id) + "\n";
        std::string path = dir_ + "/damaged";
        int fd = open_append(path);
        write_fd_all(fd, line.data(), line.size(), path);
        ::fsync(fd);
        ::close(fd);
        damaged_.insert({at.pack, at.offset, 0});
        return pack_path(at.pack) + " at " + std::to_string(at.offset) + " (listed in " + path + ")";
    }

    // The table of a pack file, read from its end; an error text when damaged.
    std::string read_pack_table(uint64_t pack, std::vector<Entry>& out, uint64_t& file_size) {
        out.clear();
        std::string path = pack_path(pack);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return errno_text(errno);
        Fd guard(fd);
        struct stat st {};
        ::fstat(fd, &st);
        file_size = static_cast<uint64_t>(st.st_size);
        if (file_size < kPackHeaderSize + kPackTailSize) return "it is truncated";
        unsigned char tail[kPackTailSize];
        pread_all(fd, tail, sizeof tail, file_size - kPackTailSize, path);
        uint64_t sealed_length = get32(tail + 4);
        if (std::memcmp(tail + 8, "ZPACKEND", 8) != 0 || sealed_length + kPackHeaderSize + kPackTailSize > file_size)
            return "its tail is damaged";
        std::vector<unsigned char> sealed(sealed_length);
        pread_all(fd, sealed.data(), sealed.size(), file_size - kPackTailSize - sealed_length, path);
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

    std::vector<uint64_t> list_packs(std::vector<std::string>* temporaries) const;
    std::shared_ptr<const Locator> rebuild_locator(const std::vector<uint64_t>& packs, bool publish,
                                                   RebuildReport* report);
    void move_to_lost_and_found(uint64_t pack, RebuildReport& report);
    void revalidate_damaged(bool dry_run);
    void write_damaged_list();
    void forget_unmerged_tables();

    std::string dir_;
    const Sealer& sealer_;
    std::mutex mu_;
    bool loaded_ = false;
    std::shared_ptr<const Locator> locator_;
    std::unordered_map<ChunkId, Location, IdHash> recent_;  // unmerged tables and this process's pack
    std::set<Location> damaged_;                             // by pack and offset
    std::unordered_map<uint64_t, bool> packs_seen_;          // whether each pack file exists
    bool wrote_ = false;
    int pack_fd_ = -1;
    uint64_t pack_ = 0, pack_size_ = 0;
    std::string pack_temp_;
    std::vector<Entry> pack_entries_;
    std::mutex fds_mu_;
    std::map<uint64_t, std::shared_ptr<Fd>> fds_;
};

PackChunkStore::PackView PackChunkStore::view_pack(uint64_t pack) {
    PackView v;
    v.pack = pack;
    v.damage = read_pack_table(pack, v.entries, v.file_size);
    if (v.damage.empty()) return v;
    std::string path = pack_path(pack);
    std::vector<unsigned char> bytes;
    try {
        std::string text = read_small_file(path, 1u << 30);
        bytes.assign(text.begin(), text.end());
    } catch (const Error& e) {
        if (e.code() != kExitIntegrity && e.code() != kExitNotFound) throw;
    }
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
    bool writing = pack == pack_ && pack_fd_ >= 0;  // its table is still in memory
    for (const auto& e : writing ? pack_entries_ : view_pack(pack).entries)
        if (e.id == id && !damaged_.count(e.at)) return e.at;
    return std::nullopt;
}

bool PackChunkStore::read_object(const Location& at, Bytes& out) {
    if (at.pack == pack_ && pack_fd_ >= 0) {
        read_at(pack_fd_, at, out, pack_temp_);
        return true;
    }
    auto fd = open_pack(at.pack);
    if (fd) read_at(fd->get(), at, out, pack_path(at.pack));
    return fd != nullptr;
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
            log_warning("chunk " + to_hex(id) + " was read from " + pack_path(c.pack) + " at " +
                        std::to_string(c.offset) + ": the locator's copy did not verify (zadp-repo check "
                        "--read-data sets damaged copies aside; zadp-repo repair rebuilds the locator)");
            return true;
        }
    }
    return false;
}

std::vector<uint64_t> PackChunkStore::list_packs(std::vector<std::string>* temporaries) const {
    std::vector<uint64_t> packs;
    for (const auto& sub : list_dir(dir_, true)) {
        if (sub.size() != 2) continue;
        for (const auto& name : list_dir(dir_ + "/" + sub, true)) {
            if (name.rfind(".tmp.", 0) == 0) {
                if (temporaries) temporaries->push_back(dir_ + "/" + sub + "/" + name);
                continue;
            }
            if (!name.ends_with(".pack")) continue;
            if (auto pack = pack_from_name(name.substr(0, name.size() - 5))) packs.push_back(*pack);
        }
    }
    for (const auto& name : list_dir(dir_ + "/unmerged", true))
        if (name.rfind(".tmp.", 0) == 0 && temporaries) temporaries->push_back(dir_ + "/unmerged/" + name);
    for (const auto& name : list_dir(dir_, true))  // a locator or damaged list being written
        if (name.rfind(".tmp.", 0) == 0 && temporaries) temporaries->push_back(dir_ + "/" + name);
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
            report->damage.push_back(pack_path(pack) + ": " + v.damage + "; " + std::to_string(v.entries.size()) +
                                     " intact objects found in it by scanning");
        }
        scanned[pack] = std::move(v.entries);
    }
    if (report) report->files += packs.size();
    size_t passes = std::max<size_t>(1, (total * sizeof(Entry) + kRebuildMemory - 1) / kRebuildMemory);
    LocatorWriter out(dir_ + "/locator");
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
        log_warning("packs/damaged named an intact copy of chunk " + to_hex(e->id) + " in " + pack_path(at.pack) +
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
        ::unlink((dir_ + "/damaged").c_str());
    else
        write_file_atomic(dir_ + "/damaged", text.data(), text.size());
}

void PackChunkStore::forget_unmerged_tables() {
    for (const auto& name : list_dir(dir_ + "/unmerged", true)) ::unlink((dir_ + "/unmerged/" + name).c_str());
}

void PackChunkStore::move_to_lost_and_found(uint64_t pack, RebuildReport& report) {
    std::string dir = dir_ + "/lost+found", to = dir + "/" + pack_name(pack) + ".pack";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail(kExitIo, "mkdir " + dir + ": " + errno_text(errno));
    if (::rename(pack_path(pack).c_str(), to.c_str()) != 0)
        fail(kExitIo, "rename " + pack_path(pack) + ": " + errno_text(errno));
    report.set_aside.push_back(to);
}

ChunkStore::RebuildReport PackChunkStore::rebuild(bool dry_run, bool rewrite_damaged) {
    std::lock_guard<std::mutex> g(mu_);
    RebuildReport r;
    damaged_.clear();
    load_damaged();
    revalidate_damaged(dry_run);
    auto packs = list_packs(nullptr);
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
        auto fd = open_pack(pack);
        if (!fd) continue;
        Bytes object;
        for (const auto& e : v.entries) {
            if (damaged_.count(e.at)) continue;
            read_at(fd->get(), e.at, object, pack_path(pack));
            append(e.id, object.data(), object.size());
        }
    }
    finish_pack();
    sync_file_system(dir_);
    intact = list_packs(nullptr);
    std::erase_if(intact, [&](uint64_t p) { return std::find(damaged.begin(), damaged.end(), p) != damaged.end(); });
    RebuildReport after;
    locator_ = rebuild_locator(intact, true, &after);
    forget_unmerged_tables();
    for (auto pack : damaged) move_to_lost_and_found(pack, r);
    r.files_rewritten = damaged.size();
    recent_.clear();
    packs_seen_.clear();
    fds_.clear();
    return r;
}

ChunkStore::SweepReport PackChunkStore::sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) {
    std::lock_guard<std::mutex> g(mu_);
    load();
    SweepReport r;
    std::vector<std::string> temporaries;
    auto packs = list_packs(&temporaries);
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
    r.temporaries_removed = temporaries.size();
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
    for (const auto& t : temporaries) ::unlink(t.c_str());
    // Copy what lives in rewritten packs into new packs, make them durable,
    // then publish a locator without the old packs, and only then remove them.
    Bytes object;
    for (const auto& w : rewrites) {
        auto fd = open_pack(w.pack);
        if (!fd) fail(kExitIo, "open " + pack_path(w.pack) + ": " + errno_text(ENOENT));
        for (const auto& e : w.live) {
            read_at(fd->get(), e.at, object, pack_path(w.pack));
            if (object.size() != e.at.length) fail(kExitIo, pack_path(w.pack) + " changed while gc copied it");
            append(e.id, object.data(), object.size());
        }
    }
    finish_pack();
    sync_file_system(dir_);
    std::set<uint64_t> gone(drop.begin(), drop.end());
    for (const auto& w : rewrites) gone.insert(w.pack);
    std::vector<uint64_t> surviving;
    for (auto pack : list_packs(nullptr))
        if (!gone.count(pack)) surviving.push_back(pack);
    locator_ = rebuild_locator(surviving, true, nullptr);
    forget_unmerged_tables();
    {
        std::lock_guard<std::mutex> f(fds_mu_);
        fds_.clear();
    }
    for (auto pack : gone) ::unlink(pack_path(pack).c_str());
    // Keep the damaged marks of packs that stay.
    std::erase_if(damaged_, [&](const Location& at) { return gone.count(at.pack) > 0; });
    write_damaged_list();
    recent_.clear();
    packs_seen_.clear();
    return r;
}

}  // namespace

std::unique_ptr<ChunkStore> open_pack_chunk_store(const std::string& dir, const Sealer& sealer) {
    return std::make_unique<PackChunkStore>(dir, sealer);
}

}  // namespace hci::repo
