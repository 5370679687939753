#pragma once
// An S3 client over libcurl for one bucket: the requests the repository needs
// (PUT, create-only PUT, ranged GET, HEAD, ListObjectsV2, DELETE,
// DeleteObjects, CreateBucket), signed with SigV4 (sigv4.h), the payload's
// SHA-256 in x-amz-content-sha256 (the server checks it), retried by the
// CloudTower client's policy (net/retry.h: 503 SlowDown, 500, resets), paced
// by an optional request rate limit. Thread-safe: each request takes an idle
// curl handle from a pool (connections stay alive across requests).
//
// Errors are hci::Error with one line naming the request, the object
// ("s3://BUCKET/KEY"), the endpoint and the S3 error code, never a secret:
// exit 4 for a missing bucket, 6 when the server got other bytes than were
// sent, 2 for bad settings, 3 for everything else (refused, TLS, wrong
// credentials or region, clock skew, 5xx after the retries).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/s3/config.h"
#include "libcommon/s3/sigv4.h"

namespace hci::s3 {

// The largest object one PUT stores (S3's limit; no multipart here: RGW
// ignores If-None-Match on CompleteMultipartUpload).
inline constexpr uint64_t kMaxPutSize = 5ull << 30;

struct ObjectHead {
    uint64_t size = 0;
    std::string etag;  // without quotes
};

class Client {
public:
    // `options` as resolve_options() leaves them (endpoint and region set).
    Client(std::string bucket, const Options& options, Credentials credentials);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const std::string& bucket() const { return bucket_; }
    // "s3://BUCKET/KEY" ("s3://BUCKET" for the bucket), for messages.
    std::string where(const std::string& key) const;
    const Endpoint& endpoint() const { return endpoint_; }

    // PUT of a whole object. create_only sends If-None-Match: * and returns
    // false when the key exists (412); otherwise true. `sha256_hex`: the
    // bytes' SHA-256 when the caller has it already (empty: hashed here).
    bool put(const std::string& key, const void* data, size_t length, bool create_only,
             const std::string& sha256_hex = {});
    // The same PUT with the body read from a file (pread(2) of its first
    // `length` bytes, again for each attempt): an object spooled to disk is
    // never held in memory. The file must not change until this returns.
    // `sha256_hex`: the bytes' SHA-256 when the caller hashed them as it
    // wrote them (the signed payload hash, which RGW checks); empty: the
    // file is read once more to hash it.
    bool put_file(const std::string& key, int fd, uint64_t length, bool create_only, const std::string& sha256_hex = {});
    // Up to `length` bytes from `offset` (0: to the end); none past the end;
    // nullopt when there is no such object.
    std::optional<std::vector<unsigned char>> get(const std::string& key, uint64_t offset = 0, uint64_t length = 0);
    // Up to `length` (> 0) bytes from `offset` into `out`: how many; nullopt
    // when there is no such object.
    std::optional<size_t> get_range(const std::string& key, uint64_t offset, size_t length, unsigned char* out);
    // get() into `out`, whose capacity is reused; false when there is no
    // such object.
    bool get_into(const std::string& key, uint64_t offset, uint64_t length, std::vector<unsigned char>& out);
    std::optional<ObjectHead> head(const std::string& key);
    // Every key under `prefix` in key order, a page of `page_size` at a time.
    void list(const std::string& prefix, const std::function<void(const std::string& key, uint64_t size)>& visit,
              int page_size = 1000);
    struct Listed {
        std::string key;
        uint64_t size = 0;
        std::string etag;  // without quotes
    };
    void list(const std::string& prefix, const std::function<void(const Listed&)>& visit, int page_size = 1000);
    // The whole object written to `fd` (at its current position) as it
    // arrives, never held in memory; nullopt when there is no such object.
    // The head is the object's size and ETag as the server sent them.
    std::optional<ObjectHead> get_to_file(const std::string& key, int fd);
    // DELETE of one key (a missing one is no error).
    void remove(const std::string& key);
    // DeleteObjects (at most 1000 keys, Content-MD5); missing keys are no error.
    void remove_many(const std::vector<std::string>& keys);
    // CreateBucket: true when made, false when it was ours already.
    bool create_bucket();
    // Whether the bucket exists (and these credentials may list it).
    bool bucket_exists();
    // The server's clock (its Date header), seconds since the epoch.
    int64_t server_time();

    // Requests sent so far, retries included (for tests and benchmarks).
    uint64_t requests_sent() const;

private:
    struct Request;
    struct Response;
    bool put_request(const std::string& key, Request& request, bool create_only,
                     const std::function<std::string()>& md5_hex);
    Response exchange(Request& request);
    Response send_once(Request& request);
    [[noreturn]] void throw_http_error(const Request& request, const Response& response) const;
    std::string describe(const Request& request) const;
    std::string url_of(const Request& request, std::string* host, std::string* path) const;
    void pace();
    void* acquire_handle();
    void release_handle(void* handle);

    std::string bucket_;
    Options options_;
    Credentials credentials_;
    Endpoint endpoint_;
    mutable std::mutex mu_;
    std::vector<void*> idle_;  // CURL* handles
    double next_slot_ = 0;     // pacing: the earliest start of the next request (steady seconds)
    uint64_t requests_ = 0;
};

// What this process's clients sent, every attempt counted (retries too),
// for benchmarks and tests: object GETs (ranged or whole) and PUTs with
// their body bytes, HEADs, list pages (ListObjectsV2, also those that only
// read the server's clock), DELETE and DeleteObjects requests, and the rest
// (CreateBucket). With ZADP_S3_STATS=1 in the environment the process
// prints them as one JSON line on stderr when it exits:
//   {"s3_stats":{"get":N,"get_bytes":N,"put":N,"put_bytes":N,"head":N,"list":N,"delete":N,"other":N,"retried":N}}
struct RequestStats {
    uint64_t get = 0, get_bytes = 0, put = 0, put_bytes = 0, head = 0, list = 0, remove = 0, other = 0;
    uint64_t retried = 0;  // attempts that were repeats of a failed one
};
RequestStats request_stats();
std::string request_stats_json(const RequestStats& stats);

// Whether a bucket name is one S3 accepts (3-63 of [a-z0-9.-], starting and
// ending with a letter or digit).
bool valid_bucket_name(const std::string& name);

}  // namespace hci::s3
