// One conformance suite for every object store (restic's
// internal/backend/test is the model): each case runs against the local
// directory store and the in-memory one (and S3 once it exists).
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/object_store.h"
#include "repo_test_util.h"
#include "s3_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;

namespace {

std::vector<unsigned char> bytes_of(size_t size, uint64_t seed) {
    std::vector<unsigned char> b(size);
    std::mt19937_64 rng(seed);
    for (auto& c : b) c = static_cast<unsigned char>(rng());
    return b;
}

// Runs `body` once per kind of store, each fresh; under unit-s3
// (--skip-unless-s3) against S3 alone.
void for_each_store(const std::function<void(ObjectStore&)>& body) {
    if (s3_test::enabled) {
        auto store = s3_test::fresh_store();
        body(*store);
        return;
    }
    SECTION("local directory") {
        TempDir dir;
        auto store = open_local_store(dir.path);
        body(*store);
    }
    SECTION("memory") {
        auto store = open_memory_store();
        body(*store);
    }
}

std::vector<std::string> keys_under(ObjectStore& store, const std::string& prefix) {
    std::vector<std::string> keys;
    store.list(prefix, [&](const ObjectInfo& o) { keys.push_back(o.key); });
    return keys;
}

}  // namespace

TEST_CASE("object stores: a saved object loads back whole and in ranges, also past its end") {
    for_each_store([](ObjectStore& store) {
        auto data = bytes_of(100000, 1);
        store.save("packs/ab/0123.pack", data.data(), data.size());
        CHECK(*store.load("packs/ab/0123.pack") == data);
        auto mid = store.load("packs/ab/0123.pack", 1000, 50);
        CHECK(*mid == std::vector<unsigned char>(data.begin() + 1000, data.begin() + 1050));
        CHECK(store.load("packs/ab/0123.pack", 99990, 50)->size() == 10);  // short at the end
        CHECK(store.load("packs/ab/0123.pack", 200000, 50)->empty());       // none past it
        CHECK(store.load("packs/ab/0123.pack", 99000)->size() == 1000);     // to the end
        CHECK(store.stat("packs/ab/0123.pack")->size == 100000);
        CHECK(!store.load("packs/ab/none.pack"));
        CHECK(!store.stat("packs/ab/none.pack"));
        CHECK(!store.stat("nothing/here"));
    });
}

TEST_CASE("object stores: save replaces, create never does") {
    for_each_store([](ObjectStore& store) {
        std::string a = "first", b = "second";
        store.save("config", a.data(), a.size());
        store.save("config", b.data(), b.size());
        CHECK(store.load("config")->size() == b.size());
        CHECK(store.create("backups/g/t/x.blob", a.data(), a.size()));
        CHECK(!store.create("backups/g/t/x.blob", b.data(), b.size()));
        auto got = *store.load("backups/g/t/x.blob");
        CHECK(std::string(got.begin(), got.end()) == a);
    });
}

TEST_CASE("object stores: of eight writers racing to create one key, exactly one wins") {
    for_each_store([](ObjectStore& store) {
        for (int round = 0; round < 20; ++round) {
            std::string key = "race/k" + std::to_string(round);
            std::atomic<int> winners{0}, winner{-1};
            std::vector<std::thread> threads;
            for (int t = 0; t < 8; ++t)
                threads.emplace_back([&, t] {
                    std::string body = "writer " + std::to_string(t);
                    if (store.create(key, body.data(), body.size())) {
                        ++winners;
                        winner = t;
                    }
                });
            for (auto& t : threads) t.join();
            REQUIRE(winners == 1);
            auto got = *store.load(key);
            CHECK(std::string(got.begin(), got.end()) == "writer " + std::to_string(winner.load()));
        }
    });
}

