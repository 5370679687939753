#include "libcommon/block/repo/crypto.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "libcommon/base/error.h"

namespace hci::repo {
namespace {

struct CipherCtx {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

void crypto_check(int ok, const char* what) {
    if (ok != 1) fail(kExitIo, std::string("OpenSSL: ") + what + " failed");
}

// AES-256-GCM fetched once: OpenSSL 3 looks EVP_aes_256_gcm() up in its
// provider store again at every init that names it.
const EVP_CIPHER* aes_256_gcm() {
    static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (!cipher) fail(kExitIo, "OpenSSL: AES-256-GCM is not available");
    return cipher;
}

// One context per thread and direction, set up once; its key schedule (and
// GHASH key) stays while the key does, so sealing or opening a chunk only
// sets the chunk's nonce.
class GcmContext {
public:
    explicit GcmContext(bool encrypt) : encrypt_(encrypt) {}
    ~GcmContext() {
        EVP_CIPHER_CTX_free(ctx_);  // cleanses the schedule
        OPENSSL_cleanse(key_.data(), key_.size());
    }
    GcmContext(const GcmContext&) = delete;
    GcmContext& operator=(const GcmContext&) = delete;

    // Ready for one message under `key` with `nonce` (kNonceSize bytes).
    EVP_CIPHER_CTX* start(const std::array<unsigned char, 32>& key, const unsigned char* nonce) {
        if (!ready_) {
            if (!ctx_ && !(ctx_ = EVP_CIPHER_CTX_new())) fail(kExitIo, "OpenSSL: out of memory for a cipher context");
            crypto_check(init(aes_256_gcm(), nullptr, nullptr), "AES-GCM init");
            ready_ = true;
        }
        const bool same_key = keyed_ && CRYPTO_memcmp(key_.data(), key.data(), key.size()) == 0;
        keyed_ = false;  // until the init below succeeded
        crypto_check(init(nullptr, same_key ? nullptr : key.data(), nonce), "AES-GCM init");
        key_ = key;
        keyed_ = true;
        return ctx_;
    }

private:
    int init(const EVP_CIPHER* cipher, const unsigned char* key, const unsigned char* nonce) {
        return encrypt_ ? EVP_EncryptInit_ex(ctx_, cipher, nullptr, key, nonce)
                        : EVP_DecryptInit_ex(ctx_, cipher, nullptr, key, nonce);
    }

    const bool encrypt_;
    EVP_CIPHER_CTX* ctx_ = nullptr;
    bool ready_ = false;  // ctx_ holds the cipher
    std::array<unsigned char, 32> key_{};
    bool keyed_ = false;
};

EVP_CIPHER_CTX* start_sealing(const std::array<unsigned char, 32>& key, const unsigned char* nonce) {
    thread_local GcmContext sealing(true);
    return sealing.start(key, nonce);
}

EVP_CIPHER_CTX* start_opening(const std::array<unsigned char, 32>& key, const unsigned char* nonce) {
    thread_local GcmContext opening(false);
    return opening.start(key, nonce);
}

std::string master_bytes(const MasterKey& k) {
    return std::string(reinterpret_cast<const char*>(k.encryption.data()), 32) +
           std::string(reinterpret_cast<const char*>(k.id.data()), 32);
}

MasterKey master_from(const unsigned char* p) {
    MasterKey k;
    std::memcpy(k.encryption.data(), p, 32);
    std::memcpy(k.id.data(), p + 32, 32);
    return k;
}

std::array<unsigned char, 32> derive(const std::string& passphrase, const unsigned char* salt, size_t salt_len,
                                     uint64_t n) {
    std::array<unsigned char, 32> out{};
    crypto_check(EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt, salt_len, n, 8, 1, 64u << 20,
                                out.data(), out.size()),
                 "scrypt");
    return out;
}

}  // namespace

std::string to_hex(const unsigned char* data, size_t length) {
    static const char* digits = "0123456789abcdef";
    std::string s(length * 2, '0');
    for (size_t i = 0; i < length; ++i) {
        s[2 * i] = digits[data[i] >> 4];
        s[2 * i + 1] = digits[data[i] & 15];
    }
    return s;
}

bool from_hex(const std::string& hex, unsigned char* out, size_t length) {
    if (hex.size() != length * 2) return false;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < length; ++i) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    return true;
}

