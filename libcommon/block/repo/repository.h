#pragma once
// A deduplicating repository of block-device images (zadp-repo(5)): a
// directory with a versioned config, chunk objects in a ChunkStore (packs
// since version 2), and
// under backups/GROUP/TIME/ one fixed index per image (FILE.fidx) and small
// files as blobs (FILE.blob).
//
// Concurrency with garbage collection is a lock protocol on DIR/lock:
// every store and every read holds it shared for its whole run; gc holds
// it exclusive, so it never runs beside a writer or reader and every chunk
// no index references is garbage (chunks of interrupted stores included).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
    static Config init(const std::string& dir, uint32_t chunk_size, bool encrypt, const KeySource& keys,
                       uint32_t version = kRepoVersion, bool allow_shared_dir = false);
    // Opens an existing repository; refuses an unknown format version (exit
    // 6), a missing or wrong key (exit 2) and, for kWrite, a directory
    // others may write (see Access). A key given for an unencrypted
    // repository is ignored with a warning.
    static std::unique_ptr<Repository> open(const std::string& dir, const KeySource& keys,
                                            Access access = Access::kRead, bool allow_shared_dir = false);

    const std::string& dir() const { return dir_; }
    const Config& config() const { return config_; }
    const Sealer& sealer() const { return sealer_; }
    const MasterKey* key() const { return key_ ? &*key_ : nullptr; }
    ChunkStore& chunks() { return *chunks_; }

    std::string index_path(const std::string& name) const { return dir_ + "/backups/" + name + ".fidx"; }
    std::string blob_path(const std::string& name) const { return dir_ + "/backups/" + name + ".blob"; }

    // Holds DIR/lock (flock) until destroyed. With wait false, held() says
    // whether it got the lock at once (nothing else held it). The file is
    // created 0600 and never followed as a link; one that may not be opened
    // for writing (a read-only mount or a reader without write access) is
    // locked through a read-only descriptor, which flock allows.
    class Lock {
    public:
        Lock(const std::string& path, bool exclusive, bool wait = true);
        ~Lock();
        Lock(const Lock&) = delete;
        Lock& operator=(const Lock&) = delete;
        bool held() const { return fd_ >= 0; }

    private:
        int fd_ = -1;
    };
    std::unique_ptr<Lock> lock_shared() const { return std::make_unique<Lock>(dir_ + "/lock", false); }
    std::unique_ptr<Lock> lock_exclusive() const { return std::make_unique<Lock>(dir_ + "/lock", true); }
    // The exclusive lock if no store, read, gc or backup run holds the lock
    // on any host now; nullptr otherwise (never waits).
    std::unique_ptr<Lock> lock_exclusive_if_free() const;

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

    void put_blob(const std::string& name, const std::vector<unsigned char>& data);
    std::vector<unsigned char> get_blob(const std::string& name);

    struct Item {
        std::string name;  // GROUP/TIME/FILE
        bool image = true;  // else a blob
        std::string path;
    };
    // Images and blobs under a prefix, sorted by name.
    std::vector<Item> list(const std::string& prefix) const;

    // Refuses to let one GROUP hold backups of two VMs: records the first VM
    // id stored in a group (create-only, so of two first stores racing one
    // wins) and fails (exit 2) on another.
    void claim_group(const std::string& group, const std::string& vm_id);

private:
    Repository(std::string dir, Config config, std::optional<MasterKey> key);
    std::string dir_;
    Config config_;
    std::optional<MasterKey> key_;
    Sealer sealer_;
    std::unique_ptr<ChunkStore> chunks_;
};

// The names in a directory, sorted; those starting with a dot only with
// `hidden_too`. Empty when it cannot be read.
std::vector<std::string> list_dir(const std::string& path, bool hidden_too = false);
// Creates every missing directory of `path` (like mkdir -p).
void make_dirs(const std::string& path);

// ---- files the repository creates ----
// Opens a directory O_NOFOLLOW|O_DIRECTORY; a symbolic link there is
// followed only when root or this user owns it (one the admin made, such
// as the repository's own path), never one another user planted.
int open_directory(const std::string& path);
// Creates DIR/NAME: O_CREAT|O_EXCL|O_NOFOLLOW in DIR opened as above, so a
// link planted at NAME is never followed. -1 with errno when it fails.
int create_file_in(const std::string& dir, const std::string& name, int flags, mode_t mode);

// A new file beside PATH under a name no one can predict
// (".tmp.NAME.<16 random hex>": leftovers of a killed run are temporaries
// gc removes), created by create_file_in, then published at PATH. Private:
// 0600 whatever the umask; else 0644 under the umask. Removed when
// destroyed unpublished.
class NewFile {
public:
    explicit NewFile(const std::string& path, bool private_file = false);
    ~NewFile();
    NewFile(const NewFile&) = delete;
    NewFile& operator=(const NewFile&) = delete;
    int fd() const { return fd_; }
    const std::string& temp_path() const { return temp_path_; }
    void write(const void* data, size_t length);
    // (fsync,) rename over PATH, (fsync the directory).
    void replace(bool sync = true);
    // (fsync,) link at PATH only when nothing is there, (fsync the
    // directory); false when something was (the new file is removed).
    bool create_only(bool sync = true);

private:
    void close_file(bool sync);
    std::string path_, temp_name_, temp_path_;
    int dir_fd_ = -1, fd_ = -1;
};

// Opens PATH to append to it (O_APPEND|O_CREAT|O_NOFOLLOW, 0644 under the
// umask); refuses anything but a regular file with one link.
int open_append(const std::string& path);

// Writes a small file atomically through a NewFile: fsync, rename, fsync dir.
void write_file_atomic(const std::string& path, const void* data, size_t length, bool private_file = false);
std::string read_small_file(const std::string& path, size_t limit);

}  // namespace hci::repo
