// Leases as objects under locks/NAME/ (lease_lock.h has the protocol).
#include "libcommon/block/repo/backend/lease_lock.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/crypto.h"

namespace hci::repo {
namespace {

// Who holds a lease: ZADP_HOST_ID (several "hosts" on one machine, or a
// container's meaningless hostname), else the host name.
std::string host_name() {
    if (const char* id = std::getenv("ZADP_HOST_ID"); id && *id) return id;
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

struct Lease {
    bool exclusive = true;  // what cannot be read conflicts with everything
    int64_t time = 0;
    int64_t ttl = 0;
    std::string holder;
};

// A lease object's body; nullopt when it does not parse.
std::optional<Lease> parse_lease(const std::vector<unsigned char>& bytes) {
    try {
        auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
        const auto& o = v.as_object();
        Lease l;
        l.exclusive = o.at("exclusive").as_bool();
        l.time = o.at("time").to_number<int64_t>();
        l.ttl = o.at("ttl").to_number<int64_t>();
        l.holder = std::string(o.at("host").as_string()) + " pid " + std::to_string(o.at("pid").to_number<int64_t>());
        return l;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void pause_about(int64_t ms) {
    unsigned char r = 0;
    random_bytes(&r, 1);  // jitter, so two takers backing off do not meet again
    std::this_thread::sleep_for(std::chrono::milliseconds(ms / 2 + ms * r / 255));
}


// The first live lease under `dir` other than `mine` that conflicts with
// it, named for messages ("" when none); dead ones are removed.
std::string find_conflict(ObjectStore& store, const std::string& dir, const std::string& mine, bool exclusive) {
    // The store's time before any lease is read: a lease judged dead by it
    // was last refreshed before anything read later (lease_lock.h).
    int64_t now = store.now();
    std::string conflict;
    std::vector<std::string> dead;
    store.list(dir, [&](const ObjectInfo& info) {
        if (info.key == mine || !conflict.empty()) return;
        auto bytes = store.load(info.key);
        if (!bytes) return;  // released meanwhile
        auto lease = parse_lease(*bytes);
        if (lease && now - lease->time > std::max<int64_t>(lease->ttl, 1)) {
            dead.push_back(info.key);
            return;
        }
        if (exclusive || !lease || lease->exclusive)
            conflict = store.where(info.key) + (lease ? " (" + lease->holder + ")" : " (unreadable)");
    });
    if (!dead.empty()) {
        store.remove(dead);
        log_info("removed " + std::to_string(dead.size()) + " expired lease(s) under " + store.where(dir));
    }
    return conflict;
}

}  // namespace

std::string lease_text(bool exclusive, int64_t time, int64_t ttl) {
    boost::json::object o;
    o["host"] = host_name();
    o["pid"] = static_cast<int64_t>(::getpid());
    o["exclusive"] = exclusive;
    o["time"] = time;
    o["ttl"] = ttl;
    return boost::json::serialize(o) + "\n";
}

bool lease_alive(ObjectStore& store, const std::string& key, int64_t now) {
    auto bytes = store.load(key);
    if (!bytes) return false;
    auto lease = parse_lease(*bytes);
    return !lease || now - lease->time <= std::max<int64_t>(lease->ttl, 1);
}

LeaseOptions LeaseOptions::from_env() {
    LeaseOptions o;
    const char* v = std::getenv("ZADP_REPO_LEASE_TTL");
    if (!v || !*v) return o;
    char* end = nullptr;
    long long ttl = std::strtoll(v, &end, 10);
    if (*end || ttl < 2 || ttl > 86400) fail(kExitUsage, "ZADP_REPO_LEASE_TTL must be seconds from 2 to 86400");
    o.ttl_s = ttl;
    o.refresh_ms = ttl * 1000 / 5;
    o.poll_ms = std::min<int64_t>(1000, ttl * 1000 / 4);
    return o;
}

// Refreshes every refresh_ms until stopped.
struct LeaseLock::Refresher {
    std::mutex mu;
    std::condition_variable stop_cv;
    bool stop = false;
    std::thread thread;
};

LeaseLock::LeaseLock(ObjectStore& store, std::string key, bool exclusive, int64_t written, const LeaseOptions& options)
    : store_(store), key_(std::move(key)), exclusive_(exclusive), options_(options), last_(written) {
    if (options_.refresh_ms <= 0) return;
    refresher_ = std::make_unique<Refresher>();
    refresher_->thread = std::thread([this] {
        auto& r = *refresher_;
        std::unique_lock<std::mutex> g(r.mu);
        while (!r.stop_cv.wait_for(g, std::chrono::milliseconds(options_.refresh_ms), [&] { return r.stop; })) {
            g.unlock();
            bool ok = refresh();
            g.lock();
            if (!ok) {
                std::lock_guard<std::mutex> h(mu_);
                if (lost_) break;  // too late: never refreshed again
            }
        }
    });
}

LeaseLock::~LeaseLock() {
    if (refresher_) {
        {
            std::lock_guard<std::mutex> g(refresher_->mu);
            refresher_->stop = true;
        }
        refresher_->stop_cv.notify_all();
        refresher_->thread.join();
    }
    try {
        store_.remove({key_});
    } catch (const std::exception& e) {
        log_warning(std::string("could not remove the lease ") + store_.where(key_) + " (" + e.what() +
                    "); it expires by itself");
    }
}

bool LeaseLock::refresh() {
    int64_t last;
    {
        std::lock_guard<std::mutex> g(mu_);
        if (lost_) return false;
        last = last_;
    }
    try {
        int64_t t = store_.now();
        std::string text = lease_text(exclusive_, t, options_.ttl_s);
        store_.save(key_, text.data(), text.size());
        // A taker judges our lease by the store's time it read before it
        // loaded the lease: if ours landed before last + ttl, any taker that
        // judged the old one dead read after that and saw the new one.
        int64_t after = store_.now();
        std::lock_guard<std::mutex> g(mu_);
        if (after - last >= options_.ttl_s) {
            lost_ = true;
            log_error("the lease " + store_.where(key_) + " was refreshed too late (" + std::to_string(after - last) +
                      " s after the last refresh, TTL " + std::to_string(options_.ttl_s) +
                      " s): another process may hold the lock now; nothing more is committed");
            return false;
        }
        last_ = t;
        failing_ = false;
        return true;
    } catch (const std::exception& e) {
        log_warning("could not refresh the lease " + store_.where(key_) + " (" + e.what() + "); retrying");
        std::lock_guard<std::mutex> g(mu_);
        failing_ = true;
        return false;
    }
}

bool LeaseLock::held() const {
    int64_t last;
    bool failing;
    {
        std::lock_guard<std::mutex> g(mu_);
        if (lost_) return false;
        failing = failing_;
        last = last_;
    }
    // A store that cannot be asked its time throws its own error (the
    // server gone: exit 3, the endpoint named), which says more than "lost
    // the lock". Else half the TTL left at least, for the commit that
    // follows to land while the lease is surely alive.
    int64_t now = store_.now();
    return !failing && now - last < options_.ttl_s / 2;
}

std::unique_ptr<LeaseLock> LeaseLock::take(ObjectStore& store, const std::string& name, bool exclusive, bool wait,
                                           const LeaseOptions& options) {
    validate_key(name);
    const std::string dir = "locks/" + name + "/";
    bool said = false;
    int collisions = 0;
    for (;;) {
        unsigned char id[12];
        random_bytes(id, sizeof id);
        std::string key = dir + (exclusive ? "x-" : "s-") + to_hex(id, sizeof id);
        int64_t written = store.now();
        std::string text = lease_text(exclusive, written, options.ttl_s);
        if (!store.create(key, text.data(), text.size())) {
            // 96 random bits never meet twice: the store does not create.
            if (++collisions == 3) fail(kExitIo, store.where(key) + ": could not create a lease object");
            continue;
        }
        std::string conflict;
        try {
            conflict = find_conflict(store, dir, key, exclusive);
        } catch (...) {
            store.remove({key});
            throw;
        }
        if (conflict.empty()) return std::make_unique<LeaseLock>(store, key, exclusive, written, options);
        store.remove({key});
        if (!wait) return nullptr;
        if (!said) log_warning("waiting for the lease " + conflict + " to end");
        said = true;
        pause_about(options.poll_ms);
    }
}

}  // namespace hci::repo
