#pragma once
// AWS Signature Version 4 (the Authorization header of an S3 request), our
// own small signer over OpenSSL's SHA-256 and HMAC: it signs exactly what the
// client sends, so what curl does to a URL or a header never changes what was
// signed (DESIGN.md: CURLOPT_AWS_SIGV4's rules differ between releases).
// Tested against AWS's published SigV4 test suite (tests/fixtures/aws-sigv4/).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hci::s3 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct SignRequest {
    std::string method;           // "GET", "PUT"...
    std::string path = "/";       // the URI path as sent, already percent-encoded
    Pairs query;                  // decoded names and values (encoded when signed)
    Pairs headers;                // as sent; every one of them is signed
    std::string payload_sha256;   // lower-case hex of the body's SHA-256
};

struct SignScope {
    std::string access_key_id;
    std::string secret_access_key;
    std::string region;          // "us-east-1"
    std::string service = "s3";
    std::string amz_date;        // "20150830T123600Z", also sent as X-Amz-Date
};

// Lower-case hex of SHA-256 and of MD5 (base64 for Content-MD5).
std::string sha256_hex(const void* data, size_t length);
inline std::string sha256_hex(std::string_view s) { return sha256_hex(s.data(), s.size()); }
std::string md5_base64(const void* data, size_t length);
std::string md5_hex(const void* data, size_t length);  // a simple PUT's ETag
// The same (lower-case hex) of the first `length` bytes of a file, read with
// pread(2): a PUT from a spool file signs the SHA-256; the MD5 (an ETag) is
// asked for only when a retried PUT must find out whether it was stored.
std::string file_sha256_hex(int fd, uint64_t length);
std::string file_md5_hex(int fd, uint64_t length);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
// (A-Z a-z 0-9 - . _ ~) stay, everything else is %XX (upper-case hex); '/'
// stays when keep_slash (object keys in paths).
std::string uri_encode(std::string_view s, bool keep_slash);

// name=value pairs, each part encoded, sorted by name then value, joined by '&'
// (a name without a value gives "name="): the canonical query string, which
// the client also sends as the URL's query so the two never differ.
std::string canonical_query(const Pairs& query);

// The canonical request of the SigV4 specification; `signed_headers` gets
// the "host;x-amz-date" list.
std::string canonical_request(const SignRequest& request, std::string* signed_headers = nullptr);

// "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256 of the canonical request>".
std::string string_to_sign(const SignScope& scope, const std::string& canonical);

// The value of the Authorization header.
std::string authorization(const SignRequest& request, const SignScope& scope);

// "20150830T123600Z" for a time in seconds since the epoch (UTC).
std::string amz_date(int64_t epoch_seconds);

}  // namespace hci::s3
