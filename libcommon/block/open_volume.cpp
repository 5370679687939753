#include "libcommon/block/open_volume.h"

#include <curl/curl.h>

#include <algorithm>
#include <iterator>

#include "libcommon/base/error.h"
#include "libcommon/block/file_volume.h"
#include "libcommon/block/iscsi_volume.h"
#include "libcommon/block/pipe_volume.h"
#include "libcommon/block/repo/repo_volume.h"

namespace hci {
namespace {

// file:///path or file://localhost/path -> /path, with %XX decoded.
std::unique_ptr<Volume> open_file_url(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    std::string rest = url.substr(std::char_traits<char>::length("file://"));
    if (rest.starts_with("localhost/")) rest = rest.substr(9);
    if (rest.empty() || rest[0] != '/') fail(kExitUsage, "bad file URL '" + url + "': use file:///absolute/path");
    int length = 0;
    char* decoded = curl_easy_unescape(nullptr, rest.c_str(), static_cast<int>(rest.size()), &length);
    if (!decoded) throw std::bad_alloc();
    std::string path(decoded, static_cast<size_t>(length));
    curl_free(decoded);
    return open_file_volume(path, mode, options);
}

// One row per URL scheme. A new transport is a unit with its open function
// and a row here.
struct Transport {
    const char* prefix;  // "iscsi://"
    std::unique_ptr<Volume> (*open)(const std::string& url, OpenMode mode, const VolumeOptions& options);
};

constexpr Transport kTransports[] = {
    {"iscsi://", open_iscsi_volume},
    {"file://", open_file_url},
    {"repo:", open_repo_volume},
};

// The first `size` bytes of a source volume (zadp-read --size).
class PrefixVolume : public Volume {
public:
    PrefixVolume(std::unique_ptr<Volume> whole, uint64_t size) : whole_(std::move(whole)), size_(size) {
        if (whole_->size() < size_)
            fail(kExitUsage, whole_->describe() + " holds " + std::to_string(whole_->size()) +
                                 " bytes, less than --size " + std::to_string(size_));
    }
    uint64_t size() const override { return size_; }
    uint32_t block_size() const override { return whole_->block_size(); }
    size_t max_io_size() const override { return whole_->max_io_size(); }
    std::vector<Extent> extents(uint64_t offset, uint64_t length) override {
        return whole_->extents(offset, std::min(length, size_ - std::min(offset, size_)));
    }
    void read(uint64_t offset, void* buf, size_t length) override { whole_->read(offset, buf, length); }
    unsigned read_depth() const override { return whole_->read_depth(); }
    void start_read(uint64_t offset, void* buf, size_t length) override { whole_->start_read(offset, buf, length); }
    void finish_read() override { whole_->finish_read(); }
    void cancel_reads() override { whole_->cancel_reads(); }
    void write(uint64_t, const void*, size_t) override { fail(kExitUsage, "--size applies to sources only"); }
    bool zero(uint64_t, uint64_t) override { fail(kExitUsage, "--size applies to sources only"); }
    void flush() override {}
    std::string describe() const override { return whole_->describe(); }

private:
    std::unique_ptr<Volume> whole_;
    uint64_t size_;
};

std::unique_ptr<Volume> open_by_url(const std::string& url, OpenMode mode, const VolumeOptions& options);

std::string known_schemes() {
    std::string list = "a path";
    for (const auto& t : kTransports) list += std::string(", ") + t.prefix;
    return list;
}

std::unique_ptr<Volume> open_by_url(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    if (url.empty()) fail(kExitUsage, "a volume must be a path, a URL or -, not empty");
    if (url == "-") return open_pipe_volume(mode, options);
    for (const auto& t : kTransports)
        if (url.starts_with(t.prefix)) return t.open(url, mode, options);
    auto colon = url.find("://");
    if (colon != std::string::npos && url.find('/') > colon)
        fail(kExitUsage, "unsupported URL scheme in '" + url.substr(0, colon) + "://...' (use " + known_schemes() + ")");
    return open_file_volume(url, mode, options);
}

}  // namespace

std::unique_ptr<Volume> open_volume(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    auto volume = open_by_url(url, mode, options);
    if (mode == OpenMode::Read && options.size && url != "-")
        return std::make_unique<PrefixVolume>(std::move(volume), *options.size);
    return volume;
}

}  // namespace hci
