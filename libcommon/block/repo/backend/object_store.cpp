#include "libcommon/block/repo/backend/object_store.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "libcommon/base/error.h"

namespace hci::repo {

void validate_key(const std::string& key) {
    auto bad = [&](const std::string& why) { fail(kExitUsage, "bad object key '" + key + "': " + why); };
    if (key.empty()) bad("empty");
    size_t start = 0;
    for (;;) {
        size_t slash = key.find('/', start);
        std::string part = key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (part.empty()) bad("an empty part");
        if (part[0] == '.') bad("a part starting with '.'");
        for (char c : part)
            if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("._+@:=-", c)) bad("a character not allowed");
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
}

namespace {

class CopyReader : public ObjectReader {
public:
    explicit CopyReader(std::vector<unsigned char> bytes) : bytes_(std::move(bytes)) {}
    uint64_t size() const override { return bytes_.size(); }
    size_t read(uint64_t offset, size_t length, unsigned char* out) override {
        uint64_t begin = std::min<uint64_t>(offset, bytes_.size());
        uint64_t end = std::min<uint64_t>(bytes_.size(), begin + length);
        if (end > begin) std::memcpy(out, bytes_.data() + begin, end - begin);
        return static_cast<size_t>(end - begin);
    }

private:
    std::vector<unsigned char> bytes_;
};

class BufferWriter : public ObjectWriter {
public:
    BufferWriter(ObjectStore& store, std::string key) : store_(store), key_(std::move(key)) { validate_key(key_); }
    void write(const void* data, size_t length) override {
        auto* p = static_cast<const unsigned char*>(data);
        bytes_.insert(bytes_.end(), p, p + length);
    }
    void write_at(uint64_t offset, const void* data, size_t length) override {
        if (offset + length > bytes_.size()) throw std::logic_error("ObjectWriter::write_at past the end");
        std::memcpy(bytes_.data() + offset, data, length);
    }
    void read_at(uint64_t offset, size_t length, std::vector<unsigned char>& out) override {
        uint64_t begin = std::min<uint64_t>(offset, bytes_.size());
        uint64_t end = std::min<uint64_t>(bytes_.size(), begin + length);
        out.assign(bytes_.begin() + static_cast<ptrdiff_t>(begin), bytes_.begin() + static_cast<ptrdiff_t>(end));
    }
    uint64_t size() const override { return bytes_.size(); }
    bool commit(bool create_only) override {
        if (create_only) return store_.create(key_, bytes_.data(), bytes_.size());
        store_.save(key_, bytes_.data(), bytes_.size());
        return true;
    }

private:
    ObjectStore& store_;
    std::string key_;
    std::vector<unsigned char> bytes_;
};

}  // namespace

std::optional<size_t> ObjectStore::read_range(const std::string& key, uint64_t offset, size_t length,
                                              unsigned char* out) {
    if (length == 0) return 0;
    auto got = load(key, offset, length);
    if (!got) return std::nullopt;
    size_t n = std::min(got->size(), length);
    if (n) std::memcpy(out, got->data(), n);
    return n;
}

std::unique_ptr<ObjectReader> ObjectStore::open_reader(const std::string& key) {
    auto bytes = load(key);
    if (!bytes) return nullptr;
    return std::make_unique<CopyReader>(std::move(*bytes));
}

std::unique_ptr<ObjectWriter> ObjectStore::open_writer(const std::string& key) {
    return std::make_unique<BufferWriter>(*this, key);
}

std::unique_ptr<StoreLock> ObjectStore::lock(const std::string& name, bool, bool) {
    fail(kExitUsage, "the store " + where(name) + " cannot lock " + name + " yet (locks on it are not implemented)");
}

bool create_only_holds(ObjectStore& store, const std::string& key) {
    const std::string first = "create-only probe 1", second = "create-only probe 2";
    if (!store.create(key, first.data(), first.size()))
        fail(kExitIo, store.where(key) + ": the create-only probe's key exists already");
    bool second_refused = !store.create(key, second.data(), second.size());
    auto got = store.load(key);
    store.remove({key});
    return second_refused && got && std::string(got->begin(), got->end()) == first;
}

uint64_t ObjectStore::remove_temporaries(const std::string&, bool) { return 0; }

}  // namespace hci::repo
