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
#include <utility>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
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

int open_directory(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || (errno != ELOOP && errno != ENOTDIR)) return fd;  // a link is ENOTDIR with O_DIRECTORY
    int err = errno;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
        errno = err;
        return -1;
    }
    if (st.st_uid == 0 || st.st_uid == ::geteuid()) return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    errno = ELOOP;  // a link another user made: not followed
    return -1;
}

namespace {

std::pair<std::string, std::string> split_path(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

class DirFd {
public:
    explicit DirFd(const std::string& dir) : fd_(open_directory(dir)) {}
    ~DirFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    DirFd(const DirFd&) = delete;
    DirFd& operator=(const DirFd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

}  // namespace

int create_file_in(const std::string& dir, const std::string& name, int flags, mode_t mode) {
    DirFd d(dir);
    if (d.get() < 0) return -1;
    return ::openat(d.get(), name.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

NewFile::NewFile(const std::string& path, bool private_file) : path_(path) {
    auto [dir, name] = split_path(path);
    DirFd d(dir);
    if (d.get() < 0) fail(errno == ENOENT ? kExitNotFound : kExitIo, "open directory " + dir + ": " + errno_text(errno));
    for (int tries = 0; fd_ < 0; ++tries) {
        unsigned char r[8];
        random_bytes(r, sizeof r);
        temp_name_ = ".tmp." + name + "." + to_hex(r, sizeof r);
        temp_path_ = dir + "/" + temp_name_;
        fd_ = ::openat(d.get(), temp_name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       private_file ? 0600 : 0644);
        if (fd_ < 0 && (errno != EEXIST || tries == 8)) fail(kExitIo, "create " + temp_path_ + ": " + errno_text(errno));
    }
    if (private_file && ::fchmod(fd_, 0600) != 0) {
        int err = errno;
        ::close(fd_);
        ::unlinkat(d.get(), temp_name_.c_str(), 0);
        fail(kExitIo, "chmod " + temp_path_ + ": " + errno_text(err));
    }
    dir_fd_ = d.release();
}

NewFile::~NewFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_name_.empty()) ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
    ::close(dir_fd_);
}

void NewFile::write(const void* data, size_t length) { write_fd_all(fd_, data, length, temp_path_); }

void NewFile::close_file(bool sync) {
    if (sync && ::fsync(fd_) != 0) fail(kExitIo, "sync " + temp_path_ + ": " + errno_text(errno));
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail(kExitIo, "write " + temp_path_ + ": " + errno_text(errno));
}

void NewFile::replace(bool sync) {
    close_file(sync);
    std::string name = split_path(path_).second;
    if (::renameat(dir_fd_, temp_name_.c_str(), dir_fd_, name.c_str()) != 0)
        fail(kExitIo, "rename " + temp_path_ + " to " + path_ + ": " + errno_text(errno));
    temp_name_.clear();
    if (sync) ::fsync(dir_fd_);
}

bool NewFile::create_only(bool sync) {
    close_file(sync);
    std::string name = split_path(path_).second;
    // link() never replaces: of two writers racing for one name, one wins.
    if (::linkat(dir_fd_, temp_name_.c_str(), dir_fd_, name.c_str(), 0) != 0) {
        if (errno == EEXIST) return false;
        fail(kExitIo, "link " + temp_path_ + " to " + path_ + ": " + errno_text(errno));
    }
    ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
    temp_name_.clear();
    if (sync) ::fsync(dir_fd_);
    return true;
}

int open_append(const std::string& path) {
    auto [dir, name] = split_path(path);
    DirFd d(dir);
    int fd = d.get() < 0 ? -1 : ::openat(d.get(), name.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ELOOP) fail(kExitIo, path + " is a symbolic link; refusing to follow it (remove it)");
    if (fd < 0) fail(kExitIo, "open " + path + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        ::close(fd);
        fail(kExitIo, path + " is not a regular file with one link; refusing to append to it");
    }
    return fd;
}

void write_file_atomic(const std::string& path, const void* data, size_t length, bool private_file) {
    NewFile file(path, private_file);
    file.write(data, length);
    file.replace();
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

std::string read_passphrase_file(const std::string& path, const std::string& option) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(kExitUsage, "cannot read the passphrase file " + path + " (" + option + "): " + errno_text(errno));
    ::close(fd);
    std::string text = read_small_file(path, 4096);
    auto nl = text.find_first_of("\r\n");
    if (nl != std::string::npos) text.resize(nl);
    return text;
}

KeySource KeySource::from(const std::string& key_file, const std::string& passphrase_file,
                          const std::optional<std::string>& passphrase) {
    KeySource k;
    k.key_file = key_file;
    if (!passphrase_file.empty()) {
        k.passphrase = read_passphrase_file(passphrase_file, "--passphrase-file or ZADP_REPO_PASSPHRASE_FILE");
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

bool allow_shared_dir_from(bool option) {
    const char* env = std::getenv("ZADP_REPO_ALLOW_SHARED_DIR");
    return option || (env && std::string(env) == "1");
}

void refuse_shared_dir(const std::string& dir) {
    for (const char* sub : {"", "/packs", "/chunks", "/backups"}) {
        std::string path = dir + sub;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !(st.st_mode & (S_IWGRP | S_IWOTH))) continue;
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        fail(kExitUsage, "repository directory " + path + " may be written by " +
                             ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " + mode +
                             "): a file or link another user planted there would be trusted; run chmod go-w " +
                             path + ", or give --allow-shared-dir (or ZADP_REPO_ALLOW_SHARED_DIR=1) if everyone "
                             "who may write it is trusted");
    }
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
    auto [dir, name] = split_path(path);
    DirFd d(dir);
    if (d.get() < 0) fail(kExitIo, "open " + dir + ": " + errno_text(errno));
    fd_ = ::openat(d.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0 && errno == ENOENT) {
        fd_ = ::openat(d.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd_ >= 0) (void)::fchmod(fd_, 0600);  // whatever the umask
        else if (errno == EEXIST) fd_ = ::openat(d.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    }
    // A reader that may not write the repository (or a read-only mount):
    // flock works on a read-only descriptor too.
    if (fd_ < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
        fd_ = ::openat(d.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) {
        if (errno == ELOOP) fail(kExitIo, path + " is a symbolic link; refusing to follow it (remove it)");
        fail(kExitIo, "open " + path + ": " + errno_text(errno));
    }
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
                        uint32_t version, bool allow_shared_dir) {
    if (version < kOldestRepoVersion || version > kRepoVersion)
        fail(kExitUsage, "--format-version must be " + std::to_string(kOldestRepoVersion) + " or " +
                             std::to_string(kRepoVersion));
    if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize || (chunk_size & (chunk_size - 1)))
        fail(kExitUsage, "--chunk-size must be a power of two from 64K to 4M");
    if (!encrypt && (!keys.key_file.empty() || keys.has_passphrase))
        fail(kExitUsage, std::string(keys.key_file.empty() ? "a passphrase" : "--key-file " + keys.key_file) +
                             " was given without --encrypt: add --encrypt for an encrypted repository, or give "
                             "no key (and unset ZADP_REPO_KEY_FILE, ZADP_REPO_PASSPHRASE_FILE, "
                             "ZADP_REPO_PASSPHRASE) for a plain one");
    struct stat st {};
    if (::stat((dir + "/config").c_str(), &st) == 0) fail(kExitUsage, dir + " is already a repository");
    if (::stat(dir.c_str(), &st) == 0 && (!S_ISDIR(st.st_mode) || !list_dir(dir).empty()))
        fail(kExitUsage, dir + " exists and is not an empty directory");
    if (!allow_shared_dir) refuse_shared_dir(dir);
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
    if (!wrapped.empty()) write_file_atomic(dir + "/key", wrapped.data(), wrapped.size(), true);
    Lock touch_lock(dir + "/lock", false);
    std::string text = config_json(c);
    write_file_atomic(dir + "/config", text.data(), text.size(), true);  // last: a repository exists once it has one
    return c;
}

std::unique_ptr<Repository> Repository::open(const std::string& dir, const KeySource& keys, Access access,
                                             bool allow_shared_dir) {
    std::string text;
    try {
        text = read_small_file(dir + "/config", 1 << 16);
    } catch (const Error& e) {
        if (e.code() == kExitNotFound) fail(kExitNotFound, dir + " is not a zadp repository (no config; see zadp-repo init)");
        throw;
    }
    Config c = parse_config(dir, text);
    if (access == Access::kWrite && !allow_shared_dir) refuse_shared_dir(dir);
    std::optional<MasterKey> key;
    if (c.encrypted)
        key = resolve_key(dir, c, keys);
    else if (!keys.key_file.empty() || keys.has_passphrase)
        log_warning("repository " + dir + " is not encrypted: " +
                    (keys.key_file.empty() ? std::string("the passphrase") : "the key file " + keys.key_file) +
                    " is not used (its data is stored and read unencrypted)");
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
    auto exists_already = [&] {
        fail(kExitUsage, "repo:" + name + " exists already (backups are immutable; rm it first)");
    };
    struct stat st {};
    if (::stat(blob_path(name).c_str(), &st) == 0 || ::stat(index_path(name).c_str(), &st) == 0) exists_already();
    auto object = encode_object(ObjectKind::kBlob, name, data.data(), data.size(), sealer_, 3);
    std::string path = blob_path(name);
    make_dirs(path.substr(0, path.rfind('/')));
    NewFile file(path);
    file.write(object.data(), object.size());
    if (!file.create_only()) exists_already();  // another writer's, stored meanwhile
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
        NewFile file(path);
        std::string text = vm_id + "\n";
        file.write(text.data(), text.size());
        if (file.create_only()) return;
        owner = read_small_file(path, 4096);  // another store claimed it first
    }
    while (!owner.empty() && (owner.back() == '\n' || owner.back() == '\r')) owner.pop_back();
    if (owner != vm_id)
        fail(kExitUsage, "group " + group + " holds backups of VM " + owner + ", not of VM " + vm_id +
                             "; two VMs with one name need two groups (e.g. NAME-" + vm_id + ")");
}

}  // namespace hci::repo
