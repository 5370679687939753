// The S3 object store: keys under a prefix of one bucket, through s3::Client.
#include "libcommon/block/repo/backend/s3_store.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/lease_lock.h"
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

class S3Store : public ObjectStore {
public:
    S3Store(S3Location location, std::unique_ptr<s3::Client> client)
        : prefix_(location.prefix.empty() ? "" : location.prefix + "/"), client_(std::move(client)) {}

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
        return client_->get(prefix_ + key, offset, length);
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
        client_->list(prefix_ + prefix, [&](const std::string& key, uint64_t size) {
            visit(ObjectInfo{key.substr(prefix_.size()), size});
        });
    }

    uint64_t remove(const std::vector<std::string>& keys) override {
        // DeleteObjects says "deleted" for missing keys too: the count of
        // what was there comes from a HEAD of each key first (in parallel).
        for (const auto& key : keys) validate_key(key);
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

    int64_t now() override { return client_->server_time(); }
    void sync() override {}  // a PUT that returned 200 is durable
    std::string where(const std::string& key) const override { return client_->where(prefix_ + key); }
    // No flock on S3: a lease object under locks/NAME/ (lease_lock.h).
    std::unique_ptr<StoreLock> lock(const std::string& name, bool exclusive, bool wait) override {
        return LeaseLock::take(*this, name, exclusive, wait);
    }
    bool locks_are_leases() const override { return true; }

private:
    std::string prefix_;  // "" or "PREFIX/"
    std::unique_ptr<s3::Client> client_;
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
    return std::make_unique<S3Store>(std::move(loc), std::move(client));
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

}  // namespace hci::repo
