// Leases as objects (lease_lock.h) on the memory store with its clock in
// the test's hands, and once on the test bed's RGW (unit-s3).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "libcommon/block/repo/backend/lease_lock.h"
#include "s3_test_util.h"

using namespace hci;
using repo::LeaseLock;
using repo::LeaseOptions;

namespace {

// TTL 100 s, no refresh thread: the test refreshes.
LeaseOptions manual(int64_t ttl = 100) { return LeaseOptions{ttl, 0, 10}; }

size_t leases(repo::ObjectStore& store, const std::string& name) {
    size_t n = 0;
    store.list("locks/" + name + "/", [&](const repo::ObjectInfo&) { ++n; });
    return n;
}

}  // namespace

TEST_CASE("Leases: shared with shared, never exclusive with anything; released leases are removed", "[lease]") {
    int64_t clock = 1000;
    auto store = repo::open_memory_store([&] { return clock; });
    auto a = LeaseLock::take(*store, "lock", false, false, manual());
    auto b = LeaseLock::take(*store, "lock", false, false, manual());
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->held());
    CHECK(!LeaseLock::take(*store, "lock", true, false, manual()));
    CHECK(leases(*store, "lock") == 2);  // the refused taker removed its own
    a.reset();
    b.reset();
    CHECK(leases(*store, "lock") == 0);
    auto x = LeaseLock::take(*store, "lock", true, false, manual());
    REQUIRE(x);
    CHECK(!LeaseLock::take(*store, "lock", false, false, manual()));
    CHECK(!LeaseLock::take(*store, "lock", true, false, manual()));
    CHECK(LeaseLock::take(*store, "other", true, false, manual()));  // names are apart
}

TEST_CASE("Leases: an expired lease is removed by the next taker; its holder's held() turns false", "[lease]") {
    int64_t clock = 1000;
    auto store = repo::open_memory_store([&] { return clock; });
    auto old = LeaseLock::take(*store, "lock", false, false, manual(100));
    REQUIRE(old);
    clock += 60;
    CHECK(!old->held());  // more than TTL/2 since its last refresh: commits nothing
    CHECK(old->refresh());  // in time: alive again
    CHECK(old->held());
    clock += 100;  // exactly the TTL: still alive
    CHECK(!LeaseLock::take(*store, "lock", true, false, manual(100)));
    clock += 1;  // past it: dead, taken over
    auto gc = LeaseLock::take(*store, "lock", true, false, manual(100));
    REQUIRE(gc);
    CHECK(leases(*store, "lock") == 1);
    CHECK(!old->held());
    CHECK(!old->refresh());  // too late: lost for good
    clock -= 100;  // whatever the clock says later
    CHECK(!old->held());
}

TEST_CASE("Leases: a refresh keeps a lease alive beyond its TTL; the TTL is the holder's", "[lease]") {
    int64_t clock = 1000;
    auto store = repo::open_memory_store([&] { return clock; });
    auto a = LeaseLock::take(*store, "lock", true, false, manual(10));
    REQUIRE(a);
    for (int i = 0; i < 5; ++i) {
        clock += 4;
        CHECK(a->refresh());
    }
    // A taker with a longer TTL of its own still judges by the lease's.
    CHECK(!LeaseLock::take(*store, "lock", true, false, manual(1000)));
    clock += 11;
    CHECK(LeaseLock::take(*store, "lock", true, false, manual(1000)));
}

TEST_CASE("Leases: a waiting taker gets the lease once its holder ends", "[lease]") {
    auto store = repo::open_memory_store();
    auto holder = LeaseLock::take(*store, "lock", false, false, manual());
    REQUIRE(holder);
    std::atomic<bool> got{false};
    std::thread waiter([&] {
        auto x = LeaseLock::take(*store, "lock", true, true, manual());
        got = x != nullptr;
    });
    while (leases(*store, "lock") == 1) std::this_thread::yield();  // it tried at least once
    CHECK(!got);
    holder.reset();
    waiter.join();
    CHECK(got);
    CHECK(leases(*store, "lock") == 0);
}

TEST_CASE("Leases: the refresh thread rewrites the lease with the store's time", "[lease]") {
    std::atomic<int64_t> clock{1000};
    auto store = repo::open_memory_store([&] { return clock.load(); });
    auto a = LeaseLock::take(*store, "lock", true, false, LeaseOptions{100, 5, 10});
    REQUIRE(a);
    clock = 5000;
    // Until the thread wrote the new time, the lease reads as dead at 5000.
    for (;;) {
        auto text = store->load(a->key());
        REQUIRE(text);
        if (std::string(text->begin(), text->end()).find("\"time\":5000") != std::string::npos) break;
        std::this_thread::yield();
    }
    CHECK(!a->held());  // refreshed too late (4000 s after the last): lost
}

TEST_CASE("Leases on RGW: exclusive refused beside a live lease, expired one taken over", "[.][s3]") {
    auto store = s3_test::fresh_store();
    auto a = store->lock("lock", false, false);
    REQUIRE(a);
    CHECK(a->held());
    CHECK(!store->lock("lock", true, false));
    a.reset();
    // A lease a killed holder left, written 10 minutes ago by the server's clock.
    std::string text = repo::lease_text(true, store->now() - 600, 300);
    REQUIRE(store->create("locks/lock/x-deadbeef", text.data(), text.size()));
    auto b = store->lock("lock", true, false);
    REQUIRE(b);
    CHECK(b->held());
    CHECK(!store->stat("locks/lock/x-deadbeef"));
    b.reset();
    size_t left = 0;
    store->list("locks/", [&](const repo::ObjectInfo&) { ++left; });
    CHECK(left == 0);
}

namespace {

// The memory store whose saves fail while `broken` (a store that stopped
// answering): only what a lease's refresh uses is passed through.
class BreakableStore : public repo::ObjectStore {
public:
    explicit BreakableStore(std::function<int64_t()> clock) : inner_(repo::open_memory_store(std::move(clock))) {}
    bool broken = false;
    void save(const std::string& key, const void* data, size_t length) override {
        if (broken) throw std::runtime_error("HTTP 503 SlowDown after the retries");
        inner_->save(key, data, length);
    }
    bool create(const std::string& key, const void* data, size_t length) override { return inner_->create(key, data, length); }
    std::optional<std::vector<unsigned char>> load(const std::string& key, uint64_t offset, uint64_t length) override {
        return inner_->load(key, offset, length);
    }
    std::optional<repo::ObjectInfo> stat(const std::string& key) override { return inner_->stat(key); }
    void list(const std::string& prefix, const std::function<void(const repo::ObjectInfo&)>& visit) override {
        inner_->list(prefix, visit);
    }
    uint64_t remove(const std::vector<std::string>& keys) override { return inner_->remove(keys); }
    int64_t now() override { return inner_->now(); }
    void sync() override {}
    std::string where(const std::string& key) const override { return inner_->where(key); }

private:
    std::unique_ptr<repo::ObjectStore> inner_;
};

}  // namespace

TEST_CASE("Leases: held() is false while a refresh fails, true again once one lands in time", "[lease]") {
    int64_t clock = 1000;
    BreakableStore store([&] { return clock; });
    auto a = LeaseLock::take(store, "lock", false, false, manual(100));
    REQUIRE(a);
    clock += 10;
    store.broken = true;
    CHECK(!a->refresh());
    CHECK(!a->held());
    store.broken = false;
    CHECK(a->refresh());
    CHECK(a->held());
}
