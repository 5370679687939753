#pragma once
// Compression around the block stream: zstd (libzstd, multi-threaded) and
// lz4 (frame format) sinks for zadp-read, and a source for zadp-write that
// recognises zstd and lz4 frames by their magic numbers and decodes them.
#include <memory>
#include <string>

#include "libcommon/block/stream_io.h"

namespace hci {

struct CompressSpec {
    enum Kind { kNone, kZstd, kLz4 } kind = kNone;
    int level = 3;    // zstd level
    int threads = 0;  // zstd worker threads; 0 = one per online CPU
};

// Parses "none", "zstd", "zstd:LEVEL" or "lz4"; usage error otherwise.
CompressSpec parse_compress_spec(const std::string& text);

// Wraps `out` (not owned) in the compressor `spec` asks for (or returns a
// pass-through for kNone). finish() ends the frame and finishes `out`.
std::unique_ptr<ByteSink> make_compressing_sink(const CompressSpec& spec, ByteSink& out);

// Reads `fd`, looks at the first bytes and returns a source that yields the
// decoded bytes: zstd and lz4 frames (several in a row too) are decompressed,
// anything else passes through. Corrupt compressed data is an integrity error.
// `format` is set to "zstd", "lz4" or "none".
std::unique_ptr<ByteSource> open_decoding_source(int fd, const std::string& what, std::string* format = nullptr);

}  // namespace hci