TEST_CASE("object stores: listing by prefix finds every key once, in order, and only those") {
    for_each_store([](ObjectStore& store) {
        std::vector<std::string> expect;
        for (int i = 0; i < 1500; ++i) {
            char name[64];
            std::snprintf(name, sizeof name, "packs/%02x/%016x.pack", i % 256, i * 7919);
            expect.push_back(name);
            store.save(name, name, 10);
        }
        store.save("packsfile", "x", 1);
        store.save("backups/g/t/d.fidx", "x", 1);
        std::sort(expect.begin(), expect.end());
        CHECK(keys_under(store, "packs/") == expect);
        auto ab = keys_under(store, "packs/ab/");
        CHECK(ab.size() == static_cast<size_t>(std::count_if(expect.begin(), expect.end(), [](const std::string& k) {
                  return k.starts_with("packs/ab/");
              })));
        CHECK(keys_under(store, "packs").size() == expect.size() + 1);  // "packsfile" too
        CHECK(keys_under(store, "backups/g/t/d").size() == 1);
        CHECK(keys_under(store, "none/").empty());
        uint64_t total = 0;
        store.list("", [&](const ObjectInfo& o) { total += o.size; });
        CHECK(total == 1500 * 10 + 2);
    });
}

TEST_CASE("object stores: removing keys that are not there is no error") {
    for_each_store([](ObjectStore& store) {
        store.save("a/1", "x", 1);
        store.save("a/2", "y", 1);
        CHECK(store.remove({"a/1", "a/3", "b/9"}) == 1);
        CHECK(keys_under(store, "a/") == std::vector<std::string>{"a/2"});
        CHECK(store.remove({"a/1"}) == 0);
    });
}

TEST_CASE("object stores: large objects, empty objects") {
    for_each_store([](ObjectStore& store) {
        auto big = bytes_of(40u << 20, 2);
        store.save("packs/00/big.pack", big.data(), big.size());
        store.sync();
        CHECK(store.stat("packs/00/big.pack")->size == big.size());
        CHECK(*store.load("packs/00/big.pack", 17u << 20, 4096) ==
              std::vector<unsigned char>(big.begin() + (17 << 20), big.begin() + (17 << 20) + 4096));
        CHECK(*store.load("packs/00/big.pack") == big);
        store.save("empty", "", 0);
        CHECK(store.load("empty")->empty());
        CHECK(store.stat("empty")->size == 0);
    });
}

TEST_CASE("object stores: keys that could escape or hide are refused") {
    for_each_store([](ObjectStore& store) {
        for (const char* key : {"", "/etc/passwd", "a//b", "../x", "a/../b", "a/.tmp.x", ".hidden", "a/b/", "a b"})
            CHECK(exit_code_of([&] { store.save(key, "x", 1); }) == kExitUsage);
        CHECK(keys_under(store, "").empty());
    });
}

TEST_CASE("object stores: the store's clock") {
    SECTION("local directory: the file system's time stamps") {
        TempDir dir;
        auto store = open_local_store(dir.path);
        int64_t host = static_cast<int64_t>(std::time(nullptr));
        CHECK(std::abs(store->now() - host) < 120);  // a local file system stamps with this host's clock
        CHECK(std::filesystem::is_empty(dir.path));  // the probe leaves nothing
    }
    SECTION("memory: injected") {
        int64_t t = 1000;
        auto store = open_memory_store([&] { return t; });
        CHECK(store->now() == 1000);
        t += 86400;
        CHECK(store->now() == 1000 + 86400);
    }
}

TEST_CASE("local store: temporaries and links are neither listed nor followed") {
    TempDir dir;
    auto store = open_local_store(dir.path);
    store->save("packs/ab/1.pack", "x", 1);
    std::ofstream(dir.path + "/packs/ab/.tmp.2.pack.0123456789abcdef") << "half";
    std::filesystem::create_symlink("/etc/hostname", dir.path + "/packs/ab/3.pack");
    CHECK(keys_under(*store, "packs/") == std::vector<std::string>{"packs/ab/1.pack"});
    CHECK(!store->stat("packs/ab/3.pack"));
    CHECK(exit_code_of([&] { store->load("packs/ab/3.pack"); }) == kExitIo);  // O_NOFOLLOW
}

