#pragma once
// The repository's cryptography, all from OpenSSL's libcrypto: chunk ids
// (SHA-256, or HMAC-SHA-256 under the id key when encrypted), AES-256-GCM
// sealing, and the master key: a key file (0600) or a passphrase-wrapped key
// stored in the repository (scrypt). See zadp-repo(5).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hci::repo {

using ChunkId = std::array<unsigned char, 32>;

std::string to_hex(const unsigned char* data, size_t length);
template <size_t N>
std::string to_hex(const std::array<unsigned char, N>& a) { return to_hex(a.data(), N); }
// Returns false unless `hex` is exactly 2*length hex digits.
bool from_hex(const std::string& hex, unsigned char* out, size_t length);
void random_bytes(unsigned char* out, size_t length);

// The master key of an encrypted repository: one key for AES-256-GCM, one
// for the HMAC that names chunks (so ids reveal nothing about the data).
struct MasterKey {
    std::array<unsigned char, 32> encryption{};
    std::array<unsigned char, 32> id{};
    static MasterKey generate();
    // A public, non-secret name of the key: SHA-256 over a label and the key.
    std::string fingerprint() const;
};

// SHA-256 of the bytes, or HMAC-SHA-256 under key->id.
ChunkId chunk_id(const void* data, size_t length, const MasterKey* key);

inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
// nonce || ciphertext || tag; `aad` binds the sealed bytes to where they belong.
std::vector<unsigned char> gcm_seal(const std::array<unsigned char, 32>& key, const void* plain, size_t length,
                                    const std::string& aad);
// Empty optional when the tag does not verify (wrong key or altered bytes).
std::optional<std::vector<unsigned char>> gcm_open(const std::array<unsigned char, 32>& key, const void* sealed,
                                                   size_t length, const std::string& aad);

// The same without copies: `sealed` holds the nonce's room, then the plain
// bytes (`length`), then the tag's room; they are encrypted where they lie.
void gcm_seal_in_place(const std::array<unsigned char, 32>& key, unsigned char* sealed, size_t length,
                       const std::string& aad);
// Decrypts nonce || ciphertext || tag (`length` bytes in all) where it lies:
// the plain bytes then start at sealed + kNonceSize. False when the tag does
// not verify.
bool gcm_open_in_place(const std::array<unsigned char, 32>& key, unsigned char* sealed, size_t length,
                       const std::string& aad);

// Decrypts the first `length` bytes of ciphertext after the nonce into `out`
// WITHOUT checking the tag: only to find where a damaged pack's objects end
// (the caller verifies every object it then keeps with gcm_open_in_place).
void gcm_peek(const std::array<unsigned char, 32>& key, const unsigned char* nonce, const unsigned char* text,
              size_t length, unsigned char* out);

// Key file: a JSON object {"zadp_repo_key":1,"key":HEX,"fingerprint":HEX}.
// Reading refuses a file that group or others may read (exit 2).
MasterKey read_key_file(const std::string& path);
// Creates a new key file with mode 0600; refuses to overwrite one.
void write_key_file(const std::string& path, const MasterKey& key);

// A master key wrapped with a passphrase (scrypt, then AES-256-GCM), as a
// JSON document stored in the repository.
std::string wrap_key(const MasterKey& key, const std::string& passphrase, uint64_t scrypt_n = 1u << 15);
// Exit 2 "wrong passphrase" when the passphrase does not open it.
MasterKey unwrap_key(const std::string& wrapped, const std::string& passphrase);

}  // namespace hci::repo
