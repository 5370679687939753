#include "libcommon/block/repo/image.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstring>
#include <future>
#include <thread>

#include "libcommon/base/error.h"

namespace hci::repo {
namespace {

bool all_zero(const unsigned char* p, size_t n) {
    return n == 0 || (p[0] == 0 && std::memcmp(p, zero_buffer(), std::min<size_t>(n, 65536)) == 0 &&
                      (n <= 65536 || all_zero(p + 65536, n - 65536)));
}


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

}  // namespace

void check_index_fits(const Repository& repo, const IndexHeader& header, const std::string& what) {
    if (header.chunk_size != repo.config().chunk_size)
        fail(kExitIntegrity, what + ": index chunk size " + std::to_string(header.chunk_size) +
                                 " differs from the repository's " + std::to_string(repo.config().chunk_size));
}

uint64_t index_size_bound(uint64_t entries) {
    // 32 bytes an entry, a seal's overhead per segment, header and trailer.
    return entries * 32 + (entries / kEntriesPerSegment + 1) * 64 + (1u << 20);
}

void check_index_fits_one_object(const ObjectStore& store, const IndexHeader& header) {
    uint64_t need = index_size_bound(header.entries());
    if (need <= store.max_object_size()) return;
    fail(kExitUsage, "repo:" + header.name + ": an image of " + std::to_string(header.size) + " bytes in chunks of " +
                         std::to_string(header.chunk_size) + " needs an index of up to " + std::to_string(need) +
                         " bytes, more than one object on " + store.where("") + " can hold (" +
                         std::to_string(store.max_object_size()) + "); nothing was stored (a repository with a "
                         "larger --chunk-size takes it)");
}

size_t chunk_worker_count() { return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4); }

size_t chunks_in_flight(uint32_t chunk_size, size_t workers, size_t budget) {
    return std::max<size_t>(workers, std::min<size_t>(budget / std::max<uint32_t>(chunk_size, 1), 32));
}

// ---- ImageWriter ----

ImageWriter::ImageWriter(Repository& repo, const std::string& name, uint64_t size, uint32_t block_size,
                         const std::string& identity, Digest digest)
    : repo_(repo), pool_(chunk_worker_count()) {
    if (digest == Digest::kComputed) digest_.emplace();
    validate_name(name);
    header_.name = name;
    header_.size = size;
    header_.chunk_size = repo.config().chunk_size;
    header_.block_size = block_size;
    header_.identity = identity;
    header_.vm_id = vm_id_of(identity);
    check_index_fits_one_object(repo.store(), header_);
    lock_ = repo.lock_shared();
    std::string key = Repository::index_key(name);
    if (repo.store().stat(key) || repo.store().stat(Repository::blob_key(name)))
        fail(kExitUsage, "repo:" + name + " exists already (backups are immutable; store under a new TIME)");
    repo.claim_group(name.substr(0, name.find('/')), header_.vm_id);
    // Spooled beside its key on a directory (as readable as the blobs
    // beside it: under the storer's umask), published create-only last.
    out_ = repo.store().open_writer(key);
    out_->remove_if_killed();  // Ctrl-C ends a store at once, leaving no temporary index
    index_ = std::make_unique<IndexWriter>(*out_, repo.store().where(key), header_, repo.sealer());
    // Plain chunk buffers: those in flight plus the one being filled.
    in_flight_limit_ = chunks_in_flight(header_.chunk_size, chunk_worker_count());
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
    if (digest_) digest_->add_data(data, length);
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
    if (digest_) digest_->add_zeros(length);
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
        // An all-zero chunk is never stored. Runs of them are counted, not
        // queued one by one, so a hole of a TiB costs nothing in flight.
        if (order_.empty())
            add_zero_chunks(1);
        else if (order_.back() > 0)
            ++order_.back();
        else
            order_.push_back(1);
        return;
    }
    current_zero_ = true;
    while (pool_.pending() >= in_flight_limit_) collect_one();
    pool_.submit([this, buffer = std::move(current_), length]() mutable {
        // The object buffer stays with the worker thread for its next chunk.
        thread_local Bytes object;
        Result r;
        r.length = length;
        r.id = chunk_id(buffer.get(), length, repo_.key());
        r.stored = repo_.store_chunk(r.id, buffer.get(), length, object);
        r.buffer = std::move(buffer);
        return r;
    });
    order_.push_back(0);
}

void ImageWriter::add_zero_chunks(uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) index_->add(ChunkId{});
    totals_.zero_chunks += count;
}