void random_bytes(unsigned char* out, size_t length) {
    crypto_check(RAND_bytes(out, static_cast<int>(length)), "random bytes");
}

MasterKey MasterKey::generate() {
    MasterKey k;
    random_bytes(k.encryption.data(), 32);
    random_bytes(k.id.data(), 32);
    return k;
}

std::string MasterKey::fingerprint() const {
    std::string material = "zadp-repo key fingerprint\n" + master_bytes(*this);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    return to_hex(digest, 16);
}

ChunkId chunk_id(const void* data, size_t length, const MasterKey* key) {
    ChunkId id{};
    if (!key) {
        SHA256(static_cast<const unsigned char*>(data), length, id.data());
        return id;
    }
    unsigned int n = 0;
    HMAC(EVP_sha256(), key->id.data(), 32, static_cast<const unsigned char*>(data), length, id.data(), &n);
    return id;
}

void gcm_seal_in_place(const std::array<unsigned char, 32>& key, unsigned char* sealed, size_t length,
                       const std::string& aad) {
    unsigned char* text = sealed + kNonceSize;
    random_bytes(sealed, kNonceSize);
    EVP_CIPHER_CTX* c = start_sealing(key, sealed);
    int n = 0;
    crypto_check(EVP_EncryptUpdate(c, nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                                   static_cast<int>(aad.size())),
                 "AES-GCM aad");
    crypto_check(EVP_EncryptUpdate(c, text, &n, text, static_cast<int>(length)), "AES-GCM encrypt");
    crypto_check(EVP_EncryptFinal_ex(c, text + n, &n), "AES-GCM final");
    crypto_check(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kTagSize, text + length), "AES-GCM tag");
}

bool gcm_open_in_place(const std::array<unsigned char, 32>& key, unsigned char* sealed, size_t length,
                       const std::string& aad) {
    if (length < kNonceSize + kTagSize) return false;
    size_t plain_len = length - kNonceSize - kTagSize;
    unsigned char* text = sealed + kNonceSize;
    EVP_CIPHER_CTX* c = start_opening(key, sealed);
    int n = 0;
    crypto_check(EVP_DecryptUpdate(c, nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                                   static_cast<int>(aad.size())),
                 "AES-GCM aad");
    crypto_check(EVP_DecryptUpdate(c, text, &n, text, static_cast<int>(plain_len)), "AES-GCM decrypt");
    crypto_check(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kTagSize, text + plain_len), "AES-GCM tag");
    return EVP_DecryptFinal_ex(c, text + n, &n) == 1;
}

void gcm_peek(const std::array<unsigned char, 32>& key, const unsigned char* nonce, const unsigned char* text,
              size_t length, unsigned char* out) {
    CipherCtx c;
    int n = 0;
    crypto_check(EVP_DecryptInit_ex(c.ctx, aes_256_gcm(), nullptr, key.data(), nonce), "AES-GCM init");
    crypto_check(EVP_DecryptUpdate(c.ctx, out, &n, text, static_cast<int>(length)), "AES-GCM decrypt");
}

std::vector<unsigned char> gcm_seal(const std::array<unsigned char, 32>& key, const void* plain, size_t length,
                                    const std::string& aad) {
    std::vector<unsigned char> out(kNonceSize + length + kTagSize);
    if (length) std::memcpy(out.data() + kNonceSize, plain, length);
    gcm_seal_in_place(key, out.data(), length, aad);
    return out;
}

