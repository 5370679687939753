// libFuzzer target: the stream decoder as zadp-write runs it (compression
// sniffing and decoding, then the record checks). The first input byte picks
// a mode: bit 0 set rewrites the header and record checksums before decoding
// (so mutations reach the checks behind them: placement, trailer, digest);
// bit 1 set goes through open_decoding_source (zstd, lz4 and plain input).
// A rejected stream must be an integrity error; anything else is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "libcommon/base/error.h"
#include "libcommon/block/compress.h"
#include "libcommon/block/stream.h"
#include "tests/fuzz/stream_mutator.h"
#include "tests/unit/stream_test_util.h"

namespace {

// Makes every checksum but the trailer's digest right, as far as the bytes
// can be walked as header and records.
void fix_checksums(std::string& s) {
    using namespace hci::fuzz;
    if (s.size() < 32) return;
    size_t header_end = 32 + get_le(s, 28, 4);
    if (header_end + 8 > s.size()) return;
    fix_header_checksum(s);
    size_t pos = header_end + 8;
    while (pos + 32 <= s.size()) {
        std::string tag = s.substr(pos, 4);
        uint64_t length = get_le(s, pos + 16, 8);
        size_t payload = tag == "ZERO" ? 0 : static_cast<size_t>(std::min<uint64_t>(length, s.size() - pos - 32));
        fix_record_checksum(s, pos, payload);
        pos += 32 + payload;
    }
}

void decode(hci::ByteSource& in) {
    hci::stream::Decoder decoder(in);
    static std::unique_ptr<unsigned char[]> payload(new unsigned char[hci::stream::kMaxDataLength]);
    hci::stream::Record r;
    uint64_t covered = 0;
    while (decoder.next(r, payload.get())) {
        if (r.offset != covered || r.length == 0) std::abort();  // the decoder must have refused this
        covered += r.length;
    }
    if (covered != decoder.header().size) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    unsigned mode = data[0];
    std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (mode & 1) fix_checksums(bytes);
    try {
        if (mode & 2) {
            int fd = ::memfd_create("fuzz", MFD_CLOEXEC);
            if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) std::abort();
            ::lseek(fd, 0, SEEK_SET);
            struct Closer {
                int fd;
                ~Closer() { ::close(fd); }
            } closer{fd};
            auto in = hci::open_decoding_source(fd, "stdin");
            decode(*in);
        } else {
            hci::test::MemorySource in(bytes);
            decode(in);
        }
    } catch (const hci::Error& e) {
        if (e.code() != hci::kExitIntegrity) std::abort();
    }
    return 0;
}
