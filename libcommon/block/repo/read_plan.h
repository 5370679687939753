#pragma once
// Which stored objects to fetch together (issue 18 §3, "Reads"): on a store
// where every read is a request (S3), the chunks an image reader needs next
// are grouped into ranged reads of one pack each. A batch of chunks, in the
// order they are needed, is sorted by where they are; chunks of one pack
// whose ranges follow one another with at most `max_gap` unneeded bytes
// between them share a request of at most `max_request` bytes. So chunks a
// backup's workers stored a little out of order, and an incremental
// backup's chunks alternating between an old pack and a new one, cost one
// request per stretch of each pack, not one per switch. Pure logic, no I/O.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hci::repo {

struct ReadPiece {
    std::string key;  // the object holding the piece; "" when it is nowhere (a request of its own, never sent)
    uint64_t offset = 0, length = 0;
};

// One request: [offset, offset + length) of `key`, covering the pieces
// whose indexes (into the batch) are listed, in increasing order.
struct ReadRun {
    std::string key;
    uint64_t offset = 0, length = 0;
    std::vector<size_t> pieces;
    bool operator==(const ReadRun&) const = default;
};

struct CoalesceLimits {
    uint64_t max_request = 2u << 20;  // bytes one request reads at most (a larger piece gets a request alone)
    uint64_t max_gap = 256u << 10;    // unneeded bytes between two pieces that may still share a request
};

// The runs covering every piece of the batch, ordered by the first piece
// each covers (the order a reader needs them in).
std::vector<ReadRun> plan_reads(const std::vector<ReadPiece>& pieces, CoalesceLimits limits = {});

}  // namespace hci::repo
