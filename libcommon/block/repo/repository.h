#pragma once
// A deduplicating repository of block-device images (zadp-repo(5)): objects
// in an ObjectStore (a directory today; backend/object_store.h), a
// versioned config, chunk objects in a ChunkStore (packs since version 2),
// and under backups/GROUP/TIME/ one fixed index per image (FILE.fidx) and
// small files as blobs (FILE.blob). Nothing here uses a path.
//
// Concurrency with garbage collection is a lock protocol on the store's
// lock "lock": every store and every read holds it shared for its whole
// run; on a directory gc holds it exclusive, so it never runs beside a
// writer or reader and every chunk no index references is garbage (chunks
// of interrupted stores included). On a store whose locks are leases (S3)
// gc holds it shared and condemns before it deletes (condemned.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/block/repo/chunk_store.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/repo/format.h"
#include "libcommon/base/utc_time.h"

namespace hci::repo {

// Version 2 packs chunks (open_pack_chunk_store); version 1, one file per
// chunk, is still read and written.
inline constexpr uint32_t kRepoVersion = 2;
inline constexpr uint32_t kOldestRepoVersion = 1;
inline constexpr uint32_t kDefaultChunkSize = 256u << 10;  // growth <= 8x per 64 KiB change: bench/RESULTS.md
inline constexpr uint32_t kMinChunkSize = 64u << 10;
inline constexpr uint32_t kMaxChunkSize = 4u << 20;

struct Config {
    uint32_t version = kRepoVersion;
    uint32_t chunk_size = kDefaultChunkSize;
    bool encrypted = false;
    std::string key_fingerprint;  // encrypted only
    std::string id;               // random, names this repository
    std::string created;
    int zstd_level = 1;
    // Made with init --unsafe-single-writer on a store whose create-only
    // writes are not (zadp-repo(5), "Object storage"): nothing keeps two
    // writers apart, so every writer warns that only one may write.
    bool single_writer = false;
};

// Where the key of an encrypted repository comes from: a key file, or a
// passphrase (from a file or the environment, never argv) that unwraps the
// key stored in the repository.
struct KeySource {
    std::string key_file;
    std::string passphrase;
    bool has_passphrase = false;
    // From what the command line resolved (option, else environment):
    // --key-file / ZADP_REPO_KEY_FILE, then --passphrase-file /
    // ZADP_REPO_PASSPHRASE_FILE, else the passphrase ZADP_REPO_PASSPHRASE.
    static KeySource from(const std::string& key_file, const std::string& passphrase_file,
                          const std::optional<std::string>& passphrase);
};

// The repository directory --repo or ZADP_REPO named (usage error if empty).
std::string repo_dir_from(const std::string& option_or_env);

// The first line of a passphrase file; a file that cannot be read is a
// usage error (exit 2) naming `option` and the file.
std::string read_passphrase_file(const std::string& path, const std::string& option);

// What a command does to the repository. Writing is refused (exit 2) while
// group or others may write the directory (a link planted there would be
// followed by whoever writes next), unless `allow_shared_dir`.
enum class Access { kRead, kWrite };
// --allow-shared-dir, else ZADP_REPO_ALLOW_SHARED_DIR=1.
bool allow_shared_dir_from(bool option);
// Fails (exit 2) when group or others may write DIR or its packs, chunks or
// backups directory, naming it and the remedy.
void refuse_shared_dir(const std::string& dir);

// GROUP/TIME/FILE, each part [A-Za-z0-9_][A-Za-z0-9._:+@-]*; usage error otherwise.
void validate_name(const std::string& name);
// A prefix for ls/rm/check: "", GROUP, GROUP/TIME or GROUP/TIME/FILE.
void validate_prefix(const std::string& prefix);

class Repository {
public:
    // Creates a repository in `dir` (empty or absent). With `encrypt`, a key
    // file (created when absent) or a passphrase from `keys` is required.
    // A key (file or passphrase) without `encrypt` is a usage error: the
    // repository would not be encrypted.
    // First it checks that the store keeps create-only writes create-only
    // (a second create() of one key fails): commits and leases rest on it.
    // A store that does not is refused (exit 3, naming it) unless
    // `single_writer`: the repository is then made anyway, marked so in its
    // config, and every writer warns that only one host may write to it.
    static Config init(const std::string& dir, uint32_t chunk_size, bool encrypt, const KeySource& keys,
                       uint32_t version = kRepoVersion, bool allow_shared_dir = false, bool single_writer = false);
    // The same in any store (which must hold no config yet).
    static Config init(ObjectStore& store, uint32_t chunk_size, bool encrypt, const KeySource& keys,
                       uint32_t version = kRepoVersion, bool single_writer = false);
    // Opens an existing repository; refuses an unknown format version (exit
    // 6), a missing or wrong key (exit 2) and, for kWrite, a directory
    // others may write (see Access). A key given for an unencrypted
    // repository is ignored with a warning.
    static std::unique_ptr<Repository> open(const std::string& dir, const KeySource& keys,
                                            Access access = Access::kRead, bool allow_shared_dir = false);
    // The same on any store; `where` names it in messages.
    static std::unique_ptr<Repository> open(std::unique_ptr<ObjectStore> store, const std::string& where,
                                            const KeySource& keys);

