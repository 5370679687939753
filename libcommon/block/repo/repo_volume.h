#pragma once
// repo:NAME as a Volume: a sink stores an image into a repository (the
// writer in image.h), a source reads one back. NAME is GROUP/TIME/FILE; the
// repository is VolumeOptions::repo (--repo DIR or $ZADP_REPO).
#include <memory>
#include <string>

#include "libcommon/block/volume.h"

namespace hci {

inline bool is_repo_url(const std::string& url) { return url.rfind("repo:", 0) == 0; }

std::unique_ptr<Volume> open_repo_volume(const std::string& url, OpenMode mode, const VolumeOptions& options);

}  // namespace hci
