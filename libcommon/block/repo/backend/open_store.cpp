#include "libcommon/block/repo/backend/open_store.h"

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/s3_store.h"

namespace hci::repo {

std::unique_ptr<ObjectStore> open_store(const std::string& where, bool for_init) {
    if (!is_object_store_url(where)) return open_local_store(where);
    S3StoreOptions options;
    options.create_bucket = for_init;
    return open_s3_store(where, options);
}

}  // namespace hci::repo
