#include "libcommon/block/repo/locator.h"

#include <xxhash.h>

#include <cstring>

#include "libcommon/base/error.h"
#include "libcommon/block/little_endian.h"

namespace hci::repo::pack {

using little_endian::get32;
using little_endian::get64;
using little_endian::put32;
using little_endian::put64;

namespace {

// An object not yet published, read back through its writer (a locator a
// dry run built, to judge by without publishing it).
class UnpublishedReader : public ObjectReader {
public:
    explicit UnpublishedReader(std::unique_ptr<ObjectWriter> writer) : writer_(std::move(writer)) {}
    uint64_t size() const override { return writer_->size(); }
    size_t read(uint64_t offset, size_t length, unsigned char* out) override {
        std::vector<unsigned char> got;
        writer_->read_at(offset, length, got);
        if (!got.empty()) std::memcpy(out, got.data(), got.size());
        return got.size();
    }

private:
    std::unique_ptr<ObjectWriter> writer_;
};

}  // namespace

std::shared_ptr<const Locator> Locator::empty() {
    auto l = std::shared_ptr<Locator>(new Locator());
    l->fanout_.assign(kFanout, 0);
    return l;
}

std::shared_ptr<const Locator> Locator::open(ObjectStore& store, const std::string& key) {
    return open(store.open_reader(key), store.where(key));
}

std::shared_ptr<const Locator> Locator::open(std::unique_ptr<ObjectReader> reader, const std::string& where) {
    auto l = std::const_pointer_cast<Locator>(empty());
    if (!reader) return l;
    l->reader_ = std::move(reader);
    l->load(where);
    return l;
}

void Locator::find(const ChunkId& id, std::vector<Entry>& out) const {
    out.clear();
    if (!reader_) return;
    size_t b = bucket_of(id);
    uint64_t begin = b == 0 ? 0 : fanout_[b - 1], end = fanout_[b];
    if (begin == end) return;
    thread_local std::vector<unsigned char> buf;
    buf.resize((end - begin) * kEntrySize);
    read_exact(*reader_, buf.data(), buf.size(), entries_offset() + begin * kEntrySize, "the pack locator");
    auto at = [&](uint64_t i) { return buf.data() + i * kEntrySize; };
    uint64_t lo = 0, hi = end - begin;
    while (lo < hi) {  // the first entry not below id
        uint64_t mid = (lo + hi) / 2;
        if (std::memcmp(at(mid), id.data(), 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < end - begin && std::memcmp(at(lo), id.data(), 32) == 0; ++lo) out.push_back(decode_entry(at(lo)));
}

void Locator::load(const std::string& where) {
    auto damaged = [&](const std::string& why) {
        fail(kExitIntegrity, "the pack locator " + where + " is damaged (" + why +
                                 "); zadp-repo repair rebuilds it from the packs");
    };
    unsigned char header[kLocatorHeaderSize];
    uint64_t size = reader_->size();
    if (size < entries_offset()) damaged("too short");
    read_exact(*reader_, header, sizeof header, 0, where);
    if (std::memcmp(header, "ZADPLOCA", 8) != 0 || get32(header + 8) != 1) damaged("bad header");
    count_ = get64(header + 16);
    std::vector<unsigned char> fan(kFanout * 4);
    read_exact(*reader_, fan.data(), fan.size(), kLocatorHeaderSize, where);
    if (XXH3_64bits(fan.data(), fan.size()) != get64(header + 24)) damaged("bad fan-out checksum");
    if (size != entries_offset() + count_ * kEntrySize) damaged("wrong length");
    for (size_t b = 0; b < kFanout; ++b) {
        fanout_[b] = get32(fan.data() + b * 4);
        if ((b > 0 && fanout_[b] < fanout_[b - 1]) || fanout_[b] > count_) damaged("bad fan-out");
    }
    if (fanout_.back() != count_) damaged("bad fan-out");
}

LocatorWriter::LocatorWriter(ObjectStore& store, const std::string& key)
    : store_(store), key_(key), out_(store.open_writer(key)) {
    counts_.assign(kFanout, 0);
    std::vector<unsigned char> head(kLocatorHeaderSize + kFanout * 4, 0);  // filled in by commit()
    out_->write(head.data(), head.size());
}

void LocatorWriter::add(const Entry& e) {
    if (have_last_ && e == last_) return;  // one entry once
    last_ = e;
    have_last_ = true;
    ++counts_[bucket_of(e.id)];
    ++count_;
    size_t at = buf_.size();
    buf_.resize(at + kEntrySize);
    encode_entry(e, buf_.data() + at);
    if (buf_.size() >= (1u << 20)) flush();
}

std::shared_ptr<const Locator> LocatorWriter::commit(bool publish, bool create_only) {
    flush();
    std::vector<unsigned char> head(kLocatorHeaderSize + kFanout * 4, 0);
    uint64_t sum = 0;
    for (size_t b = 0; b < kFanout; ++b) {
        sum += counts_[b];
        put32(head.data() + kLocatorHeaderSize + b * 4, static_cast<uint32_t>(sum));
    }
    std::memcpy(head.data(), "ZADPLOCA", 8);
    put32(head.data() + 8, 1);
    put64(head.data() + 16, count_);
    put64(head.data() + 24, XXH3_64bits(head.data() + kLocatorHeaderSize, kFanout * 4));
    out_->write_at(0, head.data(), head.size());
    if (!publish) return Locator::open(std::make_unique<UnpublishedReader>(std::move(out_)), store_.where(key_));
    if (!out_->commit(create_only))
        fail(kExitIo, store_.where(key_) + " exists already: another gc or repair wrote this locator generation");
    store_.sync();
    return Locator::open(store_, key_);
}

void LocatorWriter::flush() {
    out_->write(buf_.data(), buf_.size());
    buf_.clear();
}

}  // namespace hci::repo::pack
