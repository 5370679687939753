#include "libcommon/block/repo/image.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/block/temp_file.h"

namespace hci::repo {
namespace {

bool all_zero(const unsigned char* p, size_t n) {
    return n == 0 || (p[0] == 0 && std::memcmp(p, zero_buffer(), std::min<size_t>(n, 65536)) == 0 &&
                      (n <= 65536 || all_zero(p + 65536, n - 65536)));
}

size_t worker_count() { return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4); }

// identity.vm.id of a stream header, or "".
std::string vm_id_of(const std::string& identity) {
    boost::system::error_code ec;
    auto v = boost::json::parse(identity, ec);
    if (ec || !v.is_object()) return "";
    auto* vm = v.as_object().if_contains("vm");
    if (!vm || !vm->is_object()) return "";
    auto* id = vm->as_object().if_contains("id");
    if (!id) return "";
    return id->is_string() ? std::string(id->as_string()) : id->is_null() ? "" : boost::json::serialize(*id);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

// ---- ImageWriter ----

ImageWriter::ImageWriter(Repository& repo, const std::string& name, uint64_t size, uint32_t block_size,
                         const std::string& identity)
    : repo_(repo) {
    validate_name(name);
    header_.name = name;
    header_.size = size;
    header_.chunk_size = repo.config().chunk_size;
    header_.block_size = block_size;
    header_.identity = identity;
    header_.vm_id = vm_id_of(identity);
    lock_ = repo.lock_shared();
    std::string path = repo.index_path(name);
    if (exists(path) || exists(repo.blob_path(name)))
        fail(kExitUsage, "repo:" + name + " exists already (backups are immutable; store under a new TIME)");
    repo.claim_group(name.substr(0, name.find('/')), header_.vm_id);
    make_dirs(path.substr(0, path.rfind('/')));
    temp_ = std::make_unique<TempFile>(path);
    index_ = std::make_unique<IndexWriter>(temp_->fd(), path, header_, repo.sealer());
}

ImageWriter::~ImageWriter() = default;

void ImageWriter::expect(uint64_t offset, uint64_t length) {
    if (offset != position_ || length > header_.size - position_)
        fail(kExitIntegrity, "repo:" + header_.name + ": data at offset " + std::to_string(offset) +
                                 " arrived out of order (expected " + std::to_string(position_) + ")");
}

std::unique_ptr<unsigned char[]> ImageWriter::take_buffer() {
    if (spare_.empty()) return std::unique_ptr<unsigned char[]>(new unsigned char[header_.chunk_size]);
    auto b = std::move(spare_.back());
    spare_.pop_back();
    return b;
}

void ImageWriter::write(uint64_t offset, const void* data, size_t length) {
    expect(offset, length);
    digest_.add_data(data, length);
    const auto* p = static_cast<const unsigned char*>(data);
    while (length > 0) {
        size_t n = std::min<size_t>(length, header_.chunk_size - filled_);
        if (current_zero_ && !all_zero(p, n)) {
            if (!current_) current_ = take_buffer();
            std::memset(current_.get(), 0, filled_);
            current_zero_ = false;
        }
        if (!current_zero_) std::memcpy(current_.get() + filled_, p, n);
        filled_ += n;
        position_ += n;
        p += n;
        length -= n;
        if (filled_ == header_.chunk_size || position_ == header_.size) end_chunk();
    }
}

void ImageWriter::zero(uint64_t offset, uint64_t length) {
    expect(offset, length);
    digest_.add_zeros(length);
    while (length > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(length, header_.chunk_size - filled_));
        if (!current_zero_) std::memset(current_.get() + filled_, 0, n);
        filled_ += n;
        position_ += n;
        length -= n;
        if (filled_ == header_.chunk_size || position_ == header_.size) end_chunk();
    }
}

void ImageWriter::end_chunk() {
    size_t length = filled_;
    filled_ = 0;
    if (current_zero_) {
        // An all-zero chunk is never stored; with nothing in flight its
        // mark goes straight into the index (a hole of a TiB costs no futures).
        if (pending_.empty()) {
            index_->add(ChunkId{});
            ++totals_.zero_chunks;
            return;
        }
        std::promise<Result> ready;
        Result r;
        r.zero = true;
        r.length = length;
        ready.set_value(std::move(r));
        pending_.push_back(ready.get_future());
        return;
    }
    current_zero_ = true;
    auto job = [this, buffer = std::move(current_), length]() mutable {
        Result r;
        r.length = length;
        r.id = chunk_id(buffer.get(), length, repo_.key());
        if (!repo_.chunks().contains(r.id))
            r.stored = repo_.chunks().put(r.id, repo_.encode_chunk(r.id, buffer.get(), length));
        r.buffer = std::move(buffer);
        return r;
    };
    pending_.push_back(std::async(std::launch::async, std::move(job)));
    while (pending_.size() > worker_count()) collect_one();
}

void ImageWriter::collect_one() {
    Result r = pending_.front().get();
    pending_.pop_front();
    if (r.zero) {
        index_->add(ChunkId{});
        ++totals_.zero_chunks;
        return;
    }
    index_->add(r.id);
    ++totals_.chunks;
    totals_.data_bytes += r.length;
    if (r.stored) {
        ++totals_.new_chunks;
        totals_.new_bytes += r.length;
        totals_.stored_bytes += r.stored;
    } else {
        ++totals_.reused_chunks;
        totals_.reused_bytes += r.length;
    }
    spare_.push_back(std::move(r.buffer));
}

void ImageWriter::commit() {
    if (position_ != header_.size)
        fail(kExitIntegrity, "repo:" + header_.name + ": the image ended at " + std::to_string(position_) + " of " +
                                 std::to_string(header_.size) + " bytes");
    while (!pending_.empty()) collect_one();
    totals_.digest = stream::digest_hex(digest_.finish());
    totals_.created = utc_now();
    index_->finish(totals_);
    repo_.chunks().sync();  // every chunk durable before the index names it
    std::string path = repo_.index_path(header_.name);
    if (exists(path)) fail(kExitUsage, "repo:" + header_.name + " was stored by another writer meanwhile");
    temp_->commit();
}

// ---- ImageReader ----

ImageReader::ImageReader(Repository& repo, const std::string& name)
    : repo_(repo), lock_(repo.lock_shared()), what_("repo:" + name),
      index_((validate_name(name), repo.index_path(name)), what_, repo.sealer()) {
    if (index_.header().chunk_size != repo.config().chunk_size)
        fail(kExitIntegrity, what_ + ": index chunk size " + std::to_string(index_.header().chunk_size) +
                                 " differs from the repository's " + std::to_string(repo.config().chunk_size));
}

const std::vector<unsigned char>& ImageReader::chunk(uint64_t index) {
    for (const auto& [i, data] : cache_)
        if (i == index) return data;
    throw std::logic_error("chunk not loaded");
}

void ImageReader::read(uint64_t offset, void* buffer, size_t length) {
    if (offset > size() || length > size() - offset)
        fail(kExitIo, what_ + ": read beyond the end of the image");
    const uint64_t cs = chunk_size();
    uint64_t first = offset / cs, last = (offset + length + cs - 1) / cs;
    // Load what is not cached, several chunks at once.
    std::vector<std::pair<uint64_t, std::future<std::pair<std::string, std::vector<unsigned char>>>>> loads;
    std::vector<ChunkId> ids;
    for (uint64_t c = first; c < last; ++c) {
        ChunkId id = index_.entry(c);
        ids.push_back(id);
        bool cached = std::any_of(cache_.begin(), cache_.end(), [&](const auto& e) { return e.first == c; });
        if (is_zero_id(id) || cached) continue;
        loads.emplace_back(c, std::async(std::launch::async, [this, id] {
                               std::vector<unsigned char> data;
                               std::string error = repo_.load_chunk(id, data);
                               return std::make_pair(error, std::move(data));
                           }));
    }
    for (auto& [c, f] : loads) {
        auto [error, data] = f.get();
        ChunkId id = ids[c - first];
        if (!error.empty())
            fail(kExitIntegrity, what_ + ": chunk " + std::to_string(c) + " at offset " + std::to_string(c * cs) +
                                     " (id " + to_hex(id).substr(0, 16) + ") is " + error);
        uint64_t expected = std::min<uint64_t>(cs, size() - c * cs);
        if (data.size() != expected)
            fail(kExitIntegrity, what_ + ": chunk " + std::to_string(c) + " at offset " + std::to_string(c * cs) +
                                     " has " + std::to_string(data.size()) + " bytes, expected " +
                                     std::to_string(expected));
        cache_.emplace_back(c, std::move(data));
    }
    auto* out = static_cast<unsigned char*>(buffer);
    for (uint64_t c = first; c < last; ++c) {
        uint64_t start = std::max(offset, c * cs), end = std::min(offset + length, (c + 1) * cs);
        if (is_zero_id(ids[c - first]))
            std::memset(out + (start - offset), 0, end - start);
        else
            std::memcpy(out + (start - offset), chunk(c).data() + (start - c * cs), end - start);
    }
    // Keep only the last two chunks.
    while (cache_.size() > 2) cache_.pop_front();
}

}  // namespace hci::repo
