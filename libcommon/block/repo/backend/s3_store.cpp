// The S3 object store: keys under a prefix of one bucket, through s3::Client.
#include "libcommon/block/repo/backend/s3_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <exception>
#include <mutex>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/backend/object_cache.h"
#include "libcommon/block/repo/backend/lease_lock.h"
#include "libcommon/block/repo/backend/spool_writer.h"
#include "libcommon/s3/client.h"

namespace hci::repo {
namespace {

// f(0) ... f(n - 1) on up to 16 threads; the first error is rethrown.
void parallel_for(size_t n, const std::function<void(size_t)>& f) {
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex mu;
    auto work = [&] {
        for (size_t i; (i = next++) < n;) {
            try {
                f(i);
            } catch (...) {
                std::lock_guard<std::mutex> g(mu);
                if (!error) error = std::current_exception();
                next = n;
            }
        }
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::min<size_t>(n, 16); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
}

// An object read in ranges, one GET each. Small reads (a pack's tail, then
// its table just before it) are served from one window fetched around
// them, so reading a pack's table costs one GET, not two; larger ones
// (chunks) get exactly their range. Packs and indexes are immutable, so
// the version opened is the version read. Thread-safe (the pack store
// shares a reader among its workers); no lock is held during a GET.
class S3Reader : public ObjectReader {
public:
    static constexpr size_t kWindow = 64u << 10;

    S3Reader(s3::Client& client, std::string key, uint64_t size) : client_(client), key_(std::move(key)), size_(size) {}
    uint64_t size() const override { return size_; }

    // The window at `start` known already (a pack's tail from the cache).
    void preload(uint64_t start, std::vector<unsigned char> bytes) {
        window_ = std::make_shared<std::vector<unsigned char>>(std::move(bytes));
        window_start_ = start;
    }
    // Called with each window fetched (to keep a pack's tail in the cache).
    void on_window(std::function<void(uint64_t start, const std::vector<unsigned char>&)> hook) {
        on_window_ = std::move(hook);
    }

    size_t read(uint64_t offset, size_t length, unsigned char* out) override {
        if (offset >= size_ || length == 0) return 0;
        length = static_cast<size_t>(std::min<uint64_t>(length, size_ - offset));
        if (length >= kWindow / 4) return fetch(offset, length, out);
        {
            std::lock_guard<std::mutex> g(mu_);
            if (window_ && offset >= window_start_ && offset + length <= window_start_ + window_->size()) {
                std::memcpy(out, window_->data() + (offset - window_start_), length);
                return length;
            }
        }
        // A window that ends at the object's end when the read is near it
        // (what comes before the tail is the table).
        uint64_t end = std::min<uint64_t>(size_, offset + kWindow);
        uint64_t start = end - std::min<uint64_t>(end, kWindow);
        start = std::min(start, offset);
        auto window = std::make_shared<std::vector<unsigned char>>(static_cast<size_t>(end - start));
        window->resize(fetch(start, window->size(), window->data()));
        size_t skip = static_cast<size_t>(offset - start);
        size_t n = window->size() > skip ? std::min(length, window->size() - skip) : 0;
        std::memcpy(out, window->data() + skip, n);
        if (on_window_) on_window_(start, *window);
        std::lock_guard<std::mutex> g(mu_);
        window_ = std::move(window);
        window_start_ = start;
        return n;
    }

private:
    size_t fetch(uint64_t offset, size_t length, unsigned char* out) {
        auto got = client_.get_range(key_, offset, length, out);
        if (!got) fail(kExitNotFound, client_.where(key_) + " disappeared while it was read");
        return *got;
    }

    s3::Client& client_;
    std::string key_;
    uint64_t size_;
    std::mutex mu_;
    std::shared_ptr<std::vector<unsigned char>> window_;
    uint64_t window_start_ = 0;
    std::function<void(uint64_t, const std::vector<unsigned char>&)> on_window_;
};

// Objects up to this size are built in memory; larger ones (packs, big
// indexes) in a spool file, so memory stays bounded (spool_writer.h).
constexpr size_t kSpoolAbove = 1u << 20;

// Objects whose key names one version for ever (a pack's table, an image's
// index): the ETag a listing gave for them is still theirs when they are
// read, so the cache can be consulted without asking the server.
bool immutable_key(const std::string& key) {
    return key.ends_with(".table") || key.ends_with(".fidx") || key.ends_with(".pack");
}
constexpr size_t kMaxListedVersions = 50000;  // about 7 MiB of keys and ETags
// Objects read by many small ranged reads, better fetched whole once.
bool read_whole(const std::string& key) { return key.ends_with(".fidx") || key.starts_with("packs/locator"); }
constexpr uint64_t kMaxWholeRead = 1ull << 30;

std::vector<unsigned char> read_fd(int fd) {
    std::vector<unsigned char> bytes;
    unsigned char buffer[65536];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd, buffer, sizeof buffer, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(kExitIo, "cannot read a cached object: " + errno_text(errno));
        if (n == 0) break;
        bytes.insert(bytes.end(), buffer, buffer + n);
        at += n;
    }
    ::close(fd);
    return bytes;
}

class S3Store : public ObjectStore {
public:
    S3Store(S3Location location, std::unique_ptr<s3::Client> client, std::unique_ptr<ObjectCache> cache)
        : prefix_(location.prefix.empty() ? "" : location.prefix + "/"), client_(std::move(client)),
          cache_(std::move(cache)) {}

