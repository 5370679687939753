#include "libcommon/block/repo/backend/open_store.h"

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/s3_store.h"
#include "libcommon/block/repo/crypto.h"

namespace hci::repo {

std::unique_ptr<ObjectStore> open_store(const std::string& where, bool for_init) {
    if (!is_object_store_url(where)) return open_local_store(where);
    S3StoreOptions options;
    options.create_bucket = for_init;
    auto store = open_s3_store(where, options);
    if (for_init && !store->stat("config")) {
        unsigned char id[8];
        random_bytes(id, sizeof id);
        if (!create_only_holds(*store, "init-probe-" + to_hex(id, sizeof id)))
            fail(kExitApi, "the object store " + where +
                               " does not keep create-only writes create-only (a second PUT with If-None-Match: * "
                               "did not get 412): commits and leases rest on it, so no repository is made there");
    }
    return store;
}

}  // namespace hci::repo
