#include "libcommon/block/volume.h"

#include <cctype>

#include "libcommon/base/error.h"
#include "libcommon/block/file_volume.h"
#include "libcommon/block/iscsi_volume.h"

namespace hci {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// file:///path or file://localhost/path -> /path, with %XX decoded.
std::string file_url_path(const std::string& url) {
    std::string rest = url.substr(7);
    if (starts_with(rest, "localhost/")) rest = rest.substr(9);
    if (rest.empty() || rest[0] != '/') fail(kExitUsage, "bad file URL '" + url + "': use file:///absolute/path");
    std::string out;
    for (size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '%' && i + 2 < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
            out += static_cast<char>(std::stoi(rest.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += rest[i];
        }
    }
    return out;
}

}  // namespace

std::unique_ptr<Volume> open_volume(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    if (url.empty() || url == "-") fail(kExitUsage, "a volume must be a path or URL, not '" + url + "'");
    if (starts_with(url, "iscsi://")) return open_iscsi_volume(url, mode, options);
    if (starts_with(url, "file://")) return open_file_volume(file_url_path(url), mode, options);
    auto colon = url.find("://");
    if (colon != std::string::npos && url.find('/') > colon)
        fail(kExitUsage, "unsupported URL scheme in '" + url.substr(0, colon) + "://...' (use a path, file:// or iscsi://)");
    return open_file_volume(url, mode, options);
}

}  // namespace hci
