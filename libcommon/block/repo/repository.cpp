#include "libcommon/block/repo/repository.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <ctime>

#include "libcommon/base/error.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo {
namespace {

constexpr size_t kMaxBlobSize = 64u << 20;

bool valid_part(const std::string& part) {
    if (part.empty() || part.size() > 200) return false;
    if (!(std::isalnum(static_cast<unsigned char>(part[0])) || part[0] == '_')) return false;
    for (char c : part)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string("._:+@-").find(c) != std::string::npos))
            return false;
    return true;
}

std::vector<std::string> split_name(const std::string& name) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        auto slash = name.find('/', start);
        parts.push_back(name.substr(start, slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return parts;
}

std::string config_json(const Config& c) {
    boost::json::object o;
    o["format"] = "zadp-repo";
    o["version"] = c.version;
    o["chunk_size"] = c.chunk_size;
    o["compression"] = "zstd";
    o["zstd_level"] = c.zstd_level;
    o["encrypted"] = c.encrypted;
    if (c.encrypted) o["key_fingerprint"] = c.key_fingerprint;
    o["id"] = c.id;
    o["created"] = c.created;
    return boost::json::serialize(o) + "\n";
}

Config parse_config(const std::string& dir, const std::string& text) {
    std::string what = "repository " + dir + ": config";
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) fail(kExitIntegrity, what + " is not JSON");
    const auto& o = v.as_object();
    auto* format = o.if_contains("format");
    if (!format || !format->is_string() || format->as_string() != "zadp-repo")
        fail(kExitIntegrity, what + " is not a zadp-repo config");
    Config c;
    auto number = [&](const char* key) -> uint64_t {
        auto* p = o.if_contains(key);
        if (!p || !p->is_number()) fail(kExitIntegrity, what + " lacks " + key);
        return p->to_number<uint64_t>();
    };
    uint64_t version = number("version");
    if (version < kOldestRepoVersion || version > kRepoVersion)
        fail(kExitIntegrity, "repository " + dir + " has format version " + std::to_string(version) +
                                 "; this zadp-repo reads versions " + std::to_string(kOldestRepoVersion) + " to " +
                                 std::to_string(kRepoVersion) + " only");
    c.version = static_cast<uint32_t>(version);
    c.chunk_size = static_cast<uint32_t>(number("chunk_size"));
    if (c.chunk_size < kMinChunkSize || c.chunk_size > kMaxChunkSize || (c.chunk_size & (c.chunk_size - 1)))
        fail(kExitIntegrity, what + " has a bad chunk size " + std::to_string(c.chunk_size));
    if (auto* l = o.if_contains("zstd_level"); l && l->is_number()) c.zstd_level = l->to_number<int>();
    auto* enc = o.if_contains("encrypted");
    c.encrypted = enc && enc->is_bool() && enc->as_bool();
    if (auto* f = o.if_contains("key_fingerprint"); f && f->is_string()) c.key_fingerprint = std::string(f->as_string());
    if (auto* f = o.if_contains("id"); f && f->is_string()) c.id = std::string(f->as_string());
    if (auto* f = o.if_contains("created"); f && f->is_string()) c.created = std::string(f->as_string());
    return c;
}

std::string read_passphrase_file(const std::string& path) {
    std::string text = read_small_file(path, 4096);
    auto nl = text.find_first_of("\r\n");
    if (nl != std::string::npos) text.resize(nl);
    return text;
}

MasterKey resolve_key(const std::string& dir, const Config& config, const KeySource& keys) {
    MasterKey key;
    std::string source;
    if (!keys.key_file.empty()) {
        key = read_key_file(keys.key_file);
        source = "key file " + keys.key_file;
    } else if (keys.has_passphrase) {
        std::string wrapped;
        try {
            wrapped = read_small_file(dir + "/key", 1 << 16);
        } catch (const Error&) {
            fail(kExitUsage, "repository " + dir + " keeps no passphrase-protected key; give --key-file");
        }
        key = unwrap_key(wrapped, keys.passphrase);
        source = "the passphrase";
    } else {
        fail(kExitUsage, "repository " + dir +
                             " is encrypted: give --key-file FILE (or ZADP_REPO_KEY_FILE), or a passphrase in "
                             "ZADP_REPO_PASSPHRASE_FILE or ZADP_REPO_PASSPHRASE");
    }
    if (key.fingerprint() != config.key_fingerprint)
        fail(kExitUsage, "wrong key: " + source + " has fingerprint " + key.fingerprint() + ", repository " + dir +
                             " was encrypted with key " + config.key_fingerprint);
    return key;
}

}  // namespace


