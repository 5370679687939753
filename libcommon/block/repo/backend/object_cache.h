#pragma once
// A bounded local cache of whole objects of a remote store (issue 18 §3):
// the locator, indexes and pack tables a store, check or gc would
// otherwise download again every night. An object is kept under its key
// and its version, the store's content hash (S3: the ETag, the MD5 of the
// bytes of a single PUT), and is never trusted as it lies: every hit is
// hashed again and must match, or it is removed and downloaded anew (the
// repository then checks the bytes' seals as it does for downloaded ones).
//
// Layout: DIR/<40 hex of SHA-256(key)>-<etag>, written to a temporary file
// in DIR and renamed, so processes sharing DIR never see half an object.
// When the files hold more than `max_bytes`, the least recently used go.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/base/cli.h"
#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo {

class ObjectCache {
public:
    ObjectCache(std::string dir, uint64_t max_bytes);
    const std::string& dir() const { return dir_; }

    // The cached object `key` at version `etag`, opened read-only and
    // verified; -1 when it is not cached (or was damaged: then removed).
    int open(const std::string& key, const std::string& etag);
    // A new file in DIR to download an object into.
    struct Incoming {
        int fd = -1;
        std::string path;
    };
    Incoming begin();
    // Publishes a downloaded object under `key` at `etag` when its bytes
    // hash to `etag` (returns a read-only descriptor of it); otherwise
    // removes it and returns -1. Evicts to the size bound.
    int publish(Incoming incoming, const std::string& key, const std::string& etag);
    void discard(Incoming incoming);

    // A part of an object (a pack's tail, holding its table) at version
    // `etag`, kept with the MD5 of its own bytes and checked against it at
    // every use; nullopt when not cached (or damaged: then removed).
    std::optional<std::vector<unsigned char>> open_part(const std::string& key, const std::string& etag);
    void keep_part(const std::string& key, const std::string& etag, const unsigned char* data, size_t length);

    // Whether an ETag is a plain MD5 the cache can check bytes against
    // (a multipart upload's is not).
    static bool checkable(const std::string& etag);

    uint64_t hits() const { return hits_; }
    uint64_t damaged() const { return damaged_; }

private:
    std::string path_of(const std::string& key, const std::string& etag) const;
    void evict();
    std::string dir_;
    uint64_t max_bytes_;
    std::atomic<uint64_t> hits_{0}, damaged_{0};
};

// Where a repository's cache lives, or "" for none: ZADP_CACHE_DIR
// (zadp-repo --cache-dir; "off" turns the cache off), else
// $XDG_CACHE_HOME/zadp, else $HOME/.cache/zadp; then a directory per
// repository named by a hash of `repository` (endpoint, bucket, prefix).
std::string cache_dir_for(const std::string& repository, const EnvLookup& env = process_env());
// ZADP_CACHE_SIZE ("512M", "2G"; default 1 GiB).
uint64_t cache_size_from(const EnvLookup& env = process_env());

// An ObjectReader over an open file, which it closes.
std::unique_ptr<ObjectReader> open_file_reader(int fd, uint64_t size);

}  // namespace hci::repo
