// The whole repository on the in-memory object store: nothing it does needs
// a path, a rename, an append or flock (issue 18 §1), and the locks keep
// their rules through the store's lock interface.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <set>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/maintenance.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;

namespace {

void store(Repository& repo, const std::string& name, const std::vector<unsigned char>& image,
           const std::string& vm = "vm-1") {
    ImageWriter w(repo, name, image.size(), 512, R"({"vm":{"id":")" + vm + R"(","name":"web"}})");
    w.write(0, image.data(), image.size());
    w.commit();
}

const Emit ignore = [](const boost::json::object&) {};

}  // namespace

TEST_CASE("the repository on the memory store: store, read, list, check, rm, gc") {
    auto owned = open_memory_store();
    ObjectStore& objects = *owned;
    Repository::init(objects, 65536, false, {});
    auto repo = Repository::open(std::move(owned), "memory", {});

    auto day1 = random_image(3 << 20, 1), day2 = day1;
    auto changed = random_image(65536, 9);
    std::memcpy(day2.data() + (1 << 20), changed.data(), changed.size());  // one chunk changes
    store(*repo, "web01/2026-11-27T020000Z/disk0", day1);
    store(*repo, "web01/2026-11-28T020000Z/disk0", day2);
    repo->put_blob("web01/2026-11-28T020000Z/backup.json", {'{', '}'});
    CHECK(read_image(*repo, "web01/2026-11-27T020000Z/disk0") == day1);
    CHECK(read_image(*repo, "web01/2026-11-28T020000Z/disk0") == day2);
    CHECK(repo->get_blob("web01/2026-11-28T020000Z/backup.json") == std::vector<unsigned char>{'{', '}'});

    // Every object is under a key of zadp-repo(5); no temporaries.
    std::set<std::string> tops;
    objects.list("", [&](const ObjectInfo& o) { tops.insert(o.key.substr(0, o.key.find('/'))); });
    CHECK(tops == std::set<std::string>{"backups", "config", "packs"});
    CHECK(objects.stat("backups/web01/2026-11-28T020000Z/disk0.fidx"));
    CHECK(objects.stat("backups/web01/=vm-id"));

    // The group's claim: another VM is refused.
    CHECK(exit_code_of([&] { store(*repo, "web01/2026-11-29T020000Z/disk0", day1, "vm-2"); }) == kExitUsage);
    CHECK(repo->has_group("web01"));
    CHECK(!repo->has_group("web02"));

    uint64_t lines = 0;
    CHECK(list_items(*repo, "", [&](const boost::json::object&) { ++lines; }));
    CHECK(lines == 3);
    CHECK(check(*repo, "", true, ignore) == 0);

    remove_items(*repo, "web01/2026-11-27T020000Z", ignore);
    auto gc = collect_garbage(*repo, false);
    CHECK(!gc.refused);
    INFO(boost::json::serialize(gc_report_json(gc, false)));
    CHECK(gc.chunks_removed == 1);  // day 1's version of the changed chunk: two small packs combined
    CHECK(gc.files_rewritten == 2);
    CHECK(read_image(*repo, "web01/2026-11-28T020000Z/disk0") == day2);
    CHECK(check(*repo, "", true, ignore) == 0);
}

TEST_CASE("the repository on the memory store: a damaged chunk is set aside in packs/damaged, no append needed") {
    auto owned = open_memory_store();
    ObjectStore& objects = *owned;
    Repository::init(objects, 65536, false, {});
    auto repo = Repository::open(std::move(owned), "memory", {});
    auto image = random_image(1 << 20, 2);
    store(*repo, "g/t/d", image);
    // Flip a byte of one chunk inside its pack.
    ChunkId id = chunk_id(image.data() + 65536 * 3, 65536, nullptr);
    auto place = repo->chunks().where(id);
    REQUIRE(place);
    auto pack = *objects.load(place->key);
    pack[place->offset + place->length / 2] ^= 1;
    objects.save(place->key, pack.data(), pack.size());
    // Two damaged copies set aside one after the other: both lines stay.
    CHECK(check(*repo, "", true, ignore) == 1);
    auto listed = objects.load("packs/damaged");
    REQUIRE(listed);
    CHECK(std::count(listed->begin(), listed->end(), '\n') == 1);
    CHECK(exit_code_of([&] { read_image(*repo, "g/t/d"); }) == kExitIntegrity);
    store(*repo, "g/t2/d", image);  // the chunk is stored again, and heals g/t/d
    CHECK(read_image(*repo, "g/t/d") == image);
}

TEST_CASE("the repository on the memory store: the lock rules hold through the store's locks") {
    auto owned = open_memory_store();
    ObjectStore& objects = *owned;
    Repository::init(objects, 65536, false, {});
    auto repo = Repository::open(std::move(owned), "memory", {});
    {
        auto reader = repo->lock_shared();
        CHECK(repo->lock_exclusive_if_free() == nullptr);  // gc, sweep and prune see a writer
        std::vector<std::string> said;
        CHECK(!sweep_unfinished(*repo, "", false, [&](const boost::json::object& o) {
            said.push_back(std::string(o.at("sweep").as_string()));
        }));
        CHECK(said == std::vector<std::string>{"skipped"});
        auto another = repo->lock_shared();  // readers share it
        CHECK(another);
    }
    auto gc = repo->lock_exclusive_if_free();
    REQUIRE(gc);
    CHECK(objects.lock("lock", false, false) == nullptr);  // nothing else while gc holds it
}
