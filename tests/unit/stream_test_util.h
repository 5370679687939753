#pragma once
// In-memory byte pipes and a full decode, for the stream codec tests.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "libcommon/block/stream.h"

namespace hci::test {

struct MemorySink : ByteSink {
    std::string bytes;
    void write(const void* data, size_t length) override { bytes.append(static_cast<const char*>(data), length); }
    void finish() override {}
};

struct MemorySource : ByteSource {
    explicit MemorySource(std::string b) : bytes(std::move(b)) {}
    std::string bytes;
    size_t pos = 0;
    size_t read_some(void* data, size_t length) override {
        size_t n = std::min(length, bytes.size() - pos);
        std::memcpy(data, bytes.data() + pos, n);
        pos += n;
        return n;
    }
};

struct Decoded {
    stream::Header header;
    stream::Stats stats;
    std::vector<unsigned char> image;
    size_t records = 0;
};

inline Decoded decode(const std::string& bytes) {
    MemorySource src(bytes);
    stream::Decoder dec(src);
    Decoded d;
    d.header = dec.header();
    d.image.assign(d.header.size, 0xEE);  // poison: every byte must be covered
    std::unique_ptr<unsigned char[]> payload(new unsigned char[stream::kMaxDataLength]);
    stream::Record r;
    while (dec.next(r, payload.get())) {
        ++d.records;
        if (r.kind == stream::Record::kData)
            std::memcpy(d.image.data() + r.offset, r.payload, r.length);
        else
            std::fill(d.image.begin() + r.offset, d.image.begin() + r.offset + r.length, 0);
    }
    d.stats = dec.stats();
    return d;
}

}  // namespace hci::test
