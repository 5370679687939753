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
#include "libcommon/block/repo/backend/local_files.h"
#include "libcommon/block/repo/backend/open_store.h"
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
    if (c.single_writer) o["single_writer"] = true;
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
    if (auto* f = o.if_contains("single_writer"); f && f->is_bool()) c.single_writer = f->as_bool();
    return c;
}

// A small object of the store, whole (exit 6 when larger than `limit`).
std::optional<std::string> load_small(ObjectStore& store, const std::string& key, size_t limit) {
    auto stat = store.stat(key);
    if (stat && stat->size > limit)
        fail(kExitIntegrity, store.where(key) + " is larger than " + std::to_string(limit) + " bytes");
    auto bytes = store.load(key);
    if (!bytes) return std::nullopt;
    if (bytes->size() > limit)
        fail(kExitIntegrity, store.where(key) + " is larger than " + std::to_string(limit) + " bytes");
    return std::string(bytes->begin(), bytes->end());
}

MasterKey resolve_key(ObjectStore& store, const std::string& dir, const Config& config, const KeySource& keys) {
    MasterKey key;
    std::string source;
    if (!keys.key_file.empty()) {
        key = read_key_file(keys.key_file);
        source = "key file " + keys.key_file;
    } else if (keys.has_passphrase) {
        std::optional<std::string> wrapped;
        try {
            wrapped = load_small(store, "key", 1 << 16);
        } catch (const Error&) {
            wrapped.reset();
        }
        if (!wrapped) fail(kExitUsage, "repository " + dir + " keeps no passphrase-protected key; give --key-file");
        key = unwrap_key(*wrapped, keys.passphrase);
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
    if (dir.empty()) fail(kExitUsage, "no repository: give --repo DIR (or s3://BUCKET/PREFIX) or set ZADP_REPO");
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

Repository::Repository(std::unique_ptr<ObjectStore> store, std::string dir, std::string local_dir, Config config,
                       std::optional<MasterKey> key)
    : store_(std::move(store)), dir_(std::move(dir)), local_dir_(std::move(local_dir)), config_(std::move(config)),
      key_(std::move(key)), sealer_(key_ ? &*key_ : nullptr),
      chunks_(config_.version == 1 ? open_directory_chunk_store(*store_, "chunks")
                                   : open_pack_chunk_store(*store_, "packs", sealer_)) {}

namespace {

// What init refuses before it creates anything (exit 2).
void check_init_arguments(uint32_t chunk_size, bool encrypt, const KeySource& keys, uint32_t version) {
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
    if (encrypt && keys.key_file.empty() && !keys.has_passphrase)
        fail(kExitUsage, "--encrypt needs --key-file FILE or a passphrase (ZADP_REPO_PASSPHRASE_FILE, "
                         "ZADP_REPO_PASSPHRASE or --passphrase-file)");
}

// Whether a second create() of one key fails, as commits and leases need.
// A store where it does not is refused (exit 3) unless the user accepted a
// single writer, which is then said loudly.
bool create_only_probe_holds(ObjectStore& store, bool single_writer) {
    unsigned char id[8];
    random_bytes(id, sizeof id);
    if (create_only_holds(store, "init-probe-" + to_hex(id, sizeof id))) return true;
    const std::string what = "the store " + store.where("") +
                             " does not keep create-only writes create-only (a second create of one key, on S3 a "
                             "second PUT with If-None-Match: *, did not fail)";
    if (!single_writer)
        fail(kExitApi, what + ": commits and leases rest on it, so no repository is made there "
                              "(zadp-repo init --unsafe-single-writer makes one for a single writing host)");
    log_warning(what + "; --unsafe-single-writer: the repository is made for ONE writing host only. Two writers "
                       "(stores, gc, prune) at once can overwrite one another's objects and lose backups; every "
                       "writer will repeat this warning");
    return false;
}

}  // namespace

Config Repository::init(const std::string& dir, uint32_t chunk_size, bool encrypt, const KeySource& keys,
                        uint32_t version, bool allow_shared_dir, bool single_writer) {
    check_init_arguments(chunk_size, encrypt, keys, version);
    if (is_object_store_url(dir)) {
        auto store = open_store(dir, true);
        return init(*store, chunk_size, encrypt, keys, version, single_writer);
    }
    struct stat st {};
    if (::stat((dir + "/config").c_str(), &st) == 0) fail(kExitUsage, dir + " is already a repository");
    if (::stat(dir.c_str(), &st) == 0 && (!S_ISDIR(st.st_mode) || !list_dir(dir).empty()))
        fail(kExitUsage, dir + " exists and is not an empty directory");
    if (!allow_shared_dir) refuse_shared_dir(dir);
    // The directories of a local repository exist from the start (gc and
    // the shared-directory check look at them).
    make_dirs(version == 1 ? dir + "/chunks" : dir + "/packs");
    make_dirs(dir + "/backups");
    auto store = open_local_store(dir);
    return init(*store, chunk_size, encrypt, keys, version, single_writer);
}

Config Repository::init(ObjectStore& store, uint32_t chunk_size, bool encrypt, const KeySource& keys,
                        uint32_t version, bool single_writer) {
    check_init_arguments(chunk_size, encrypt, keys, version);
    if (store.stat("config")) fail(kExitUsage, store.where("") + " is already a repository");
    Config c;
    c.single_writer = !create_only_probe_holds(store, single_writer);
    c.version = version;
    c.chunk_size = chunk_size;
    c.created = utc_now();
    unsigned char id[16];
    random_bytes(id, sizeof id);
    c.id = to_hex(id, sizeof id);
    std::optional<MasterKey> key;
    std::string wrapped;
    if (encrypt) {
        struct stat st {};
        if (!keys.key_file.empty()) {
            if (::stat(keys.key_file.c_str(), &st) == 0) {
                key = read_key_file(keys.key_file);
            } else {
                key = MasterKey::generate();
                write_key_file(keys.key_file, *key);
            }
        } else {
            key = MasterKey::generate();  // wrapped by the passphrase
        }
        if (keys.has_passphrase) wrapped = wrap_key(*key, keys.passphrase);
        c.encrypted = true;
        c.key_fingerprint = key->fingerprint();
    }
    if (!wrapped.empty()) store.save("key", wrapped.data(), wrapped.size());
    store.lock(kLockKey, false, true);  // on a directory: creates DIR/lock, 0600
    std::string text = config_json(c);
    store.sync();
    // Last, create-only: a repository exists once it has a config, and of
    // two inits racing one wins.
    if (!store.create("config", text.data(), text.size())) fail(kExitUsage, store.where("config") + " exists already");
    store.sync();
    return c;
}

namespace {

// Every writer of a repository made with --unsafe-single-writer says so.
std::unique_ptr<Repository> warn_if_single_writer(std::unique_ptr<Repository> repo, Access access) {
    if (access == Access::kWrite && repo->config().single_writer)
        log_warning("repository " + repo->dir() + " was made with --unsafe-single-writer (its store does not keep "
                    "create-only writes create-only): only ONE host may write to it; two writers at once can "
                    "overwrite one another's objects and lose backups");
    return repo;
}

}  // namespace

std::unique_ptr<Repository> Repository::open(const std::string& dir, const KeySource& keys, Access access,
                                             bool allow_shared_dir) {
    if (is_object_store_url(dir)) return warn_if_single_writer(open(open_store(dir), dir, keys), access);
    auto store = open_local_store(dir);
    // A config that does not parse or has an unknown version is refused
    // before the shared-directory check, as ever.
    auto repo = open(std::move(store), dir, keys);
    if (access == Access::kWrite && !allow_shared_dir) refuse_shared_dir(dir);
    repo->local_dir_ = dir;
    return warn_if_single_writer(std::move(repo), access);
}

std::unique_ptr<Repository> Repository::open(std::unique_ptr<ObjectStore> store, const std::string& where,
                                             const KeySource& keys) {
    auto text = load_small(*store, "config", 1 << 16);
    if (!text) fail(kExitNotFound, where + " is not a zadp repository (no config; see zadp-repo init)");
    Config c = parse_config(where, *text);
    std::optional<MasterKey> key;
    if (c.encrypted)
        key = resolve_key(*store, where, c, keys);
    else if (!keys.key_file.empty() || keys.has_passphrase)
        log_warning("repository " + where + " is not encrypted: " +
                    (keys.key_file.empty() ? std::string("the passphrase") : "the key file " + keys.key_file) +
                    " is not used (its data is stored and read unencrypted)");
    return std::unique_ptr<Repository>(new Repository(std::move(store), where, "", c, key));
}

void Repository::save_wrapped_key(const std::string& wrapped) {
    store_->save("key", wrapped.data(), wrapped.size());
    store_->sync();
}

uint64_t Repository::store_chunk(const ChunkId& id, const void* data, size_t length, Bytes& object) {
    if (chunks_->reusable(id)) return 0;
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

std::string Repository::check_chunk(const ChunkId& id, Bytes& file, Bytes& scratch, PlainView& plain, bool hash) {
    std::string error = decode_object(ObjectKind::kChunk, to_hex(id), file, sealer_, scratch, plain);
    if (!error.empty()) return "damaged: " + error;
    if (hash && chunk_id(plain.data, plain.size, key()) != id) return "damaged: its bytes do not hash to its id";
    return "";
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
    if (store_->stat(blob_key(name)) || store_->stat(index_key(name))) exists_already();
    auto object = encode_object(ObjectKind::kBlob, name, data.data(), data.size(), sealer_, 3);
    if (!store_->create(blob_key(name), object.data(), object.size())) exists_already();  // another writer's, meanwhile
    store_->sync();
}

std::vector<unsigned char> Repository::get_blob(const std::string& name) {
    validate_name(name);
    auto text = load_small(*store_, blob_key(name), kMaxBlobSize * 2);
    if (!text) {
        if (store_->stat(index_key(name)))
            fail(kExitUsage, "repo:" + name + " is an image; read it with zadp-read --source repo:" + name);
        fail(kExitNotFound, "repo:" + name + ": no such blob in the repository");
    }
    std::vector<unsigned char> file(text->begin(), text->end());
    auto decoded = decode_object(ObjectKind::kBlob, name, file, sealer_);
    if (!decoded.error.empty()) fail(kExitIntegrity, "repo:" + name + ": the blob is damaged: " + decoded.error);
    return decoded.data;
}

std::vector<Repository::Item> Repository::list(const std::string& prefix) const {
    validate_prefix(prefix);
    auto want = prefix.empty() ? std::vector<std::string>{} : split_name(prefix);
    // The narrowest listing: GROUP/, GROUP/TIME/ or GROUP/TIME/FILE.
    std::string from = "backups/" + prefix + (want.size() < 3 && !prefix.empty() ? "/" : want.size() == 3 ? "." : "");
    std::vector<std::pair<std::vector<std::string>, Item>> found;
    store_->list(from, [&](const ObjectInfo& o) {
        auto parts = split_name(o.key.substr(8));  // after "backups/"
        if (parts.size() != 3) return;
        for (const char* suffix : {".fidx", ".blob"}) {
            if (!parts[2].ends_with(suffix)) continue;
            std::string base = parts[2].substr(0, parts[2].size() - 5);
            if (want.size() == 3 && want[2] != base) continue;
            found.push_back({parts, {parts[0] + "/" + parts[1] + "/" + base, std::string(suffix) == ".fidx", o.key}});
        }
    });
    // In the order of the parts (a directory's listing), not of the keys:
    // "a/x" before "a-b/x".
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Item> items;
    for (auto& f : found) items.push_back(std::move(f.second));
    return items;
}

bool Repository::has_group(const std::string& group) {
    if (!local_dir_.empty()) {  // local-store-only, like the claim below
        struct stat st {};
        return ::stat((local_dir_ + "/backups/" + group).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    bool any = false;
    store_->list("backups/" + group + "/", [&](const ObjectInfo&) { any = true; });
    return any;
}

// The VM a group holds. On a directory repository the claim is the file
// backups/GROUP/.vm-id, as format version 2 always had it: a hidden name no
// object key may have, so this is a local-store-only path (kept so that
// repositories and binaries of either version agree on it). Other stores
// keep it under the key backups/GROUP/=vm-id ('=' is in no GROUP/TIME/FILE).
void Repository::claim_group(const std::string& group, const std::string& vm_id) {
    if (vm_id.empty()) return;
    std::string text = vm_id + "\n", owner;
    if (!local_dir_.empty()) {
        std::string path = local_dir_ + "/backups/" + group + "/.vm-id";
        try {
            owner = read_small_file(path, 4096);
        } catch (const Error& e) {
            if (e.code() != kExitNotFound) throw;
            make_dirs(local_dir_ + "/backups/" + group);
            NewFile file(path);
            file.write(text.data(), text.size());
            if (file.create_only()) return;
            owner = read_small_file(path, 4096);  // another store claimed it first
        }
    } else {
        std::string key = "backups/" + group + "/=vm-id";
        if (!store_->stat(key) && store_->create(key, text.data(), text.size())) return;
        owner = load_small(*store_, key, 4096).value_or("");  // ours, or another store's that won
    }
    while (!owner.empty() && (owner.back() == '\n' || owner.back() == '\r')) owner.pop_back();
    if (owner != vm_id)
        fail(kExitUsage, "group " + group + " holds backups of VM " + owner + ", not of VM " + vm_id +
                             "; two VMs with one name need two groups (e.g. NAME-" + vm_id + ")");
}

}  // namespace hci::repo
