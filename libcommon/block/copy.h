#pragma once
// The copy loops of zadp-read and zadp-write. They see only Volume, ByteSink
// and ByteSource. A helper thread reads ahead (volume chunks on the read
// side, decoded and verified records on the write side) through a bounded
// queue of a few buffers, so reading overlaps writing and memory stays
// bounded whatever the volume size.
#include <cstdint>
#include <string>

#include "libcommon/block/progress.h"
#include "libcommon/block/stream.h"
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

struct WriteJob {
    std::string target;        // path or URL
    VolumeOptions volume;      // transport options (create is set here)
    bool raw = false;          // input is a plain image, not a block stream
    ProgressMode progress = ProgressMode::kAuto;
};

struct WriteResult {
    stream::Header header;  // for raw input: size only
    stream::Stats stats;
};

// Reads a stream (or raw image) from `in` and writes it to job.target; a new
// file target appears at its name only after the trailer verified.
WriteResult write_volume(ByteSource& in, const WriteJob& job);

// Reads and verifies a whole stream without writing anything.
WriteResult check_stream(ByteSource& in, ProgressMode progress);

// The stream block size zadp-read uses for a source: at least 4 KiB, so any
// sink with a block size up to 4 KiB can take its records as they come.
uint32_t stream_block_size(const Volume& source);

}  // namespace hci