std::vector<std::string> list_dir(const std::string& path, bool hidden_too) {
    std::vector<std::string> names;
    DIR* d = ::opendir(path.c_str());
    if (!d) return names;
    while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || (name[0] == '.' && !hidden_too)) continue;
        names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

void make_dirs(const std::string& path) {
    for (size_t pos = 1; pos != std::string::npos;) {
        pos = path.find('/', pos + 1);
        std::string part = path.substr(0, pos);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) fail(kExitIo, "mkdir " + part + ": " + errno_text(errno));
    }
}

void write_file_atomic(const std::string& path, const void* data, size_t length) {
    std::string temp = path.substr(0, path.rfind('/') + 1) + "." + path.substr(path.rfind('/') + 1) + ".tmp." +
                       std::to_string(::getpid());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(kExitIo, "create " + temp + ": " + errno_text(errno));
    try {
        write_fd_all(fd, data, length, temp);
        if (::fsync(fd) != 0) fail(kExitIo, "sync " + temp + ": " + errno_text(errno));
    } catch (...) {
        ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        fail(kExitIo, "rename " + temp + ": " + errno_text(err));
    }
    int dfd = ::open(path.substr(0, path.rfind('/')).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::string read_small_file(const std::string& path, size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(errno == ENOENT ? kExitNotFound : kExitIo, "open " + path + ": " + errno_text(errno));
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            fail(kExitIo, "read " + path + ": " + errno_text(err));
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > limit) {
            ::close(fd);
            fail(kExitIntegrity, path + " is larger than " + std::to_string(limit) + " bytes");
        }
    }
    ::close(fd);
    return text;
}

KeySource KeySource::from(const std::string& key_file, const std::string& passphrase_file,
                          const std::optional<std::string>& passphrase) {
    KeySource k;
    k.key_file = key_file;
    if (!passphrase_file.empty()) {
        k.passphrase = read_passphrase_file(passphrase_file);
        k.has_passphrase = true;
    } else if (passphrase) {
        k.passphrase = *passphrase;
        k.has_passphrase = true;
    }
    return k;
}

std::string repo_dir_from(const std::string& option_or_env) {
    std::string dir = option_or_env;
    if (dir.empty()) fail(kExitUsage, "no repository: give --repo DIR or set ZADP_REPO");
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

void validate_name(const std::string& name) {
    auto parts = split_name(name);
    if (parts.size() != 3 || !std::all_of(parts.begin(), parts.end(), valid_part))
        fail(kExitUsage, "bad repository name '" + name +
                             "': use GROUP/TIME/FILE, each part letters, digits and ._:+@- (e.g. "
                             "web01/2026-11-28T020000Z/disk0)");
}

void validate_prefix(const std::string& prefix) {
    if (prefix.empty()) return;
    auto parts = split_name(prefix);
    if (parts.size() > 3 || !std::all_of(parts.begin(), parts.end(), valid_part))
        fail(kExitUsage, "bad repository prefix '" + prefix + "': use GROUP, GROUP/TIME or GROUP/TIME/FILE");
}

Repository::Lock::Lock(const std::string& path, bool exclusive, bool wait) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(kExitIo, "open " + path + ": " + errno_text(errno));
    while (::flock(fd_, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK && !wait) return;
        fail(kExitIo, "lock " + path + ": " + errno_text(err));
    }
}

Repository::Lock::~Lock() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<Repository::Lock> Repository::lock_exclusive_if_free() const {
    auto lock = std::make_unique<Lock>(dir_ + "/lock", true, false);
    return lock->held() ? std::move(lock) : nullptr;
}

Repository::Repository(std::string dir, Config config, std::optional<MasterKey> key)
    : dir_(std::move(dir)), config_(std::move(config)), key_(std::move(key)), sealer_(key_ ? &*key_ : nullptr),
      chunks_(config_.version == 1 ? open_directory_chunk_store(dir_ + "/chunks")
                                   : open_pack_chunk_store(dir_ + "/packs", sealer_)) {}

