#include "libcommon/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>
#include <cctype>
#include <ctime>

#include "libcommon/base/error.h"

namespace hci::s3 {
namespace {

std::string hex(const unsigned char* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    return out;
}

std::string digest(const EVP_MD* md, const void* data, size_t length) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, length, out, &n, md, nullptr) != 1) fail(kExitIo, "OpenSSL digest failed");
    return std::string(reinterpret_cast<char*>(out), n);
}

// Lower-case hex of `md` over the first `length` bytes of a file, read with pread(2).
std::string file_digest_hex(const EVP_MD* md, int fd, uint64_t length) {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) fail(kExitIo, "OpenSSL digest failed");
    std::vector<unsigned char> buffer(1u << 20);
    for (uint64_t at = 0; at < length;) {
        ssize_t n = ::pread(fd, buffer.data(), std::min<uint64_t>(buffer.size(), length - at), static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(kExitIo, "cannot read back a spooled object: " + (n < 0 ? errno_text(errno) : std::string("short file")));
        EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(n));
        at += static_cast<uint64_t>(n);
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx.get(), out, &n);
    return hex(out, n);
}

}  // namespace

std::string file_sha256_hex(int fd, uint64_t length) { return file_digest_hex(EVP_sha256(), fd, length); }
std::string file_md5_hex(int fd, uint64_t length) { return file_digest_hex(EVP_md5(), fd, length); }

namespace {

std::string hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n))
        fail(kExitIo, "OpenSSL HMAC failed");
    return std::string(reinterpret_cast<char*>(out), n);
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// SigV4's Trimall: no leading or trailing blanks, inner runs of blanks as one.
std::string trim_all(std::string_view v) {
    std::string out;
    bool blank = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            blank = !out.empty();
            continue;
        }
        if (blank) out += ' ';
        blank = false;
        out += c;
    }
    return out;
}

}  // namespace

std::string sha256_hex(const void* data, size_t length) {
    std::string d = digest(EVP_sha256(), data, length);
    return hex(reinterpret_cast<const unsigned char*>(d.data()), d.size());
}

std::string md5_base64(const void* data, size_t length) {
    std::string d = digest(EVP_md5(), data, length);
    unsigned char out[32];
    int n = EVP_EncodeBlock(out, reinterpret_cast<const unsigned char*>(d.data()), static_cast<int>(d.size()));
    return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string md5_hex(const void* data, size_t length) {
    std::string d = digest(EVP_md5(), data, length);
    return hex(reinterpret_cast<const unsigned char*>(d.data()), d.size());
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

std::string canonical_query(const Pairs& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) out += '&';
        out += name + "=" + value;
    }
    return out;
}

std::string canonical_request(const SignRequest& r, std::string* signed_headers) {
    // Same-named headers join with ',' in the order sent; names sort.
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : r.headers) {
        std::string n = lower(name);
        auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == n; });
        if (it == headers.end())
            headers.emplace_back(n, trim_all(value));
        else
            it->second += "," + trim_all(value);
    }
    std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string canonical_headers, names;
    for (const auto& [name, value] : headers) {
        canonical_headers += name + ":" + value + "\n";
        names += (names.empty() ? "" : ";") + name;
    }
    if (signed_headers) *signed_headers = names;
    return r.method + "\n" + r.path + "\n" + canonical_query(r.query) + "\n" + canonical_headers + "\n" + names +
           "\n" + r.payload_sha256;
}

std::string string_to_sign(const SignScope& scope, const std::string& canonical) {
    return "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + scope.amz_date.substr(0, 8) + "/" + scope.region + "/" +
           scope.service + "/aws4_request\n" + sha256_hex(canonical);
}

std::string authorization(const SignRequest& request, const SignScope& scope) {
    std::string names;
    const std::string canonical = canonical_request(request, &names);
    const std::string day = scope.amz_date.substr(0, 8);
    std::string key = hmac("AWS4" + scope.secret_access_key, day);
    key = hmac(key, scope.region);
    key = hmac(key, scope.service);
    key = hmac(key, "aws4_request");
    const std::string signature = hmac(key, string_to_sign(scope, canonical));
    return "AWS4-HMAC-SHA256 Credential=" + scope.access_key_id + "/" + day + "/" + scope.region + "/" +
           scope.service + "/aws4_request, SignedHeaders=" + names +
           ", Signature=" + hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

std::string amz_date(int64_t epoch_seconds) {
    std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace hci::s3