// Writes the oldest pending index entry (a stored chunk, or a run of zero
// chunks), waiting for its worker.
void ImageWriter::collect_one() {
    uint64_t zeros = order_.front();
    order_.pop_front();
    if (zeros > 0) return add_zero_chunks(zeros);
    Result r = pool_.next();
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
    while (!order_.empty()) collect_one();
    if (digest_)
        totals_.digest = stream::digest_hex(digest_->finish());
    else if (verified_digest_.empty())
        throw std::logic_error("ImageWriter: commit without the verified stream's digest");
    else
        totals_.digest = verified_digest_;
    totals_.created = utc_now();
    index_->finish(totals_);
    repo_.chunks().sync();  // every chunk durable before the index names it
    // A lock that is no longer ours (a lease that could not be renewed) may
    // have let gc remove chunks this index names: never commit then.
    if (!lock_->held()) fail(kExitIo, "repo:" + header_.name + ": lost the repository lock; the image is not stored");
    if (!out_->commit(true)) fail(kExitUsage, "repo:" + header_.name + " was stored by another writer meanwhile");
    repo_.store().sync();
}

// ---- ImageReader ----

namespace {
// Bytes of coalesced reads in memory at once: requested, arrived, or
// still being decoded from.
constexpr uint64_t kFetchBudget = 12u << 20;
constexpr size_t kRequestsInFlight = 16;      // ranged reads sent at once
constexpr uint64_t kBatchBytes = 8u << 20;    // chunks located and planned together
constexpr size_t kBatchChunks = 1024;

// A ranged read's bytes, in memory of their own (mmap), returned to the
// system as soon as the last chunk is decoded from them: megabyte buffers
// freed by other threads would otherwise pile up in malloc's arenas.
struct MappedBytes {
    explicit MappedBytes(size_t capacity) : capacity(capacity) {
        void* p = ::mmap(nullptr, std::max<size_t>(capacity, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) fail(kExitIo, "cannot map " + std::to_string(capacity) + " bytes: " + errno_text(errno));
        data = static_cast<unsigned char*>(p);
    }
    ~MappedBytes() { ::munmap(data, std::max<size_t>(capacity, 1)); }
    MappedBytes(const MappedBytes&) = delete;
    MappedBytes& operator=(const MappedBytes&) = delete;
    unsigned char* data;
    size_t capacity, size = 0;
};

}  // namespace

struct ImageReader::Fetch {
    Fetch(std::shared_ptr<std::atomic<uint64_t>> total, uint64_t offset, uint64_t length)
        : total(std::move(total)), offset(offset), length(length) {
        *this->total += length;
    }
    ~Fetch() { *total -= length; }
    std::shared_ptr<std::atomic<uint64_t>> total;  // the reader's fetch_bytes_
    uint64_t offset = 0, length = 0;
    // The bytes read; null when the object is not there (or no read was
    // made): the chunk is then loaded alone, which says what is wrong.
    std::shared_future<std::shared_ptr<const MappedBytes>> bytes;
};

// Threads that run the ranged reads; reads not started when the reader
// jumps elsewhere are dropped.
class ImageReader::RequestPool {
public:
    explicit RequestPool(size_t threads) {
        for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }
    ~RequestPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            queue_.clear();
        }
        wake_.notify_all();
        for (auto& t : threads_) t.join();
    }
    void submit(std::packaged_task<void()> task) {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(task));
        }
        wake_.notify_one();
    }
    void drop_queued() {
        std::lock_guard lock(mutex_);
        queue_.clear();  // their futures report a broken promise; no one waits for them
    }

private:
    void work() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            auto task = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            task();
            lock.lock();
        }
    }
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::packaged_task<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

ImageReader::ImageReader(Repository& repo, const std::string& name)
    : repo_(repo), lock_(repo.lock_shared()), what_("repo:" + name),
      index_(repo.store(), (validate_name(name), Repository::index_key(name)), what_, repo.sealer()),
      pool_(chunk_worker_count()) {
    check_index_fits(repo, index_.header(), what_);
    in_flight_limit_ = chunks_in_flight(chunk_size(), chunk_worker_count(), 8u << 20);
    coalesce_ = repo.store().reads_are_requests() && repo.chunks().places_share_objects();
    if (coalesce_) requests_ = std::make_unique<RequestPool>(kRequestsInFlight);
}

ImageReader::~ImageReader() = default;

void ImageReader::damaged(uint64_t chunk, const ChunkId& id, const std::string& why) const {
    fail(kExitIntegrity, what_ + ": chunk " + std::to_string(chunk) + " at offset " +
                             std::to_string(chunk * chunk_size()) + " (id " + to_hex(id).substr(0, 16) + ") " + why);
}