    void save(const std::string& key, const void* data, size_t length) override {
        validate_key(key);
        client_->put(prefix_ + key, data, length, false);
    }

    bool create(const std::string& key, const void* data, size_t length) override {
        validate_key(key);
        return client_->put(prefix_ + key, data, length, true);
    }

    std::optional<std::vector<unsigned char>> load(const std::string& key, uint64_t offset, uint64_t length) override {
        validate_key(key);
        // Whole tables and indexes through the cache (not packs: a damaged
        // pack read whole by repair would only crowd it).
        if (cache_ && offset == 0 && length == 0 && immutable_key(key) && !key.ends_with(".pack")) {
            if (auto listed = listed_version(key)) {
                int fd = cache_->open(key, listed->etag);
                if (fd >= 0) return read_fd(fd);
            }
            int fd = -1;
            if (!download(key, fd)) return std::nullopt;
            if (fd >= 0) return read_fd(fd);
        }
        return client_->get(prefix_ + key, offset, length);
    }

    std::optional<size_t> read_range(const std::string& key, uint64_t offset, size_t length,
                                     unsigned char* out) override {
        validate_key(key);
        return client_->get_range(prefix_ + key, offset, length, out);
    }

    std::optional<ObjectInfo> stat(const std::string& key) override {
        validate_key(key);
        auto h = client_->head(prefix_ + key);
        if (!h) return std::nullopt;
        return ObjectInfo{key, h->size};
    }

    void list(const std::string& prefix, const std::function<void(const ObjectInfo&)>& visit) override {
        // Each page is whole before its keys are visited, so a visitor may
        // use the store (the client is thread-safe and re-entrant).
        client_->list(prefix_ + prefix, [&](const s3::Client::Listed& e) {
            std::string key = e.key.substr(prefix_.size());
            if (cache_ && immutable_key(key)) remember_version(key, {e.size, e.etag});
            visit(ObjectInfo{key, e.size});
        });
    }

    uint64_t remove(const std::vector<std::string>& keys) override {
        // DeleteObjects says "deleted" for missing keys too: the count of
        // what was there comes from a HEAD of each key first (in parallel).
        for (const auto& key : keys) validate_key(key);
        {
            std::lock_guard<std::mutex> g(listed_mu_);
            for (const auto& key : keys) listed_.erase(key);
        }
        std::vector<char> there(keys.size(), 0);
        parallel_for(keys.size(), [&](size_t i) { there[i] = client_->head(prefix_ + keys[i]).has_value(); });
        std::vector<std::string> present;
        for (size_t i = 0; i < keys.size(); ++i)
            if (there[i]) present.push_back(prefix_ + keys[i]);
        for (size_t i = 0; i < present.size(); i += 1000) {
            std::vector<std::string> batch(present.begin() + static_cast<ptrdiff_t>(i),
                                           present.begin() + static_cast<ptrdiff_t>(std::min(present.size(), i + 1000)));
            client_->remove_many(batch);
        }
        return present.size();
    }

    std::unique_ptr<ObjectReader> open_reader(const std::string& key) override {
        validate_key(key);
        auto h = immutable_key(key) ? listed_version(key) : std::nullopt;
        if (!h) h = client_->head(prefix_ + key);
        if (!h) return nullptr;
        if (read_whole(key) && h->size <= kMaxWholeRead) {
            int fd = cache_ ? cache_->open(key, h->etag) : -1;
            if (fd < 0 && !download(key, fd)) return nullptr;
            if (fd >= 0) {
                struct stat st {};
                if (::fstat(fd, &st) == 0) return open_file_reader(fd, static_cast<uint64_t>(st.st_size));
                ::close(fd);
            }
        }
        auto reader = std::make_unique<S3Reader>(*client_, prefix_ + key, h->size);
        if (cache_ && key.ends_with(".pack")) cache_pack_tail(*reader, key, *h);
        return reader;
    }

    std::unique_ptr<ObjectWriter> open_writer(const std::string& key) override {
        validate_key(key);
        std::string full = prefix_ + key;
        SpoolCommit commit;
        commit.from_memory = [this, full](const unsigned char* data, size_t length, bool create_only,
                                          const std::string& sha256_hex) {
            return client_->put(full, data, length, create_only, sha256_hex);
        };
        commit.from_file = [this, full](int fd, uint64_t length, bool create_only, const std::string& sha256_hex) {
            return client_->put_file(full, fd, length, create_only, sha256_hex);
        };
        return open_spool_writer(client_->where(full), kSpoolAbove, s3::kMaxPutSize, std::move(commit));
    }

    uint64_t max_object_size() const override { return s3::kMaxPutSize; }
    bool reads_are_requests() const override { return true; }

