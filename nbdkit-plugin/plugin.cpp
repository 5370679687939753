// nbdkit-zadp-plugin: serves one image of a zadp repository read-only over
// NBD (nbdkit-zadp-plugin(1) is zadp-repo(1)'s "serve" section):
//   nbdkit [-r] .../nbdkit-zadp-plugin.so repo=DIR image=GROUP/TIME/FILE [cache=64M] [readahead=8M]
//          [verify=seal|id]
// Keys come as everywhere: key-file=FILE or passphrase-file=FILE (paths, not
// secrets), else $ZADP_REPO_KEY_FILE, $ZADP_REPO_PASSPHRASE_FILE,
// $ZADP_REPO_PASSPHRASE; never a secret as a parameter.
//
// Thread model: PARALLEL. A request's cost is decoding chunks (read, check,
// decompress; with verify=id also hash): CPU work that several requests, of
// one connection or of many, do at once on nbdkit's threads. ServedImage is made for it: one
// mutex for the index, one for the cache, and a chunk two threads want is
// loaded once. Nothing here writes, so no request can see another's
// half-done work; multi-conn is safe for the same reason.
#define NBDKIT_API_VERSION 2
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
#include <nbdkit-plugin.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/repository.h"
#include "nbdkit-plugin/served_image.h"

namespace {

using hci::nbd::ServedImage;

struct Params {
    std::string repo, image, key_file, passphrase_file;
    hci::nbd::ServeLimits limits;
};
Params params;
std::unique_ptr<ServedImage> image;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// Runs `body`, turning an exception into nbdkit's error (logged, with the
// errno the client gets: EIO for damaged data, ENOMEM, else EIO).
template <class Body>
int guarded(Body&& body) {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        nbdkit_error("out of memory");
        nbdkit_set_error(ENOMEM);
    } catch (const std::exception& e) {
        nbdkit_error("%s", e.what());
        nbdkit_set_error(EIO);
    }
    return -1;
}

int parse_size(const char* key, const char* value, size_t& out) {
    int64_t n = nbdkit_parse_size(value);
    if (n < 0) return -1;  // nbdkit said why
    if (n == 0 && std::strcmp(key, "cache") == 0) {
        nbdkit_error("cache must be larger than 0");
        return -1;
    }
    out = static_cast<size_t>(n);
    return 0;
}

void zadp_load() { hci::set_program_name("nbdkit-zadp-plugin"); }

int zadp_config(const char* key, const char* value) {
    std::string k = key;
    if (k == "repo") {
        params.repo = value;
    } else if (k == "image") {
        params.image = value;
        if (params.image.rfind("repo:", 0) == 0) params.image.erase(0, 5);
    } else if (k == "key-file") {
        params.key_file = value;
    } else if (k == "passphrase-file") {
        params.passphrase_file = value;
    } else if (k == "cache") {
        return parse_size(key, value, params.limits.cache_bytes);
    } else if (k == "readahead") {
        return parse_size(key, value, params.limits.readahead_bytes);
    } else if (k == "verify") {
        // seal: the checks zadp-read makes of every chunk; id: also SHA-256.
        if (std::strcmp(value, "seal") != 0 && std::strcmp(value, "id") != 0) {
            nbdkit_error("verify is seal (checksum or tag, decompression) or id (also hash each chunk to its id)");
            return -1;
        }
        params.limits.hash_ids = std::strcmp(value, "id") == 0;
    } else if (k == "passphrase" || k == "key") {
        nbdkit_error("%s= would put a secret on the command line: use passphrase-file=FILE, key-file=FILE "
                     "or $ZADP_REPO_PASSPHRASE", key);
        return -1;
    } else {
        nbdkit_error("unknown parameter '%s' (repo, image, key-file, passphrase-file, cache, readahead, verify)", key);
        return -1;
    }
    return 0;
}

int zadp_config_complete() {
    if (params.repo.empty()) params.repo = env("ZADP_REPO");
    if (params.key_file.empty()) params.key_file = env("ZADP_REPO_KEY_FILE");
    if (params.passphrase_file.empty()) params.passphrase_file = env("ZADP_REPO_PASSPHRASE_FILE");
    if (params.image.empty()) {
        nbdkit_error("image=GROUP/TIME/FILE is required (zadp-repo ls lists them)");
        return -1;
    }
    if (params.repo.empty()) {
        nbdkit_error("repo=DIR is required (or $ZADP_REPO)");
        return -1;
    }
    return 0;
}

// Opens the repository and the image before nbdkit reports itself ready, so
// a wrong key or a missing image stops it at once with a clear message.
int zadp_get_ready() {
    return guarded([] {
        std::optional<std::string> passphrase;
        if (const char* p = std::getenv("ZADP_REPO_PASSPHRASE")) passphrase = p;
        auto keys = hci::repo::KeySource::from(params.key_file, params.passphrase_file, passphrase);
        auto repo = hci::repo::Repository::open(hci::repo::repo_dir_from(params.repo), keys, hci::repo::Access::kRead);
        image = std::make_unique<ServedImage>(std::move(repo), params.image, params.limits);
        return 0;
    });
}