void ImageReader::recycle(Loaded& loaded) {
    std::lock_guard lock(spare_mutex_);
    // Room for every buffer the chunks in flight and the current one can
    // hold (a file and a scratch buffer each), so none is unmapped only to be
    // mapped and faulted in again by the next job (that was 50,000 page
    // faults in a restore of 800 MiB). Buffers never used (the scratch of an
    // uncompressed chunk) are not worth keeping.
    for (auto* b : {&loaded.file, &loaded.scratch})
        if (*b && (*b)->capacity() > 0 && spare_.size() < 2 * (in_flight_limit_ + 1)) spare_.push_back(std::move(*b));
}

// Keeps the workers loading the next non-zero chunks after the read position.
void ImageReader::read_ahead() {
    if (coalesce_) {
        while (ahead_.size() < in_flight_limit_) {
            plan_ahead();
            if (planned_.empty()) return;
            Planned p = std::move(planned_.front());
            planned_.pop_front();
            submit_planned(std::move(p));
        }
        return;
    }
    while (ahead_.size() < in_flight_limit_ && next_ahead_ < index_.entries()) {
        uint64_t c = next_ahead_++;
        ChunkId id = index_.entry(c);
        if (is_zero_id(id)) continue;
        submit_load(c, id);
    }
}

// A chunk about to be loaded, with spare buffers if there are any.
ImageReader::Loaded ImageReader::start_loading(uint64_t c, const ChunkId& id) {
    Loaded l;
    l.chunk = c;
    l.id = id;
    {
        std::lock_guard lock(spare_mutex_);
        for (auto* b : {&l.file, &l.scratch}) {
            if (spare_.empty()) break;
            *b = std::move(spare_.back());
            spare_.pop_back();
        }
    }
    if (!l.file) l.file = std::make_unique<Bytes>();
    if (!l.scratch) l.scratch = std::make_unique<Bytes>();
    return l;
}

// A worker loads the chunk by itself (one read of its object).
void ImageReader::submit_load(uint64_t c, const ChunkId& id) {
    ahead_.push_back(c);
    pool_.submit([this, c, id, hash = hash_chunks_] {
        Loaded l = start_loading(c, id);
        l.error = hash ? repo_.load_chunk(id, *l.file, *l.scratch, l.plain)
                       : repo_.load_chunk_unhashed(id, *l.file, *l.scratch, l.plain);
        return l;
    });
}

// Locates the chunks after those planned and sends their coalesced reads,
// a batch at a time, while the reads outstanding hold less than
// kFetchBudget bytes.
void ImageReader::plan_ahead() {
    while (*fetch_bytes_ < kFetchBudget && next_ahead_ < index_.entries()) {
        std::vector<Planned> batch;
        uint64_t bytes = 0;
        while (bytes < kBatchBytes && batch.size() < kBatchChunks && next_ahead_ < index_.entries()) {
            Planned p;
            p.chunk = next_ahead_++;
            p.id = index_.entry(p.chunk);
            if (is_zero_id(p.id)) continue;
            if (auto place = repo_.chunks().where(p.id)) p.piece = {place->key, place->offset, place->length};
            bytes += p.piece.length;
            batch.push_back(std::move(p));
        }
        plan_batch(std::move(batch));
    }
}

// Sends the batch's reads, in the order its chunks are needed.
void ImageReader::plan_batch(std::vector<Planned> batch) {
    std::vector<ReadPiece> pieces;
    for (const auto& p : batch) pieces.push_back(p.piece);
    using Got = std::shared_ptr<const MappedBytes>;
    for (const ReadRun& run : plan_reads(pieces)) {
        auto fetch = std::make_shared<Fetch>(fetch_bytes_, run.offset, run.length);
        for (size_t i : run.pieces) batch[i].fetch = fetch;
        auto promise = std::make_shared<std::promise<Got>>();
        fetch->bytes = promise->get_future().share();
        if (run.key.empty()) {  // located nowhere: loaded alone, which says so
            promise->set_value(nullptr);
            continue;
        }
        requests_->submit(std::packaged_task<void()>([&store = repo_.store(), run, promise] {
            try {
                auto bytes = std::make_shared<MappedBytes>(run.length);
                auto got = store.read_range(run.key, run.offset, run.length, bytes->data);
                if (got) bytes->size = *got;
                promise->set_value(got ? Got(std::move(bytes)) : nullptr);
            } catch (...) {
                promise->set_exception(std::current_exception());
            }
        }));
    }
    for (auto& p : batch) planned_.push_back(std::move(p));
}