Config Repository::init(const std::string& dir, uint32_t chunk_size, bool encrypt, const KeySource& keys,
                        uint32_t version) {
    if (version < kOldestRepoVersion || version > kRepoVersion)
        fail(kExitUsage, "--format-version must be " + std::to_string(kOldestRepoVersion) + " or " +
                             std::to_string(kRepoVersion));
    if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize || (chunk_size & (chunk_size - 1)))
        fail(kExitUsage, "--chunk-size must be a power of two from 64K to 4M");
    struct stat st {};
    if (::stat((dir + "/config").c_str(), &st) == 0) fail(kExitUsage, dir + " is already a repository");
    if (::stat(dir.c_str(), &st) == 0 && (!S_ISDIR(st.st_mode) || !list_dir(dir).empty()))
        fail(kExitUsage, dir + " exists and is not an empty directory");
    Config c;
    c.version = version;
    c.chunk_size = chunk_size;
    c.created = utc_now();
    unsigned char id[16];
    random_bytes(id, sizeof id);
    c.id = to_hex(id, sizeof id);
    std::optional<MasterKey> key;
    std::string wrapped;
    if (encrypt) {
        if (!keys.key_file.empty()) {
            if (::stat(keys.key_file.c_str(), &st) == 0) {
                key = read_key_file(keys.key_file);
            } else {
                key = MasterKey::generate();
                write_key_file(keys.key_file, *key);
            }
        } else if (keys.has_passphrase) {
            key = MasterKey::generate();
        } else {
            fail(kExitUsage, "--encrypt needs --key-file FILE or a passphrase (ZADP_REPO_PASSPHRASE_FILE, "
                             "ZADP_REPO_PASSPHRASE or --passphrase-file)");
        }
        if (keys.has_passphrase) wrapped = wrap_key(*key, keys.passphrase);
        c.encrypted = true;
        c.key_fingerprint = key->fingerprint();
    }
    make_dirs(version == 1 ? dir + "/chunks" : dir + "/packs");
    make_dirs(dir + "/backups");
    if (!wrapped.empty()) write_file_atomic(dir + "/key", wrapped.data(), wrapped.size());
    Lock touch_lock(dir + "/lock", false);
    std::string text = config_json(c);
    write_file_atomic(dir + "/config", text.data(), text.size());  // last: a repository exists once it has one
    return c;
}

std::unique_ptr<Repository> Repository::open(const std::string& dir, const KeySource& keys) {
    std::string text;
    try {
        text = read_small_file(dir + "/config", 1 << 16);
    } catch (const Error& e) {
        if (e.code() == kExitNotFound) fail(kExitNotFound, dir + " is not a zadp repository (no config; see zadp-repo init)");
        throw;
    }
    Config c = parse_config(dir, text);
    std::optional<MasterKey> key;
    if (c.encrypted) key = resolve_key(dir, c, keys);
    return std::unique_ptr<Repository>(new Repository(dir, c, key));
}

uint64_t Repository::store_chunk(const ChunkId& id, const void* data, size_t length, Bytes& object) {
    if (chunks_->contains(id)) return 0;
    encode_object(ObjectKind::kChunk, to_hex(id), data, length, sealer_, config_.zstd_level, object);
    return chunks_->put(id, object.data(), object.size());
}

std::string Repository::load_chunk(const ChunkId& id, Bytes& file, Bytes& scratch, PlainView& plain,
                                   bool other_copies) {
    std::string error = load_chunk_unhashed(id, file, scratch, plain, other_copies);
    if (error.empty() && chunk_id(plain.data, plain.size, key()) != id) return "damaged: its bytes do not hash to its id";
    return error;
}

std::string Repository::load_chunk_unhashed(const ChunkId& id, Bytes& file, Bytes& scratch, PlainView& plain,
                                            bool other_copies) {
    if (!chunks_->read(id, file)) return "missing";
    std::string error = decode_object(ObjectKind::kChunk, to_hex(id), file, sealer_, scratch, plain);
    if (error.empty() || !other_copies) return error.empty() ? "" : "damaged: " + error;
    // The copy the store found does not verify: an intact one elsewhere
    // (say, where a wrong locator entry did not point) serves the read.
    bool intact = chunks_->read_other_copy(id, file, [&](Bytes& other) {
        return decode_object(ObjectKind::kChunk, to_hex(id), other, sealer_, scratch, plain).empty();
    });
    return intact ? "" : "damaged: " + error;
}

