#pragma once
// The locator of format version 2 (zadp-repo(5), "Packs"): every pack's
// table merged into one sorted array of entries with a fan-out of
// cumulative counts per two-byte id prefix, so that a lookup reads one
// bucket (about 48 bytes times the chunks / 65536) by a ranged read and the
// locator is never loaded whole:
//
//   "ZADPLOCA" u32 1 u32 0 u64 entries u64 XXH3(fan-out)
//   65536 x u32 cumulative counts, then the 48-byte entries
//
// It is only a cache of the packs' own tables: gc and repair rebuild it
// from them.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "libcommon/block/repo/pack.h"

namespace hci::repo::pack {

inline constexpr size_t kFanout = 65536;          // buckets, by the first two bytes of the id
inline constexpr size_t kLocatorHeaderSize = 32;  // "ZADPLOCA" u32 version u32 0 u64 entries u64 XXH3(fan-out)

inline size_t bucket_of(const ChunkId& id) { return (size_t{id[0]} << 8) | id[1]; }

class Locator {
public:
    static std::shared_ptr<const Locator> empty();
    // The locator under `key`; an empty one when there is none yet. Fails
    // (exit 6) when it is damaged.
    static std::shared_ptr<const Locator> open(ObjectStore& store, const std::string& key);
    static std::shared_ptr<const Locator> open(std::unique_ptr<ObjectReader> reader, const std::string& where);

    uint64_t size() const { return count_; }
    // False when there was no locator (a new repository: no merge or gc
    // yet, or it was lost).
    bool present() const { return reader_ != nullptr; }

    // Every entry of `id`, in location order.
    void find(const ChunkId& id, std::vector<Entry>& out) const;

    // Every entry in id order, read in large pieces.
    template <class F>
    void for_each(F visit) const {
        if (!reader_) return;
        constexpr uint64_t kBatch = 8192;
        std::vector<unsigned char> buf(kBatch * kEntrySize);
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
    void load(const std::string& where);

    std::shared_ptr<ObjectReader> reader_;  // one version: a merge meanwhile does not change it
    std::vector<uint64_t> fanout_;
    uint64_t count_ = 0;
};

// Writes a new locator from entries given in id order (an entry given twice
// is written once), published whole (replacing the one there) and made
// durable by commit().
class LocatorWriter {
public:
    LocatorWriter(ObjectStore& store, const std::string& key);
    LocatorWriter(const LocatorWriter&) = delete;
    LocatorWriter& operator=(const LocatorWriter&) = delete;

    void add(const Entry& e);
    // Publishes the new locator and opens it; with `publish` false (a dry
    // run) only opens what was written, for this process, and publishes
    // nothing. With `create_only` (a new generation on an object store) it
    // fails (exit 7) when the key exists: another gc or repair wrote it.
    std::shared_ptr<const Locator> commit(bool publish = true, bool create_only = false);

private:
    void flush();

    ObjectStore& store_;
    std::string key_;
    std::unique_ptr<ObjectWriter> out_;
    std::vector<uint32_t> counts_;
    std::vector<unsigned char> buf_;
    uint64_t count_ = 0;
    Entry last_;
    bool have_last_ = false;
};

}  // namespace hci::repo::pack
