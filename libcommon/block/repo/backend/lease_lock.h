#pragma once
// Locks on a store without flock: leases as objects (issue 18 §3; restic's
// lock protocol). A taker first creates its own lease object, create-only,
// under locks/NAME/, then lists the others there: one that conflicts (either
// side exclusive) and is alive makes it remove its own and wait or give up.
// Of two takers racing, the one that lists second sees the first (list after
// write is strong on the stores we use), so two conflicting leases are never
// both held.
//
// A lease holds the store's time (now(): the server's Date on S3, never the
// host's clock) of its last refresh and its TTL. It is refreshed every TTL/5
// by a thread; a lease whose time is more than its TTL behind the store's
// clock is dead: the next taker removes it, so no unlock command is ever
// needed. held() turns false for good once a refresh landed too late (after
// the TTL), and meanwhile while the last refresh failed or the last good one
// is more than TTL/2 behind the store's clock: a holder that could not refresh commits nothing (ImageWriter
// and gc check held() before they publish or remove).
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo {

inline constexpr int64_t kDefaultLeaseTtl = 300;  // seconds of the store's clock

struct LeaseOptions {
    int64_t ttl_s = kDefaultLeaseTtl;
    // 0: no refresh thread (unit tests call LeaseLock::refresh()); else every
    // this many milliseconds of the host's steady clock (only the schedule:
    // liveness is judged by the store's clock).
    int64_t refresh_ms = kDefaultLeaseTtl * 1000 / 5;
    int64_t poll_ms = 1000;  // a waiting taker retries after about this long
    // ZADP_REPO_LEASE_TTL (seconds, 2 or more) if set, else the default;
    // a usage error (exit 2) for anything else.
    static LeaseOptions from_env();
};

class LeaseLock : public StoreLock {
public:
    ~LeaseLock() override;
    bool held() const override;
    // Rewrites the lease with the store's time; false (and held() false for
    // good) when it came too late. Errors are logged, not thrown.
    bool refresh();
    const std::string& key() const { return key_; }
    std::string lease_key() const override { return key_; }

    // Takes the lease `name` (a key) on `store`: nullptr when a live
    // conflicting lease exists and `wait` is false; with `wait` it retries
    // until it gets it (saying once on stderr whom it waits for).
    static std::unique_ptr<LeaseLock> take(ObjectStore& store, const std::string& name, bool exclusive, bool wait,
                                           const LeaseOptions& options = LeaseOptions::from_env());

    LeaseLock(ObjectStore& store, std::string key, bool exclusive, int64_t written, const LeaseOptions& options);

private:
    struct Refresher;
    ObjectStore& store_;
    std::string key_;
    bool exclusive_;
    LeaseOptions options_;
    mutable std::mutex mu_;
    int64_t last_ = 0;  // store time of the last refresh that landed in time
    bool lost_ = false;
    bool failing_ = false;  // the last refresh failed: not counted on until one works
    std::unique_ptr<Refresher> refresher_;
};

// The body of a lease object (JSON): who holds it and since when.
std::string lease_text(bool exclusive, int64_t time, int64_t ttl);

// Whether the lease under `key` may still be held at the store's time
// `now`: false when it is gone or more than its TTL behind `now` (its
// holder commits nothing more); true when it does not parse (nothing is
// proven).
bool lease_alive(ObjectStore& store, const std::string& key, int64_t now);

}  // namespace hci::repo