    // Where the repository is, for messages and reports (its directory).
    const std::string& dir() const { return dir_; }
    ObjectStore& store() { return *store_; }
    const Config& config() const { return config_; }
    const Sealer& sealer() const { return sealer_; }
    const MasterKey* key() const { return key_ ? &*key_ : nullptr; }
    ChunkStore& chunks() { return *chunks_; }

    // The keys of an image's index and of a blob.
    static std::string index_key(const std::string& name) { return "backups/" + name + ".fidx"; }
    static std::string blob_key(const std::string& name) { return "backups/" + name + ".blob"; }

    // The repository lock "lock" of the store, held until destroyed (on a
    // directory: flock on DIR/lock, created 0600, never followed as a link,
    // locked through a read-only descriptor on a read-only mount).
    using Lock = StoreLock;
    std::unique_ptr<Lock> lock_shared() const { return store_->lock(kLockKey, false, true); }
    std::unique_ptr<Lock> lock_exclusive() const { return store_->lock(kLockKey, true, true); }
    // The exclusive lock if no store, read, gc or backup run holds the lock
    // on any host now; nullptr otherwise (never waits).
    std::unique_ptr<Lock> lock_exclusive_if_free() const { return store_->lock(kLockKey, true, false); }

    // Replaces the passphrase-wrapped key (zadp-repo key passwd).
    void save_wrapped_key(const std::string& wrapped);

    // Stores a chunk (compressed, sealed) unless the repository holds it;
    // returns the bytes written, 0 when it was there. `object` is scratch
    // memory the caller keeps for the next chunk.
    uint64_t store_chunk(const ChunkId& id, const void* data, size_t length, Bytes& object);
    // Reads a chunk and checks it (checksum or tag, decompression, and that
    // its bytes hash to its id). Returns an error text, or "" and the bytes
    // in `plain`, a view into `file` or `scratch` (see decode_object).
    // A copy that does not verify is replaced by another intact copy, if the
    // store has one, unless `other_copies` is false (check --read-data
    // judges each copy the store finds first).
    std::string load_chunk(const ChunkId& id, Bytes& file, Bytes& scratch, PlainView& plain, bool other_copies = true);
    std::string load_chunk(const ChunkId& id, std::vector<unsigned char>& data);
    // The same without hashing the bytes: the seal and decompression are
    // checked, the id is not. Only for a reader that checks the digest of
    // the whole image before it lets the end out (ImageReader's end-to-end
    // mode); hashing is most of what a read costs.
    std::string load_chunk_unhashed(const ChunkId& id, Bytes& file, Bytes& scratch, PlainView& plain,
                                    bool other_copies = true);
    // Checks a chunk's object already read into `file` (by a coalesced read,
    // image.h) as load_chunk does, hashing it to its id when `hash`; "" when
    // it verifies. The caller loads it again with load_chunk otherwise,
    // which looks for another copy and names what is wrong.
    std::string check_chunk(const ChunkId& id, Bytes& file, Bytes& scratch, PlainView& plain, bool hash);

    void put_blob(const std::string& name, const std::vector<unsigned char>& data);
    std::vector<unsigned char> get_blob(const std::string& name);

    struct Item {
        std::string name;  // GROUP/TIME/FILE
        bool image = true;  // else a blob
        std::string key;    // its object: index_key(name) or blob_key(name)
    };
    // Images and blobs under a prefix, sorted by name.
    std::vector<Item> list(const std::string& prefix) const;

    // Refuses to let one GROUP hold backups of two VMs: records the first VM
    // id stored in a group (create-only, so of two first stores racing one
    // wins) and fails (exit 2) on another.
    void claim_group(const std::string& group, const std::string& vm_id);
    // Whether GROUP exists: holds an object or a claim (on a directory, as
    // ever, whether backups/GROUP is a directory).
    bool has_group(const std::string& group);

    static constexpr const char* kLockKey = "lock";

private:
    Repository(std::unique_ptr<ObjectStore> store, std::string dir, std::string local_dir, Config config,
               std::optional<MasterKey> key);
    std::unique_ptr<ObjectStore> store_;
    std::string dir_;
    std::string local_dir_;  // the directory of a local store, else ""
    Config config_;
    std::optional<MasterKey> key_;
    Sealer sealer_;
    std::unique_ptr<ChunkStore> chunks_;
};

}  // namespace hci::repo