// ---- what the repository needs beyond restic's backend (issue 18 §1) ----

TEST_CASE("object stores: a reader keeps the version it opened while the key is replaced") {
    for_each_store([](ObjectStore& store) {
        auto first = bytes_of(300000, 3), second = bytes_of(200000, 4);
        store.save("packs/locator", first.data(), first.size());
        auto reader = store.open_reader("packs/locator");
        REQUIRE(reader);
        store.save("packs/locator", second.data(), second.size());
        CHECK(reader->size() == first.size());
        std::vector<unsigned char> got;
        reader->read(250000, 100000, got);  // past the end of the new version, short at the old one's
        CHECK(got == std::vector<unsigned char>(first.begin() + 250000, first.end()));
        reader->read(400000, 10, got);
        CHECK(got.empty());
        CHECK(*store.load("packs/locator") == second);
        CHECK(store.open_reader("packs/none") == nullptr);
    });
}

TEST_CASE("object stores: a writer publishes whole, reads back and patches before, and leaves nothing unpublished") {
    for_each_store([](ObjectStore& store) {
        auto body = bytes_of(1 << 20, 5);
        {
            auto w = store.open_writer("packs/ab/abababababababab.pack");
            w->write("HEAD", 4);
            w->write(body.data(), body.size());
            w->write_at(0, "head", 4);
            std::vector<unsigned char> got;
            w->read_at(2, 6, got);
            CHECK(std::string(got.begin(), got.end()) == std::string("ad") + std::string(body.begin(), body.begin() + 4));
            CHECK(w->size() == body.size() + 4);
            CHECK(!store.stat("packs/ab/abababababababab.pack"));  // not before commit
            CHECK(w->commit(true));
        }
        auto got = *store.load("packs/ab/abababababababab.pack");
        CHECK(std::string(got.begin(), got.begin() + 4) == "head");
        CHECK(std::equal(body.begin(), body.end(), got.begin() + 4));
        {
            auto again = store.open_writer("packs/ab/abababababababab.pack");
            again->write("x", 1);
            CHECK(!again->commit(true));  // create-only never replaces
            auto replace = store.open_writer("packs/ab/abababababababab.pack");
            replace->write("y", 1);
            CHECK(replace->commit(false));
        }
        CHECK(*store.load("packs/ab/abababababababab.pack") == std::vector<unsigned char>{'y'});
        {
            auto dropped = store.open_writer("backups/g/t/d.fidx");
            dropped->write("partial", 7);
        }
        CHECK(!store.stat("backups/g/t/d.fidx"));
        CHECK(keys_under(store, "backups/").empty());
        store.remove_temporaries("backups", false);
    });
}

TEST_CASE("object stores: of eight writers racing through open_writer to create one key, exactly one wins") {
    for_each_store([](ObjectStore& store) {
        for (int round = 0; round < 10; ++round) {
            std::string key = "backups/g/t" + std::to_string(round) + "/d.fidx";
            std::atomic<int> winners{0};
            std::vector<std::thread> threads;
            for (int t = 0; t < 8; ++t)
                threads.emplace_back([&, t] {
                    auto w = store.open_writer(key);
                    auto body = bytes_of(4096, static_cast<uint64_t>(t));
                    w->write(body.data(), body.size());
                    if (w->commit(true)) ++winners;
                });
            for (auto& t : threads) t.join();
            REQUIRE(winners == 1);
            CHECK(store.stat(key)->size == 4096);
        }
    });
}

TEST_CASE("object stores: locks are shared or exclusive, and a try says when it is busy") {
    for_each_store([](ObjectStore& store) {
        auto a = store.lock("lock", false, true);
        auto b = store.lock("lock", false, false);  // shared with shared
        REQUIRE(a);
        REQUIRE(b);
        CHECK(b->held());
        CHECK(store.lock("lock", true, false) == nullptr);
        CHECK(store.lock("packs/locator.lock", true, false) != nullptr);  // another lock is another name
        a.reset();
        CHECK(store.lock("lock", true, false) == nullptr);
        b.reset();
        auto x = store.lock("lock", true, false);
        REQUIRE(x);
        CHECK(store.lock("lock", false, false) == nullptr);
        // A waiter gets it once the holder lets go.
        std::atomic<bool> got{false};
        std::thread waiter([&] {
            auto w = store.lock("lock", false, true);
            got = w != nullptr;
        });
        x.reset();
        waiter.join();
        CHECK(got);
    });
}

