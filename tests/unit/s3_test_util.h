#pragma once
// The S3 side of the unit tests: `unit-tests --skip-unless-s3 ENV_FILE`
// (ctest's unit-s3, after the rgw fixture started scripts/rgw-testbed.sh)
// loads the test bed's exports and turns `enabled` on; the object store
// conformance suite then runs against S3, each case under a fresh prefix.
#include <memory>
#include <random>
#include <string>

#include "libcommon/block/repo/backend/s3_store.h"

namespace hci::s3_test {

inline bool enabled = false;
inline const char* kBucket = "hci-unit-tests";

// A prefix no other case or run uses.
inline std::string fresh_prefix() {
    static std::mt19937_64 rng{std::random_device{}()};
    char name[32];
    std::snprintf(name, sizeof name, "run-%016llx", static_cast<unsigned long long>(rng()));
    return name;
}

inline std::unique_ptr<repo::ObjectStore> fresh_store() {
    repo::S3StoreOptions options;
    options.create_bucket = true;
    return repo::open_s3_store(std::string("s3://") + kBucket + "/" + fresh_prefix(), options);
}

}  // namespace hci::s3_test