std::optional<std::vector<unsigned char>> gcm_open(const std::array<unsigned char, 32>& key, const void* sealed,
                                                   size_t length, const std::string& aad) {
    std::vector<unsigned char> copy(static_cast<const unsigned char*>(sealed),
                                    static_cast<const unsigned char*>(sealed) + length);
    if (!gcm_open_in_place(key, copy.data(), length, aad)) return std::nullopt;
    return std::vector<unsigned char>(copy.begin() + kNonceSize, copy.end() - kTagSize);
}

MasterKey read_key_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(kExitUsage, "cannot read key file " + path + ": " + errno_text(errno));
    struct stat st {};
    ::fstat(fd, &st);
    if (st.st_mode & 077) {
        ::close(fd);
        fail(kExitUsage, "key file " + path + " may be read by group or others (mode " +
                             std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                             std::to_string(st.st_mode & 7) + "); chmod 600 it");
    }
    std::string text(static_cast<size_t>(std::min<off_t>(st.st_size, 1 << 16)), '\0');
    ssize_t n = ::read(fd, text.data(), text.size());
    ::close(fd);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    unsigned char raw[64];
    const boost::json::string* hex = nullptr;
    if (!ec && v.is_object())
        if (auto* k = v.as_object().if_contains("key"); k && k->is_string()) hex = &k->as_string();
    if (!hex || !from_hex(std::string(*hex), raw, 64)) fail(kExitUsage, "key file " + path + " is not a zadp-repo key");
    return master_from(raw);
}

void write_key_file(const std::string& path, const MasterKey& key) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail(kExitIo, "cannot create key file " + path + ": " + errno_text(errno));
    ::fchmod(fd, 0600);
    std::string raw = master_bytes(key);
    boost::json::object o;
    o["zadp_repo_key"] = 1;
    o["key"] = to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
    o["fingerprint"] = key.fingerprint();
    std::string text = boost::json::serialize(o) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        fail(kExitIo, "cannot write key file " + path);
    }
}

std::string wrap_key(const MasterKey& key, const std::string& passphrase, uint64_t scrypt_n) {
    if (passphrase.empty()) fail(kExitUsage, "the passphrase is empty");
    unsigned char salt[16];
    random_bytes(salt, sizeof salt);
    auto kek = derive(passphrase, salt, sizeof salt, scrypt_n);
    std::string raw = master_bytes(key);
    auto sealed = gcm_seal(kek, raw.data(), raw.size(), "zadp-repo key");
    boost::json::object o;
    o["kdf"] = "scrypt";
    o["n"] = scrypt_n;
    o["r"] = 8;
    o["p"] = 1;
    o["salt"] = to_hex(salt, sizeof salt);
    o["sealed"] = to_hex(sealed.data(), sealed.size());
    o["fingerprint"] = key.fingerprint();
    return boost::json::serialize(o) + "\n";
}

MasterKey unwrap_key(const std::string& wrapped, const std::string& passphrase) {
    boost::system::error_code ec;
    auto v = boost::json::parse(wrapped, ec);
    if (ec || !v.is_object()) fail(kExitIntegrity, "the repository's key file is damaged");
    const auto& o = v.as_object();
    unsigned char salt[16];
    std::vector<unsigned char> sealed(kNonceSize + 64 + kTagSize);
    auto str = [&](const char* k) { auto* p = o.if_contains(k); return p && p->is_string() ? std::string(p->as_string()) : ""; };
    auto* n = o.if_contains("n");
    if (!n || !n->is_number() || !from_hex(str("salt"), salt, 16) || !from_hex(str("sealed"), sealed.data(), sealed.size()))
        fail(kExitIntegrity, "the repository's key file is damaged");
    auto kek = derive(passphrase, salt, 16, n->to_number<uint64_t>());
    auto raw = gcm_open(kek, sealed.data(), sealed.size(), "zadp-repo key");
    if (!raw) fail(kExitUsage, "wrong passphrase: it does not open this repository's key");
    return master_from(raw->data());
}

}  // namespace hci::repo