// A worker takes the chunk's bytes from its coalesced read and checks
// them; bytes that are not there or do not verify are loaded again alone
// (another copy, or an error naming what is wrong).
void ImageReader::submit_planned(Planned p) {
    ahead_.push_back(p.chunk);
    pool_.submit([this, p = std::move(p), hash = hash_chunks_] {
        Loaded l = start_loading(p.chunk, p.id);
        auto bytes = p.fetch->bytes.get();  // rethrows the read's error
        const uint64_t skip = p.piece.offset - p.fetch->offset;
        if (bytes && p.piece.offset >= p.fetch->offset && skip + p.piece.length <= bytes->size) {
            l.file->reset(p.piece.length);
            if (p.piece.length) std::memcpy(l.file->data(), bytes->data + skip, p.piece.length);
            l.error = repo_.check_chunk(p.id, *l.file, *l.scratch, l.plain, hash);
            if (l.error.empty()) return l;
        }
        l.error = hash ? repo_.load_chunk(p.id, *l.file, *l.scratch, l.plain)
                       : repo_.load_chunk_unhashed(p.id, *l.file, *l.scratch, l.plain);
        return l;
    });
}

// After a jump: nothing planned is wanted any more.
void ImageReader::forget_planned() {
    if (!coalesce_) return;
    requests_->drop_queued();
    planned_.clear();  // their reads' bytes are released as the reads end
}

const ImageReader::Loaded& ImageReader::chunk(uint64_t index) {
    if (current_ && current_->chunk == index) return *current_;
    if (current_) recycle(*current_);
    current_.reset();
    if (ahead_.empty() || index < ahead_.front() || index > ahead_.back()) {
        // Not among the chunks loading: start over from here.
        pool_.discard();
        ahead_.clear();
        forget_planned();
        next_ahead_ = index;
    }
    read_ahead();
    while (!ahead_.empty() && ahead_.front() < index) {  // skipped by the reader
        Loaded skipped = pool_.next();
        recycle(skipped);
        ahead_.pop_front();
        read_ahead();
    }
    if (ahead_.empty() || ahead_.front() != index) throw std::logic_error("ImageReader: chunk not loading");
    Loaded l = pool_.next();
    ahead_.pop_front();
    read_ahead();
    if (!l.error.empty()) damaged(index, l.id, "is " + l.error);
    uint64_t expected = std::min<uint64_t>(chunk_size(), size() - index * chunk_size());
    if (l.plain.size != expected)
        damaged(index, l.id, "has " + std::to_string(l.plain.size) + " bytes, expected " + std::to_string(expected));
    return current_.emplace(std::move(l));
}

bool ImageReader::rely_on_digest_check() {
    if (trailer().digest.empty() || current_ || !ahead_.empty() || !planned_.empty()) return false;
    hash_chunks_ = false;
    return true;
}

void ImageReader::check_digest(const std::string& digest_hex) {
    if (digest_hex == trailer().digest) return;
    // Rare: find the chunk to blame, checking each fully, one by one.
    pool_.discard();
    ahead_.clear();
    forget_planned();
    Bytes file, scratch;
    for (uint64_t c = 0; c < index_.entries(); ++c) {
        ChunkId id = index_.entry(c);
        if (is_zero_id(id)) continue;
        PlainView plain;
        std::string error = repo_.load_chunk(id, file, scratch, plain);
        if (!error.empty()) damaged(c, id, "is " + error);
    }
    fail(kExitIntegrity, what_ + ": the image as read has digest " + digest_hex + ", its index records " +
                             trailer().digest + ", yet every chunk now hashes to its id (a read went wrong, or the "
                             "index's digest is)");
}

void ImageReader::read(uint64_t offset, void* buffer, size_t length) {
    if (offset > size() || length > size() - offset)
        fail(kExitIo, what_ + ": read beyond the end of the image");
    const uint64_t cs = chunk_size();
    auto* out = static_cast<unsigned char*>(buffer);
    for (uint64_t c = offset / cs; c * cs < offset + length; ++c) {
        uint64_t start = std::max(offset, c * cs), end = std::min(offset + length, (c + 1) * cs);
        if (is_zero_id(index_.entry(c)))
            std::memset(out + (start - offset), 0, end - start);
        else
            std::memcpy(out + (start - offset), chunk(c).plain.data + (start - c * cs), end - start);
    }
}

const unsigned char* ImageReader::lend(uint64_t offset, size_t length) {
    const uint64_t cs = chunk_size(), c = offset / cs;
    if (offset > size() || length > size() - offset || (length > 0 && (offset + length - 1) / cs != c))
        fail(kExitIo, what_ + ": lend of a range that is not within one chunk of the image");
    if (is_zero_id(index_.entry(c))) return nullptr;
    return chunk(c).plain.data + (offset - c * cs);
}

}  // namespace hci::repo
