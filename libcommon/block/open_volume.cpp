#include "libcommon/block/open_volume.h"

#include <curl/curl.h>

#include <iterator>

#include "libcommon/base/error.h"
#include "libcommon/block/file_volume.h"
#include "libcommon/block/iscsi_volume.h"

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
};

std::string known_schemes() {
    std::string list = "a path";
    for (const auto& t : kTransports) list += std::string(", ") + t.prefix;
    return list;
}

}  // namespace

std::unique_ptr<Volume> open_volume(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    if (url.empty() || url == "-") fail(kExitUsage, "a volume must be a path or URL, not '" + url + "'");
    for (const auto& t : kTransports)
        if (url.starts_with(t.prefix)) return t.open(url, mode, options);
    auto colon = url.find("://");
    if (colon != std::string::npos && url.find('/') > colon)
        fail(kExitUsage, "unsupported URL scheme in '" + url.substr(0, colon) + "://...' (use " + known_schemes() + ")");
    return open_file_volume(url, mode, options);
}

}  // namespace hci
