#pragma once
// The copy loops of zadp-read and zadp-write. They see only Volume, ByteSink
// and ByteSource. A helper thread reads ahead (volume chunks on the read
// side, decoded and verified records on the write side) through a bounded
// queue of a few buffers, so reading overlaps writing and memory stays
// bounded whatever the volume size.
#include <cstdint>
#include <optional>
#include <string>

#include "libcommon/block/progress.h"
#include "libcommon/block/stream.h"
#include "libcommon/block/stream_io.h"
#include "libcommon/block/volume.h"

namespace hci {

struct ReadJob {
    bool raw = false;           // plain image instead of a block stream
    std::string identity = "{}";  // JSON object for the stream header
    ProgressMode progress = ProgressMode::kAuto;
};

// Streams `source` into `sink` (finished at the end). Returns the stream's
// statistics (for raw output: data/zero bytes only).
stream::Stats read_volume(Volume& source, ByteSink& sink, const ReadJob& job);

// What zadp-write restores from: a block stream, whose header is read and
// checked on construction (a new target's size depends on it), or a raw
// image of unknown length.
class RestoreSource {
public:
    RestoreSource(ByteSource& in, bool raw);
    bool raw() const { return !decoder_; }
    // The stream's header; for raw input all zero until written.
    const stream::Header& header() const { return header_; }
    // `options` for opening the target: a new file gets the stream's size,
    // or grows as it is written (raw input).
    VolumeOptions target_options(VolumeOptions options) const;
    ByteSource& bytes() { return in_; }
    stream::Decoder* decoder() { return decoder_ ? &*decoder_ : nullptr; }

private:
    ByteSource& in_;
    std::optional<stream::Decoder> decoder_;
    stream::Header header_;
};

struct WriteResult {
    stream::Header header;  // for raw input: size only
    stream::Stats stats;
    std::string report;     // the target's JSON line about what it stored, if any
};

// Writes the stream (or raw image) into `target`, opened for writing with
// source.target_options(); a new file target appears at its name only after
// the trailer verified (commit()). An existing target that holds data is
// refused unless `force` (clobber.h); an existing regular file ends at the
// image's size; a larger device or LUN keeps what lies past the image, and a
// warning says how many bytes.
WriteResult write_volume(RestoreSource& source, Volume& target, ProgressMode progress, bool force = false);

// zadp-write --source: copies `source` (a repository image) straight into
// `target`, opened for writing with copy_target_options(), with no stream in
// between: the stream's checks are replaced by the source's own (a
// repository's seals and the image digest of its index, compared before the
// target is committed; a digest mismatch is Error(kExitIntegrity) and a new
// file target never appears). Holes stay holes; `force` as for write_volume.
// The statistics count data and zero segments as records.
VolumeOptions copy_target_options(const Volume& source, VolumeOptions options);
WriteResult copy_volume(Volume& source, Volume& target, ProgressMode progress, bool force = false);

// Reads and verifies a whole stream without writing anything.
WriteResult check_stream(ByteSource& in, ProgressMode progress);

// The stream block size zadp-read uses for a source: at least 4 KiB, so any
// sink with a block size up to 4 KiB can take its records as they come.
uint32_t stream_block_size(const Volume& source);

}  // namespace hci