// Threads do not survive nbdkit's fork into the background: started here.
int zadp_after_fork() {
    return guarded([] {
        image->start_threads();
        return 0;
    });
}

void zadp_unload() {
    if (image) {
        auto s = image->cache_stats();
        nbdkit_debug("cache: %lu hits, %lu misses, %lu waits, %lu evictions", (unsigned long)s.hits,
                     (unsigned long)s.misses, (unsigned long)s.waits, (unsigned long)s.evictions);
    }
    image.reset();
}

void* zadp_open(int) {
    try {
        return new ServedImage::Cursor;
    } catch (const std::bad_alloc&) {
        nbdkit_error("out of memory");
        return nullptr;
    }
}

void zadp_close(void* handle) { delete static_cast<ServedImage::Cursor*>(handle); }

int64_t zadp_get_size(void*) { return static_cast<int64_t>(image->size()); }
int zadp_false(void*) { return 0; }
int zadp_true(void*) { return 1; }
int zadp_can_cache(void*) { return NBDKIT_CACHE_NATIVE; }

const char* zadp_export_description(void*) {
    static thread_local std::string text;
    text = "repo:" + image->name();
    return text.c_str();
}

int zadp_block_size(void*, uint32_t* minimum, uint32_t* preferred, uint32_t* maximum) {
    *minimum = 1;
    // Whole chunks: a client reading this much at a time decodes each once.
    *preferred = std::max<uint32_t>(4096, std::min<uint32_t>(image->chunk_size(), 32u << 20));
    *maximum = 0xffffffff;
    return 0;
}

int zadp_pread(void* handle, void* buf, uint32_t count, uint64_t offset, uint32_t) {
    return guarded([&] {
        image->read(offset, buf, count, static_cast<ServedImage::Cursor*>(handle));
        return 0;
    });
}

int zadp_extents(void*, uint32_t count, uint64_t offset, uint32_t flags, struct nbdkit_extents* extents) {
    return guarded([&] {
        // A few thousand runs per reply at most; the client asks again for the rest.
        size_t max_runs = (flags & NBDKIT_FLAG_REQ_ONE) ? 1 : 4096;
        for (const auto& run : image->extents(offset, count, max_runs))
            if (nbdkit_add_extent(extents, run.offset, run.length,
                                  run.zero ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO : 0) == -1)
                return -1;
        return 0;
    });
}

int zadp_cache(void*, uint32_t count, uint64_t offset, uint32_t) {
    return guarded([&] {
        image->prefetch(offset, count);
        return 0;
    });
}

void zadp_dump_plugin() { std::printf("zadp_version=%s\n", HCI_VERSION); }

struct nbdkit_plugin make_plugin() {
    struct nbdkit_plugin p {};
    p.name = "zadp";
    p.longname = "zadp repository image (hci-backup)";
    p.version = HCI_VERSION;
    p.description = "Serves one image of a zadp repository read-only";
    p.load = zadp_load;
    p.unload = zadp_unload;
    p.config = zadp_config;
    p.config_complete = zadp_config_complete;
    p.config_help =
        "repo=DIR                 the repository (else $ZADP_REPO)\n"
        "[image=]GROUP/TIME/FILE  the image to serve\n"
        "key-file=FILE            key of an encrypted repository (else $ZADP_REPO_KEY_FILE)\n"
        "passphrase-file=FILE     its passphrase (else $ZADP_REPO_PASSPHRASE_FILE, $ZADP_REPO_PASSPHRASE)\n"
        "cache=SIZE               decoded chunks kept in memory (default 64M)\n"
        "readahead=SIZE           loaded ahead of a sequential reader (default 8M, at most cache/2)\n"
        "verify=seal|id           per chunk: seal and decompression (default), or also its id (SHA-256)";
    p.magic_config_key = "image";
    p.get_ready = zadp_get_ready;
    p.after_fork = zadp_after_fork;
    p.open = zadp_open;
    p.close = zadp_close;
    p.get_size = zadp_get_size;
    p.can_write = zadp_false;
    p.can_flush = zadp_false;
    p.is_rotational = zadp_false;
    p.can_trim = zadp_false;
    p.can_zero = zadp_false;
    p.can_multi_conn = zadp_true;
    p.can_extents = zadp_true;
    p.can_cache = zadp_can_cache;
    p.pread = zadp_pread;
    p.extents = zadp_extents;
    p.cache = zadp_cache;
    p.export_description = zadp_export_description;
    p.block_size = zadp_block_size;
    p.dump_plugin = zadp_dump_plugin;
    p.errno_is_preserved = 0;
    return p;
}

struct nbdkit_plugin plugin = make_plugin();

}  // namespace

NBDKIT_REGISTER_PLUGIN(plugin)
