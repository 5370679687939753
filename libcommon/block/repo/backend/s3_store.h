#pragma once
// The repository on S3-compatible object storage (issue 18 §2-3):
// `s3://BUCKET/PREFIX`, a key K is the object PREFIX/K. create() is a PUT
// with If-None-Match: * (true on 200, false on 412); now() is the server's
// Date; list() pages through ListObjectsV2; remove() sends DeleteObjects in
// batches of up to 1000. The S3 client (libcommon/s3/) does the signing,
// retries, rate limit and error messages.
#include <memory>
#include <string>

#include "libcommon/block/repo/backend/object_store.h"
#include "libcommon/s3/config.h"

namespace hci::repo {

struct S3Location {
    std::string bucket;
    std::string prefix;  // "" or "a/b" (no leading or trailing '/')
};

// "s3://BUCKET" or "s3://BUCKET/PREFIX": a usage error naming the text
// otherwise (a bad bucket name, an empty or '.'-part in the prefix).
S3Location parse_s3_url(const std::string& url);
inline bool is_s3_url(const std::string& text) { return text.starts_with("s3://"); }

struct S3StoreOptions {
    s3::Options s3;                // endpoint, region, TLS, rate limit, retries (resolve_options() fills the rest)
    bool create_bucket = false;    // make the bucket when it is missing (init)
    // Keep the locator, indexes and pack tables in the local cache
    // (object_cache.h; ZADP_CACHE_DIR, ZADP_CACHE_SIZE).
    bool cache = true;
};

// Objects are read in ranges (a GET each), except the locator and indexes,
// which are downloaded whole into a file (the cache's, or an unnamed one)
// and read from it, so their many small lookups cost no request. Objects
// larger than 1 MiB are spooled to a file before their PUT.
//
// Opens the store, checking that the bucket answers: a missing bucket is
// exit 4 unless create_bucket, wrong credentials or region exit 3, each
// with one line naming the endpoint and bucket.
std::unique_ptr<ObjectStore> open_s3_store(const std::string& url, const S3StoreOptions& options = {},
                                           const EnvLookup& env = process_env());


}  // namespace hci::repo
