#pragma once
// The store a repository name means, wherever one is accepted (zadp-repo
// --repo / ZADP_REPO, zadp-read and zadp-write repo: names):
// "s3://BUCKET/PREFIX" is S3 (endpoint and credentials by the AWS
// conventions, s3/config.h), anything else a directory.
#include <memory>
#include <string>

#include "libcommon/block/repo/backend/object_store.h"

namespace hci::repo {

inline bool is_object_store_url(const std::string& where) { return where.starts_with("s3://"); }

// With `for_init`, a missing bucket is created (Repository::init then
// checks that create-only writes hold).
std::unique_ptr<ObjectStore> open_store(const std::string& where, bool for_init = false);

}  // namespace hci::repo
