#pragma once
// One interface for every place volume data lives (regular file, block
// device, iSCSI LUN), in the spirit of nbdcopy's rw_ops: the copying code
// sees only this class, never the transport. open_volume.h picks the
// transport for a URL.
//
// Transports are free to parallelise inside one call: the copy loop hands
// out large chunks (several MiB), and e.g. the iSCSI transport splits one
// read() into many commands in flight. Calls on one Volume come from one
// thread at a time.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hci {

struct Extent {
    uint64_t offset = 0;
    uint64_t length = 0;
    bool allocated = true;  // false: a hole / unmapped range that reads as zeros
};

struct VolumeOptions {
    std::string chap_secret;    // iSCSI CHAP secret; never logged
    std::string initiator_iqn;  // iSCSI initiator name
    unsigned queue_depth = 16;  // commands in flight where the transport can
    bool create = false;        // sink: create a new file if the target does not exist
    // sink created new: its size. With create_growable the new file instead
    // grows as it is written (raw input of unknown length); size() is then
    // UINT64_MAX until commit().
    uint64_t create_size = 0;
    bool create_growable = false;
    // source: the image is its first `size` bytes (zadp-read --size); the
    // length of a pipe, which cannot tell it.
    std::optional<uint64_t> size;
    // repo:NAME volumes (repo_volume.h): the repository directory (--repo,
    // else $ZADP_REPO) and where its key comes from (never the key itself).
    std::string repo;
    std::string repo_key_file;
    std::string repo_passphrase_file;
    std::optional<std::string> repo_passphrase;  // $ZADP_REPO_PASSPHRASE; never logged
    bool repo_allow_shared_dir = false;          // sink: --allow-shared-dir (else $ZADP_REPO_ALLOW_SHARED_DIR)
    // Sink: the identity of the stream being written (its header's JSON
    // object) and its block size, for transports that record them.
    std::string identity = "{}";
    uint32_t stream_block_size = 4096;
};

class Volume {
public:
    virtual ~Volume() = default;

    virtual uint64_t size() const = 0;
    // Logical block size: offsets and lengths given to write/zero are multiples
    // of it, except at the very end of the volume.
    virtual uint32_t block_size() const { return 512; }
    // The largest read/write worth issuing at once.
    virtual size_t max_io_size() const { return 8u << 20; }
    // Sink: writes of a few hundred KiB cost about what larger ones do (the
    // page cache takes them and write-back merges them), so a copy may write
    // a source's pieces as they come instead of gathering max_io_size().
    virtual bool small_writes_merge() const { return false; }

    // Allocation map of [offset, offset+length): contiguous, in order, covering
    // the range. Transports that cannot tell return one allocated extent.
    virtual std::vector<Extent> extents(uint64_t offset, uint64_t length) = 0;

    virtual void read(uint64_t offset, void* buf, size_t length) = 0;
    // Overlapped reads, for a caller that reads ahead (the copy loop): up to
    // read_depth() reads may be started before the oldest is finished.
    // start_read() begins reading into `buf`, which must stay valid until
    // the matching finish_read() returned or cancel_reads() did;
    // finish_read() completes the oldest started read (its error surfaces
    // there or in a later call); cancel_reads() abandons every started read.
    // A transport that cannot overlap reads reads at once in start_read().
    virtual unsigned read_depth() const { return 1; }
    virtual void start_read(uint64_t offset, void* buf, size_t length) { read(offset, buf, length); }
    virtual void finish_read() {}
    virtual void cancel_reads() {}
    // Reads without a copy, for a source that holds its data in memory
    // already (a repository's decoded chunks): lend_size() is the piece it
    // lends (0: none), lend() a pointer to [offset, offset+length), a range
    // within one piece, valid until the next call on this volume, or null
    // when the range reads as zeros. The copy loop then skips its read buffers
    // and the thread that fills them.
    virtual size_t lend_size() const { return 0; }
    virtual const unsigned char* lend(uint64_t offset, size_t length) {
        (void)offset;
        (void)length;
        return nullptr;
    }
    virtual void write(uint64_t offset, const void* buf, size_t length) = 0;
    // Makes the range read as zeros, deallocating it where the transport can.
    // Returns false when the transport cannot (no hole punching, no WRITE
    // SAME); the copy loop then writes zeros itself. Like nbdcopy's synch_zero.
    virtual bool zero(uint64_t offset, uint64_t length) = 0;
    // Makes written data durable.
    virtual void flush() = 0;
    // Sink: the copy succeeded and was verified; publish the result (e.g. rename
    // a new file into place). Without commit(), destruction discards the work
    // where the transport can (a new file is removed).
    virtual void commit() {}
    // Sink: true when the volume was created for this copy (nothing of the
    // user's can be overwritten in it).
    virtual bool is_new() const { return false; }
    // Sink: the image ended at `end`; a regular file is cut there so no stale
    // bytes of an older, longer content stay behind. Other transports keep
    // their size.
    virtual void end_at(uint64_t end) { (void)end; }
    // Sink, before commit(): the stream's trailer verified, with this image
    // digest (hex, zadp-stream(5)). A transport that records the digest (a
    // repository index) takes it instead of hashing the image once more.
    virtual void stream_verified(const std::string& digest_hex) { (void)digest_hex; }

    // Source: a transport that keeps its image's digest (a repository index)
    // can trade its costliest per-piece check (hashing every chunk to its id)
    // for one end-to-end check. A caller that reads the whole image once, in
    // order, offers it: when promise_digest_check() returns true, the caller
    // must pass the digest (zadp-stream(5)) of every byte it got to
    // check_read_digest() before it lets the end of its output out (a
    // stream's trailer), and that call fails (exit 6, naming the image and
    // the damaged offset when it can be found) unless they were the image's.
    // Without the promise every read is fully checked, as by default.
    virtual bool promise_digest_check() { return false; }
    virtual void check_read_digest(const std::string& digest_hex) { (void)digest_hex; }

    // A description for messages, with any secret removed.
    virtual std::string describe() const = 0;
    // Source: a stream identity recorded with the volume (a repository image
    // keeps the one it was stored with); empty when there is none.
    virtual std::string identity() const { return ""; }
    // Sink, after commit(): a JSON line describing what was stored, printed
    // by zadp-write (a repository reports new and reused chunks); or empty.
    virtual std::string report() const { return ""; }
};

enum class OpenMode { Read, Write };

}  // namespace hci