TEST_CASE("object stores: many keys under one prefix, removed in one call, missing ones too") {
    for_each_store([](ObjectStore& store) {
        std::vector<std::string> keys;
        for (int i = 0; i < 2500; ++i) {
            keys.push_back("packs/unmerged/" + std::to_string(100000 + i) + ".table");
            store.create(keys.back(), "t", 1);
        }
        CHECK(keys_under(store, "packs/unmerged/").size() == 2500);
        keys.push_back("packs/unmerged/none.table");
        CHECK(store.remove(keys) == 2500);
        CHECK(keys_under(store, "packs/").empty());
        CHECK(store.remove(keys) == 0);
    });
}

TEST_CASE("local store: temporaries of killed writers are removed, empty backup directories too, claims kept") {
    TempDir dir;
    auto store = open_local_store(dir.path);
    store->save("backups/g/t/d.fidx", "i", 1);
    std::filesystem::create_directories(dir.path + "/backups/g/t2");
    std::ofstream(dir.path + "/backups/g/t2/.tmp.d.fidx.0123456789abcdef") << "half";
    std::ofstream(dir.path + "/backups/g/t2/.d.fidx.zadp-tmp.Ab12Cd") << "half";  // older zadp-write's
    std::ofstream(dir.path + "/backups/g/.vm-id") << "vm-1\n";
    std::filesystem::create_directories(dir.path + "/packs/ab");
    std::ofstream(dir.path + "/packs/ab/.tmp.abababababababab.pack.0123456789abcdef") << "half";
    CHECK(store->remove_temporaries("backups", true) == 2);  // a dry run only counts
    CHECK(std::filesystem::exists(dir.path + "/backups/g/t2"));
    CHECK(store->remove_temporaries("backups", false) == 2);
    CHECK(!std::filesystem::exists(dir.path + "/backups/g/t2"));
    CHECK(std::filesystem::exists(dir.path + "/backups/g/.vm-id"));
    CHECK(std::filesystem::exists(dir.path + "/backups/g/t/d.fidx"));
    CHECK(store->remove_temporaries("packs", false) == 1);
    CHECK(std::filesystem::exists(dir.path + "/packs/ab"));  // the first two levels stay
    // Removing the last object of a backup removes its directory, not the group's.
    store->remove({"backups/g/t/d.fidx"});
    CHECK(!std::filesystem::exists(dir.path + "/backups/g/t"));
    CHECK(std::filesystem::exists(dir.path + "/backups/g"));
}

TEST_CASE("local store: a link planted at a key is neither followed for reading nor for locking") {
    TempDir dir;
    auto store = open_local_store(dir.path);
    std::ofstream(dir.path + "/victim") << "precious";
    std::filesystem::create_directories(dir.path + "/packs");
    std::filesystem::create_symlink(dir.path + "/victim", dir.path + "/packs/damaged");
    std::filesystem::create_symlink(dir.path + "/created", dir.path + "/lock");
    CHECK(exit_code_of([&] { store->open_reader("packs/damaged"); }) == kExitIo);
    CHECK(exit_code_of([&] { store->lock("lock", false, true); }) == kExitIo);
    CHECK(!std::filesystem::exists(dir.path + "/created"));
    store->save("packs/damaged", "x\n", 2);  // replaces the link itself
    CHECK(!std::filesystem::is_symlink(dir.path + "/packs/damaged"));
    std::ifstream victim(dir.path + "/victim");
    std::string text;
    victim >> text;
    CHECK(text == "precious");
}
