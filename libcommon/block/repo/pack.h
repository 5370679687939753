#pragma once
// The pack format of format version 2 alone (zadp-repo(5), "Packs"; restic's
// pack/pack.go is the model): a pack is "ZADPPACK" u32 1 u32 0, chunk objects
// back to back, their table (48-byte entries sorted by id, sealed for the
// pack's name) and a 16-byte tail (u32 entries, u32 sealed table length,
// "ZPACKEND"). Nothing here knows where packs are kept or when they are
// written: that is pack_store.cpp's policy.
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/repo/format.h"

namespace hci::repo::pack {

inline constexpr uint64_t kPackTarget = 16u << 20;  // a pack is finished once it holds this much
inline constexpr size_t kEntrySize = 48;            // id[32] pack u64 offset u32 length u32
inline constexpr size_t kPackHeaderSize = 16;       // "ZADPPACK" u32 version u32 0
inline constexpr size_t kPackTailSize = 16;         // u32 entries u32 sealed table length "ZPACKEND"

// Where an object is: its pack (by number) and its bytes there.
struct Location {
    uint64_t pack = 0;
    uint32_t offset = 0, length = 0;
    bool operator<(const Location& o) const { return std::tie(pack, offset) < std::tie(o.pack, o.offset); }
};

// One entry of a pack's table (and of the locator).
struct Entry {
    ChunkId id{};
    Location at;
    bool operator<(const Entry& o) const { return id != o.id ? id < o.id : at < o.at; }
    bool operator==(const Entry& o) const { return id == o.id && at.pack == o.at.pack && at.offset == o.at.offset; }
};

struct IdHash {
    size_t operator()(const ChunkId& id) const;  // ids are uniformly random: their first bytes
};

void encode_entry(const Entry& e, unsigned char* p);
Entry decode_entry(const unsigned char* p);

// A pack's number as its name, 16 hex digits, and back.
std::string pack_name(uint64_t pack);
std::optional<uint64_t> pack_from_name(const std::string& hex);
// The key of pack `pack` under PREFIX: PREFIX/XX/<16 hex>.pack.
std::string pack_key(const std::string& prefix, uint64_t pack);
// The pack a table object in unmerged/ belongs to, from its name.
std::optional<uint64_t> pack_of_table(const std::string& name);

// The first bytes of every pack.
std::vector<unsigned char> pack_header();
// A pack's table: its entries sorted by id, sealed for this pack.
std::vector<unsigned char> seal_table(const std::vector<Entry>& entries, uint64_t pack, const Sealer& sealer);
// The tail that ends a pack after its sealed table.
std::vector<unsigned char> pack_tail(size_t entries, size_t sealed_table_length);
// The entries of a sealed table, or an error text.
std::string open_table(const std::vector<unsigned char>& sealed, uint64_t pack, const Sealer& sealer,
                       std::vector<Entry>& out);

// The table of a pack, read from its end; an error text when it is damaged
// (`where` names the pack in errors of reading).
std::string read_pack_table(ObjectReader& reader, uint64_t pack, const Sealer& sealer, std::vector<Entry>& out,
                            const std::string& where);

// The intact chunk objects of a pack whose table does not read, found by
// scanning its bytes: objects are self-describing, and one is taken only
// when its bytes hash to an id it is sealed for.
std::vector<Entry> scan_pack(uint64_t pack, const std::vector<unsigned char>& bytes, const Sealer& sealer);

// Exactly `length` bytes at `offset` of an object (exit 6 naming `what`
// when it is shorter).
void read_exact(ObjectReader& reader, void* buf, size_t length, uint64_t offset, const std::string& what);
// An object's bytes at `at`; fewer when the pack is short (the object's
// checks then say it is damaged).
void read_object(ObjectReader& reader, const Location& at, Bytes& out);

}  // namespace hci::repo::pack