    int64_t now() override { return client_->server_time(); }
    void sync() override {}  // a PUT that returned 200 is durable
    std::string where(const std::string& key) const override { return client_->where(prefix_ + key); }
    // No flock on S3: a lease object under locks/NAME/ (lease_lock.h).
    std::unique_ptr<StoreLock> lock(const std::string& name, bool exclusive, bool wait) override {
        return LeaseLock::take(*this, name, exclusive, wait);
    }
    bool locks_are_leases() const override { return true; }

private:
    // The whole object into a file: the cache's (kept when its bytes hash
    // to the ETag the GET answered with) or, without a cache, an unnamed
    // one. False when the object is not there; `fd` -1 when it could not
    // be kept (the caller reads it from the server instead).
    bool download(const std::string& key, int& fd) {
        fd = -1;
        if (!cache_) {
            int file = open_spool_file();
            auto got = client_->get_to_file(prefix_ + key, file);
            if (!got) {
                ::close(file);
                return false;
            }
            if (ObjectCache::checkable(got->etag) && s3::file_md5_hex(file, got->size) != got->etag)
                fail(kExitIntegrity, client_->where(prefix_ + key) + ": the bytes received do not hash to its ETag");
            fd = file;
            return true;
        }
        auto incoming = cache_->begin();
        std::optional<s3::ObjectHead> got;
        try {
            got = client_->get_to_file(prefix_ + key, incoming.fd);
        } catch (...) {
            cache_->discard(std::move(incoming));
            throw;
        }
        if (!got) {
            cache_->discard(std::move(incoming));
            return false;
        }
        fd = cache_->publish(std::move(incoming), key, got->etag);
        return true;
    }

    // A pack's tail (its table, what check and gc read of every pack) from
    // the cache, or kept there once read.
    void cache_pack_tail(S3Reader& reader, const std::string& key, const s3::ObjectHead& head) {
        const uint64_t tail = std::min<uint64_t>(head.size, S3Reader::kWindow);
        if (auto part = cache_->open_part(key, head.etag); part && part->size() == tail) {
            reader.preload(head.size - tail, std::move(*part));
            return;
        }
        reader.on_window([this, key, head, tail](uint64_t start, const std::vector<unsigned char>& window) {
            if (window.size() == tail && start + tail == head.size) cache_->keep_part(key, head.etag, window.data(), tail);
        });
    }

    std::optional<s3::ObjectHead> listed_version(const std::string& key) {
        std::lock_guard<std::mutex> g(listed_mu_);
        auto it = listed_.find(key);
        if (it == listed_.end()) return std::nullopt;
        return it->second;
    }
    void remember_version(const std::string& key, s3::ObjectHead head) {
        std::lock_guard<std::mutex> g(listed_mu_);
        if (listed_.size() < kMaxListedVersions || listed_.count(key)) listed_[key] = std::move(head);
    }

    std::string prefix_;  // "" or "PREFIX/"
    std::unique_ptr<s3::Client> client_;
    std::unique_ptr<ObjectCache> cache_;  // null: no cache
    std::mutex listed_mu_;
    std::unordered_map<std::string, s3::ObjectHead> listed_;  // immutable keys' versions as listed
};

}  // namespace

S3Location parse_s3_url(const std::string& url) {
    if (!is_s3_url(url)) fail(kExitUsage, "not an S3 repository '" + quote_input(url) + "' (s3://BUCKET/PREFIX)");
    std::string rest = url.substr(5);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    S3Location loc;
    auto slash = rest.find('/');
    loc.bucket = rest.substr(0, slash);
    if (slash != std::string::npos) loc.prefix = rest.substr(slash + 1);
    if (!s3::valid_bucket_name(loc.bucket))
        fail(kExitUsage, "bad S3 bucket name in '" + quote_input(url) + "' (3-63 of a-z 0-9 . -)");
    if (!loc.prefix.empty()) {
        try {
            validate_key(loc.prefix);
        } catch (const Error& e) {
            fail(kExitUsage, "bad prefix in '" + quote_input(url) + "': " + e.what());
        }
    }
    return loc;
}

std::unique_ptr<ObjectStore> open_s3_store(const std::string& url, const S3StoreOptions& options, const EnvLookup& env) {
    S3Location loc = parse_s3_url(url);
    auto client = std::make_unique<s3::Client>(loc.bucket, s3::resolve_options(options.s3, env), s3::load_credentials(env));
    if (!client->bucket_exists()) {
        if (!options.create_bucket)
            fail(kExitNotFound, "S3 bucket " + client->where("") + " at " + client->endpoint().url() +
                                    " does not exist (NoSuchBucket)");
        client->create_bucket();
    }
    std::unique_ptr<ObjectCache> cache;
    if (options.cache) {
        std::string dir = cache_dir_for(client->endpoint().url() + " " + url, env);
        try {
            if (!dir.empty()) cache = std::make_unique<ObjectCache>(dir, cache_size_from(env));
        } catch (const Error& e) {
            log_warning(std::string(e.what()) + "; going on without a local cache (ZADP_CACHE_DIR)");
        }
    }
    return std::make_unique<S3Store>(std::move(loc), std::move(client), std::move(cache));
}

}  // namespace hci::repo
