#include "libcommon/block/repo/repo_volume.h"

#include <boost/json.hpp>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/stream.h"

namespace hci {
namespace {

using repo::Repository;

std::unique_ptr<Repository> open_repository(const VolumeOptions& options, OpenMode mode) {
    return Repository::open(repo::repo_dir_from(options.repo),
                            repo::KeySource::from(options.repo_key_file, options.repo_passphrase_file,
                                                  options.repo_passphrase),
                            mode == OpenMode::Read ? repo::Access::kRead : repo::Access::kWrite,
                            repo::allow_shared_dir_from(options.repo_allow_shared_dir));
}

class RepoSink : public Volume {
public:
    RepoSink(std::unique_ptr<Repository> repo, const std::string& name, const VolumeOptions& options)
        : repo_(std::move(repo)),
          // Fed by zadp-write from a stream whose trailer it verifies: the
          // index records that digest rather than hashing the image again.
          writer_(*repo_, name, options.create_size, options.stream_block_size, options.identity,
                  repo::ImageWriter::Digest::kFromStream) {}
    uint64_t size() const override { return writer_.header().size; }
    std::vector<Extent> extents(uint64_t offset, uint64_t length) override { return {{offset, length, true}}; }
    void read(uint64_t, void*, size_t) override { fail(kExitUsage, describe() + " is being written, not read"); }
    void write(uint64_t offset, const void* buf, size_t length) override { writer_.write(offset, buf, length); }
    bool zero(uint64_t offset, uint64_t length) override {
        writer_.zero(offset, length);
        return true;
    }
    void flush() override {}
    void stream_verified(const std::string& digest_hex) override { writer_.set_verified_digest(digest_hex); }
    void commit() override {
        writer_.commit();
        committed_ = true;
    }
    bool is_new() const override { return true; }  // images are immutable: always a new one
    std::string describe() const override { return "repo:" + writer_.header().name; }
    std::string report() const override {
        if (!committed_) return "";
        auto o = repo::image_summary(writer_.header(), writer_.totals());
        o["repo"] = repo_->dir();
        return boost::json::serialize(o);
    }

private:
    std::unique_ptr<Repository> repo_;
    repo::ImageWriter writer_;
    bool committed_ = false;
};

class RepoSource : public Volume {
public:
    RepoSource(std::unique_ptr<Repository> repo, const std::string& name)
        : repo_(std::move(repo)), reader_(*repo_, name) {}
    uint64_t size() const override { return reader_.size(); }
    uint32_t block_size() const override {
        uint32_t b = reader_.header().block_size;
        return b >= 512 && b <= stream::kMaxBlockSize && (b & (b - 1)) == 0 ? b : 4096;
    }
    // Reads of 1 MiB whatever the chunk size: the reader loads whole chunks
    // ahead anyway, and the copy's buffers stay small beside them.
    size_t max_io_size() const override { return 1u << 20; }
    std::vector<Extent> extents(uint64_t offset, uint64_t length) override {
        std::vector<Extent> out;
        const uint64_t cs = reader_.chunk_size(), end = offset + length;
        for (uint64_t pos = offset; pos < end;) {
            uint64_t c = pos / cs;
            uint64_t next = std::min(end, (c + 1) * cs);
            bool allocated = !reader_.chunk_is_zero(c);
            if (!out.empty() && out.back().allocated == allocated)
                out.back().length += next - pos;
            else
                out.push_back({pos, next - pos, allocated});
            pos = next;
        }
        return out;
    }
    void read(uint64_t offset, void* buf, size_t length) override { reader_.read(offset, buf, length); }
    // The decoded chunk itself: a restore writes from it, no copy between.
    size_t lend_size() const override { return reader_.chunk_size(); }
    const unsigned char* lend(uint64_t offset, size_t length) override { return reader_.lend(offset, length); }
    bool promise_digest_check() override { return reader_.rely_on_digest_check(); }
    void check_read_digest(const std::string& digest_hex) override { reader_.check_digest(digest_hex); }
    void write(uint64_t, const void*, size_t) override { read_only(); }
    bool zero(uint64_t, uint64_t) override { read_only(); }
    void flush() override {}
    std::string describe() const override { return "repo:" + reader_.header().name; }
    std::string identity() const override { return reader_.header().identity; }

private:
    [[noreturn]] void read_only() const {
        fail(kExitUsage, describe() + " exists already; backups in a repository are immutable");
    }
    std::unique_ptr<Repository> repo_;
    repo::ImageReader reader_;
};

}  // namespace

std::unique_ptr<Volume> open_repo_volume(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    std::string name = url.substr(5);
    repo::validate_name(name);
    auto repository = open_repository(options, mode);
    if (mode == OpenMode::Read) return std::make_unique<RepoSource>(std::move(repository), name);
    if (options.create_growable)
        fail(kExitUsage, "a repository stores block streams; convert a raw image with zadp-read first");
    return std::make_unique<RepoSink>(std::move(repository), name, options);
}

}  // namespace hci
