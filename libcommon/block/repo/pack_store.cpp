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
                                     "); zadp-repo gc rebuilds it from the packs");
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
    explicit LocatorWriter(const std::string& path) : file_(path), temp_(file_.temp_path()), fd_(file_.fd()) {
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

    void commit() {
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
        file_.replace();
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

    void remove(const ChunkId& id) override { set_aside(id); }
    std::string quarantine(const ChunkId& id) override { return set_aside(id); }

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

    void repair() override {
        std::lock_guard<std::mutex> g(mu_);
        load(true);
        if (!all_known_) return;
        rebuild_locator(list_packs(nullptr));
        for (const auto& name : list_dir(dir_ + "/unmerged"))
            if (pack_of_table(name)) ::unlink((dir_ + "/unmerged/" + name).c_str());
        loaded_ = all_known_ = false;
        recent_.clear();
        damaged_.clear();
        load();
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
    // the locator, so a table merged meanwhile is found in the locator.
    // gc loads `tolerant`: it rebuilds a damaged locator or table from the
    // packs' own tables, so it only notes that it cannot tell orphans.
    void load(bool tolerant = false) {
        if (loaded_) return;
        std::vector<Entry> entries;
        auto damaged = [&](const Error& e) {
            if (!tolerant || e.code() != kExitIntegrity) throw;
            all_known_ = true;
        };
        load_damaged();
        for (const auto& name : list_dir(dir_ + "/unmerged")) {
            auto pack = pack_of_table(name);
            if (!pack) continue;
            try {
                if (!read_table_file(*pack, entries)) continue;  // merged and removed meanwhile
            } catch (const Error& e) {
                damaged(e);
                continue;
            }
            for (const auto& e : entries)
                if (!damaged_.count(e.at)) recent_.emplace(e.id, e.at);
        }
        try {
            locator_ = Locator::open(dir_ + "/locator");
        } catch (const Error& e) {
            damaged(e);
            locator_ = Locator::empty();
        }
        loaded_ = true;
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
        if (!error.empty()) fail(kExitIntegrity, path + " is damaged: " + error + "; zadp-repo gc rebuilds it");
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

    // Writes the open pack's table, names the pack and publishes a copy of
    // its table in unmerged/ (caller holds mu_).
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
        std::string path = pack_path(pack_);
        if (::rename(pack_temp_.c_str(), path.c_str()) != 0) fail(kExitIo, "rename " + pack_temp_ + ": " + errno_text(errno));
        // made by the first store, under its umask like the packs
        if (::mkdir((dir_ + "/unmerged").c_str(), 0755) != 0 && errno != EEXIST)
            fail(kExitIo, "mkdir " + dir_ + "/unmerged: " + errno_text(errno));
        NewFile table_file(table_path(pack_));
        table_file.write(table.data(), table.size());
        table_file.replace(false);  // made durable with the pack by sync()
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
        out.commit();
        for (const auto& path : merged) ::unlink(path.c_str());
        locator_ = Locator::open(dir_ + "/locator");
        recent_.clear();
        for (const auto& e : pack_entries_) recent_.emplace(e.id, e.at);
    }

    // Lists the chunk's copy in packs/damaged; returns where that copy is.
    std::string set_aside(const ChunkId& id) {
        std::lock_guard<std::mutex> g(mu_);
        load();
        auto at = find(id);
        if (!at) return "";
        std::string line = pack_name(at->pack) + " " + std::to_string(at->offset) + " " + to_hex(id) + "\n";
        std::string path = dir_ + "/damaged";
        int fd = open_append(path);
        write_fd_all(fd, line.data(), line.size(), path);
        ::fsync(fd);
        ::close(fd);
        damaged_.insert({at->pack, at->offset, 0});
        return pack_path(at->pack) + " at " + std::to_string(at->offset) + " (listed in " + path + ")";
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

    std::vector<uint64_t> list_packs(std::vector<std::string>* temporaries) const;
    void rebuild_locator(const std::vector<uint64_t>& packs);

    std::string dir_;
    const Sealer& sealer_;
    std::mutex mu_;
    bool loaded_ = false;
    std::shared_ptr<const Locator> locator_;
    std::unordered_map<ChunkId, Location, IdHash> recent_;  // unmerged tables and this process's pack
    std::set<Location> damaged_;                             // by pack and offset
    std::unordered_map<uint64_t, bool> packs_seen_;          // whether each pack file exists
    bool wrote_ = false;
    bool all_known_ = false;  // the locator or a table was damaged: no pack counts as an orphan
    int pack_fd_ = -1;
    uint64_t pack_ = 0, pack_size_ = 0;
    std::string pack_temp_;
    std::vector<Entry> pack_entries_;
    std::mutex fds_mu_;
    std::map<uint64_t, std::shared_ptr<Fd>> fds_;
};

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

// A new locator from the tables of `packs`, sorted in passes over ranges of
// the fan-out so that at most kRebuildMemory of entries are held at once.
void PackChunkStore::rebuild_locator(const std::vector<uint64_t>& packs) {
    uint64_t total = 0;
    std::vector<Entry> one;
    uint64_t size = 0;
    for (auto pack : packs)
        if (read_pack_table(pack, one, size).empty()) total += one.size();
    size_t passes = std::max<size_t>(1, (total * sizeof(Entry) + kRebuildMemory - 1) / kRebuildMemory);
    LocatorWriter out(dir_ + "/locator");
    for (size_t pass = 0; pass < passes; ++pass) {
        size_t lo = kFanout * pass / passes, hi = kFanout * (pass + 1) / passes;
        std::vector<Entry> entries;
        for (auto pack : packs) {
            if (!read_pack_table(pack, one, size).empty()) continue;
            for (const auto& e : one)
                if (bucket_of(e.id) >= lo && bucket_of(e.id) < hi && !damaged_.count(e.at)) entries.push_back(e);
        }
        std::sort(entries.begin(), entries.end());
        for (const auto& e : entries) out.add(e);
    }
    out.commit();
}

ChunkStore::SweepReport PackChunkStore::sweep(const std::function<bool(const ChunkId&)>& live, bool dry_run) {
    std::lock_guard<std::mutex> g(mu_);
    load(true);
    SweepReport r;
    std::vector<std::string> temporaries;
    auto packs = list_packs(&temporaries);
    // A pack neither the locator nor an unmerged table knows was left by a
    // store or gc that died before publishing it: no index refers to it.
    std::set<uint64_t> known;
    locator_->for_each([&](const Entry& e) { known.insert(e.at.pack); });
    for (const auto& [id, at] : recent_) known.insert(at.pack);
    std::vector<uint64_t> keep, drop;
    struct Rewrite {
        uint64_t pack;
        std::vector<Entry> live;
    };
    std::vector<Rewrite> rewrites;
    uint64_t small_bytes = 0;
    std::vector<Rewrite> small;
    for (auto pack : packs) {
        std::vector<Entry> entries;
        uint64_t file_size = 0;
        bool readable = read_pack_table(pack, entries, file_size).empty();
        if (!all_known_ && !known.count(pack)) {
            drop.push_back(pack);  // an orphan, whatever it holds
            for (const auto& e : entries) {
                ++r.chunks_removed;
                r.bytes_removed += e.at.length;
            }
            continue;
        }
        if (!readable) {
            keep.push_back(pack);  // damaged: check reports it; gc does not guess what it held
            continue;
        }
        Rewrite w{pack, {}};
        uint64_t live_bytes = 0;
        for (const auto& e : entries) {
            bool alive = !damaged_.count(e.at) && live(e.id);
            (alive ? r.chunks_kept : r.chunks_removed)++;
            (alive ? r.bytes_kept : r.bytes_removed) += e.at.length;
            if (alive) {
                w.live.push_back(e);
                live_bytes += e.at.length;
            }
        }
        if (w.live.empty()) {
            drop.push_back(pack);
        } else if (live_bytes * 4 < (file_size - kPackHeaderSize) * 3) {
            rewrites.push_back(std::move(w));  // a quarter or more is dead
        } else if (file_size < kPackTarget / 4) {
            small_bytes += file_size;
            small.push_back(std::move(w));
        } else {
            keep.push_back(pack);
        }
    }
    if (small.size() >= 2) {  // small packs (from small nightly changes) are combined
        for (auto& w : small) rewrites.push_back(std::move(w));
    } else {
        for (auto& w : small) keep.push_back(w.pack);
    }
    r.files_removed = drop.size() + rewrites.size();
    r.files_rewritten = rewrites.size();
    r.temporaries_removed = temporaries.size();
    if (dry_run) return r;
    for (const auto& t : temporaries) ::unlink(t.c_str());
    // Copy what lives in rewritten packs into new packs, make them durable,
    // then publish a locator without the old packs, and only then remove them.
    std::vector<unsigned char> object;
    for (const auto& w : rewrites) {
        int fd = ::open(pack_path(w.pack).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail(kExitIo, "open " + pack_path(w.pack) + ": " + errno_text(errno));
        Fd guard(fd);
        for (const auto& e : w.live) {
            object.resize(e.at.length);
            pread_all(fd, object.data(), object.size(), e.at.offset, pack_path(w.pack));
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
    rebuild_locator(surviving);
    for (const auto& name : list_dir(dir_ + "/unmerged", true)) ::unlink((dir_ + "/unmerged/" + name).c_str());
    for (auto pack : gone) ::unlink(pack_path(pack).c_str());
    // Keep the damaged marks of packs that stay.
    std::string kept;
    std::set<Location> still;
    for (const auto& at : damaged_)
        if (!gone.count(at.pack)) {
            still.insert(at);
            kept += pack_name(at.pack) + " " + std::to_string(at.offset) + "\n";
        }
    damaged_ = std::move(still);
    if (kept.empty())
        ::unlink((dir_ + "/damaged").c_str());
    else
        write_file_atomic(dir_ + "/damaged", kept.data(), kept.size());
    locator_ = Locator::open(dir_ + "/locator");
    recent_.clear();
    packs_seen_.clear();
    return r;
}

}  // namespace

std::unique_ptr<ChunkStore> open_pack_chunk_store(const std::string& dir, const Sealer& sealer) {
    return std::make_unique<PackChunkStore>(dir, sealer);
}

}  // namespace hci::repo
