#pragma once
// An ObjectWriter for stores whose objects go up in one request (S3): the
// object is built in memory while it is small and moves to an unnamed
// temporary file (O_TMPFILE in $TMPDIR, else an unlinked mkstemp file) once
// it grows past `memory_limit`, so a process's memory stays bounded
// whatever an object's size (an index of a large image). commit() hands
// the bytes to the store in one piece: from memory, or as the file.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo {

// Both get `sha256_hex`, the SHA-256 (lower-case hex) of the bytes, hashed
// as they were written while they were still in the CPU's cache, or empty
// when a write_at() changed them afterwards (the store hashes them then).
struct SpoolCommit {
    // Publishes bytes held in memory (create_only as ObjectStore::create).
    std::function<bool(const unsigned char* data, size_t length, bool create_only, const std::string& sha256_hex)>
        from_memory;
    // Publishes the first `length` bytes of the spool file `fd`.
    std::function<bool(int fd, uint64_t length, bool create_only, const std::string& sha256_hex)> from_file;
};

// `max_size`: an object larger than this cannot be published (a single
// PUT's limit): write() fails then (exit 2, naming `where`), before
// anything is committed.
std::unique_ptr<ObjectWriter> open_spool_writer(std::string where, size_t memory_limit, uint64_t max_size,
                                                SpoolCommit commit);

// The directory spool files go to: $TMPDIR, else /tmp.
std::string spool_dir();
// A new unnamed file there, read-write (nothing is left behind however the
// process ends).
int open_spool_file();

}  // namespace hci::repo