std::string Repository::load_chunk(const ChunkId& id, std::vector<unsigned char>& data) {
    Bytes file, scratch;
    PlainView plain;
    std::string error = load_chunk(id, file, scratch, plain);
    if (error.empty()) data.assign(plain.data, plain.data + plain.size);
    return error;
}

void Repository::put_blob(const std::string& name, const std::vector<unsigned char>& data) {
    validate_name(name);
    if (data.size() > kMaxBlobSize) fail(kExitUsage, "a blob holds at most 64 MiB; store images with zadp-write");
    struct stat st {};
    if (::stat(blob_path(name).c_str(), &st) == 0 || ::stat(index_path(name).c_str(), &st) == 0)
        fail(kExitUsage, "repo:" + name + " exists already (backups are immutable; rm it first)");
    auto object = encode_object(ObjectKind::kBlob, name, data.data(), data.size(), sealer_, 3);
    std::string path = blob_path(name);
    make_dirs(path.substr(0, path.rfind('/')));
    write_file_atomic(path, object.data(), object.size());
}

std::vector<unsigned char> Repository::get_blob(const std::string& name) {
    validate_name(name);
    std::string text;
    try {
        text = read_small_file(blob_path(name), kMaxBlobSize * 2);
    } catch (const Error& e) {
        if (e.code() != kExitNotFound) throw;
        struct stat st {};
        if (::stat(index_path(name).c_str(), &st) == 0)
            fail(kExitUsage, "repo:" + name + " is an image; read it with zadp-read --source repo:" + name);
        fail(kExitNotFound, "repo:" + name + ": no such blob in the repository");
    }
    std::vector<unsigned char> file(text.begin(), text.end());
    auto decoded = decode_object(ObjectKind::kBlob, name, file, sealer_);
    if (!decoded.error.empty()) fail(kExitIntegrity, "repo:" + name + ": the blob is damaged: " + decoded.error);
    return decoded.data;
}

std::vector<Repository::Item> Repository::list(const std::string& prefix) const {
    validate_prefix(prefix);
    auto want = prefix.empty() ? std::vector<std::string>{} : split_name(prefix);
    auto matches = [&](size_t level, const std::string& part) { return level >= want.size() || want[level] == part; };
    std::vector<Item> items;
    std::string root = dir_ + "/backups";
    for (const auto& group : list_dir(root)) {
        if (!matches(0, group)) continue;
        for (const auto& time : list_dir(root + "/" + group)) {
            if (!matches(1, time)) continue;
            for (const auto& file : list_dir(root + "/" + group + "/" + time)) {
                for (const char* suffix : {".fidx", ".blob"}) {
                    if (!file.ends_with(suffix)) continue;
                    std::string base = file.substr(0, file.size() - 5);
                    if (!matches(2, base)) continue;
                    items.push_back({group + "/" + time + "/" + base, std::string(suffix) == ".fidx",
                                     root + "/" + group + "/" + time + "/" + file});
                }
            }
        }
    }
    return items;
}

void Repository::claim_group(const std::string& group, const std::string& vm_id) {
    if (vm_id.empty()) return;
    std::string path = dir_ + "/backups/" + group + "/.vm-id";
    std::string owner;
    try {
        owner = read_small_file(path, 4096);
    } catch (const Error& e) {
        if (e.code() != kExitNotFound) throw;
        make_dirs(dir_ + "/backups/" + group);
        std::string text = vm_id + "\n";
        write_file_atomic(path, text.data(), text.size());
        return;
    }
    while (!owner.empty() && (owner.back() == '\n' || owner.back() == '\r')) owner.pop_back();
    if (owner != vm_id)
        fail(kExitUsage, "group " + group + " holds backups of VM " + owner + ", not of VM " + vm_id +
                             "; two VMs with one name need two groups (e.g. NAME-" + vm_id + ")");
}

}  // namespace hci::repo
