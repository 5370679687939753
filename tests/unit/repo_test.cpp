// The repository: index codec, chunk alignment against odd image sizes,
// prune selection against fixed times, key handling, and the ordered worker
// pool behind storing and reading (order kept, errors in their place), and
// chunk workers sharing one repository (make tsan runs them under TSan).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/local_files.h"
#include "libcommon/block/repo/image.h"
#include "libcommon/block/repo/maintenance.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::repo;
using namespace hci::repo_test;

namespace {

ChunkId some_id(int seed) {
    ChunkId id{};
    for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<unsigned char>(seed * 31 + i + 1);
    return id;
}

IndexHeader index_header(const std::string& name, uint32_t chunk_size, uint64_t size) {
    IndexHeader h;
    h.name = name;
    h.chunk_size = chunk_size;
    h.size = size;
    return h;
}

// The index file at PATH, as the local store reads it.
std::unique_ptr<ObjectReader> file_reader(const std::string& path) {
    auto slash = path.rfind('/');
    return open_local_store(path.substr(0, slash))->open_reader(path.substr(slash + 1));
}

std::string write_index(const std::string& path, const IndexHeader& h, const Sealer& sealer, int zero_every) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    IndexWriter w(fd, path, h, sealer);
    for (uint64_t i = 0; i < h.entries(); ++i) w.add(zero_every && i % zero_every == 0 ? ChunkId{} : some_id(int(i)));
    IndexTrailer t;
    t.digest = "00112233445566778899aabbccddeeff";
    t.chunks = 7;
    w.finish(t);
    ::close(fd);
    return path;
}

void flip_byte(const std::string& path, off_t at) {
    int fd = ::open(path.c_str(), O_RDWR);
    unsigned char b;
    REQUIRE(::pread(fd, &b, 1, at) == 1);
    b ^= 0x40;
    REQUIRE(::pwrite(fd, &b, 1, at) == 1);
    ::close(fd);
}

}  // namespace

TEST_CASE("index round trip across segments, zero marks and header fields") {
    TempDir dir;
    Sealer plain(nullptr);
    // 9001 entries: three segments, the last short
    IndexHeader h = index_header("g/2026-11-28T020000Z/disk0", 65536, 65536ull * 9000 + 17);
    h.identity = R"({"vm":{"id":"vm-1"}})";
    h.vm_id = "vm-1";
    std::string path = write_index(dir.path + "/i.fidx", h, plain, 3);
    IndexReader r(file_reader(path), "repo:" + h.name, plain);
    CHECK(r.entries() == 9001);
    CHECK(r.header().vm_id == "vm-1");
    CHECK(r.header().size == h.size);
    CHECK(r.trailer().digest == "00112233445566778899aabbccddeeff");
    CHECK(r.trailer().chunks == 7);
    for (uint64_t i : {0ull, 1ull, 4095ull, 4096ull, 8191ull, 8192ull, 9000ull}) {
        ChunkId e = r.entry(i);
        if (i % 3 == 0)
            CHECK(is_zero_id(e));
        else
            CHECK(e == some_id(int(i)));
    }
}

TEST_CASE("a truncated, extended or altered index is an integrity error") {
    TempDir dir;
    Sealer plain(nullptr);
    IndexHeader h = index_header("g/t/d", 65536, 65536ull * 5000);
    std::string path = write_index(dir.path + "/i.fidx", h, plain, 0);
    auto size = std::filesystem::file_size(path);
    SECTION("truncated") {
        std::filesystem::resize_file(path, size - 100);
        CHECK(exit_code_of([&] { IndexReader r(file_reader(path), "repo:g/t/d", plain); }) == kExitIntegrity);
    }
    SECTION("extended") {
        std::filesystem::resize_file(path, size + 1);
        CHECK(exit_code_of([&] { IndexReader r(file_reader(path), "repo:g/t/d", plain); }) == kExitIntegrity);
    }
    SECTION("a flipped entry byte fails when its segment is read") {
        flip_byte(path, static_cast<off_t>(size / 2));
        IndexReader r(file_reader(path), "repo:g/t/d", plain);
        CHECK(exit_code_of([&] { for (uint64_t i = 0; i < r.entries(); ++i) r.entry(i); }) == kExitIntegrity);
    }
    SECTION("an index renamed to another image is refused") {
        CHECK(exit_code_of([&] { IndexReader r(file_reader(path), "repo:g/t/other", plain); }) == kExitIntegrity);
    }
    SECTION("unknown index version") {
        flip_byte(path, 8);
        CHECK(exit_code_of([&] { IndexReader r(file_reader(path), "repo:g/t/d", plain); }) == kExitIntegrity);
    }
    SECTION("a refused index leaves no descriptor open (fuzz-repo_index ran out of them)") {
        std::filesystem::resize_file(path, size - 100);
        auto open_descriptors = [] {
            auto it = std::filesystem::directory_iterator("/proc/self/fd");
            return std::distance(it, std::filesystem::directory_iterator{});
        };
        auto before = open_descriptors();
        for (int i = 0; i < 10; ++i)
            CHECK(exit_code_of([&] { IndexReader r(file_reader(path), "repo:g/t/d", plain); }) == kExitIntegrity);
        CHECK(open_descriptors() == before);
    }
}

TEST_CASE("an encrypted index opens only with its key") {
    TempDir dir;
    MasterKey key = MasterKey::generate(), other = MasterKey::generate();
    Sealer sealer(&key), wrong(&other);
    IndexHeader h = index_header("g/t/d", 1 << 20, 10ull << 20);
    std::string path = write_index(dir.path + "/i.fidx", h, sealer, 2);
    IndexReader r(file_reader(path), "repo:g/t/d", sealer);
    CHECK(r.entry(1) == some_id(1));
    CHECK(exit_code_of([&] { IndexReader bad(file_reader(path), "repo:g/t/d", wrong); }) == kExitIntegrity);
}

TEST_CASE("chunks stay aligned to image offsets whatever the size and record cuts") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto repo = Repository::open(repo_dir, {});
    std::mt19937_64 rng(12);
    int n = 0;
    for (uint64_t size : {1ull, 4095ull, 65535ull, 65536ull, 65537ull, 3ull * 65536 + 12345, 1000001ull}) {
        std::vector<unsigned char> image(size, 0);
        std::string name = "g/t/img" + std::to_string(n++);
        {
            ImageWriter w(*repo, name, size, 512, "{}");
            uint64_t pos = 0;
            while (pos < size) {
                uint64_t len = std::min<uint64_t>(size - pos, 1 + rng() % 100000);
                if (rng() % 3 == 0) {
                    w.zero(pos, len);
                } else {
                    for (uint64_t i = pos; i < pos + len; ++i) image[i] = static_cast<unsigned char>(rng() | 1);
                    w.write(pos, image.data() + pos, len);
                }
                pos += len;
            }
            w.commit();
        }
        ImageReader r(*repo, name);
        REQUIRE(r.size() == size);
        // Chunk i holds exactly image[i*cs, (i+1)*cs): its id is the hash of that range.
        IndexReader index(repo->store(), Repository::index_key(name), "repo:" + name, repo->sealer());
        REQUIRE(index.entries() == (size + 65535) / 65536);
        for (uint64_t c = 0; c < index.entries(); ++c) {
            uint64_t start = c * 65536, len = std::min<uint64_t>(65536, size - start);
            bool zero = std::all_of(image.begin() + start, image.begin() + start + len, [](auto b) { return b == 0; });
            ChunkId expect = zero ? ChunkId{} : chunk_id(image.data() + start, len, nullptr);
            CHECK(index.entry(c) == expect);
        }
        // Reads at odd offsets and lengths give the image back.
        for (int k = 0; k < 20; ++k) {
            uint64_t off = rng() % size, len = 1 + rng() % (size - off);
            std::vector<unsigned char> got(len);
            r.read(off, got.data(), len);
            REQUIRE(std::equal(got.begin(), got.end(), image.begin() + off));
        }
    }
}

TEST_CASE("a second store of the same image adds no chunk; a missing chunk names its offset") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto repo = Repository::open(repo_dir, {});
    std::vector<unsigned char> image(300000);
    std::mt19937_64 rng(3);
    for (auto& b : image) b = static_cast<unsigned char>(rng());
    for (const char* name : {"g/t1/d", "g/t2/d"}) {
        ImageWriter w(*repo, name, image.size(), 512, "{}");
        w.write(0, image.data(), image.size());
        w.commit();
        if (std::string(name) == "g/t2/d") {
            CHECK(w.totals().new_chunks == 0);
            CHECK(w.totals().reused_chunks == 5);
        }
    }
    IndexReader index(repo->store(), Repository::index_key("g/t1/d"), "repo:g/t1/d", repo->sealer());
    repo->chunks().remove(index.entry(2));
    ImageReader r(*repo, "g/t1/d");
    std::vector<unsigned char> buf(image.size());
    try {
        r.read(0, buf.data(), buf.size());
        FAIL("read succeeded");
    } catch (const Error& e) {
        CHECK(e.code() == kExitIntegrity);
        CHECK_THAT(e.what(), Catch::Contains("repo:g/t1/d") && Catch::Contains("offset 131072") &&
                                 Catch::Contains("missing"));
    }
}

TEST_CASE("check --read-data verifies every chunk on the workers and lists the bad ones sorted by id") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto repo = Repository::open(repo_dir, {});
    const uint64_t chunks = 100;  // more than a store keeps in flight (32 at 64 KiB)
    std::vector<unsigned char> image(chunks * 65536);
    std::mt19937_64 rng(5);
    for (auto& b : image) b = static_cast<unsigned char>(rng());
    {
        ImageWriter w(*repo, "g/t/d", image.size(), 512, "{}");
        w.write(0, image.data(), image.size());
        w.commit();
    }
    IndexReader index(repo->store(), Repository::index_key("g/t/d"), "repo:g/t/d", repo->sealer());
    std::set<ChunkId> damaged;
    for (uint64_t c : {97, 3, 50, 71, 12}) {
        ChunkId id = index.entry(c);
        auto object = *repo->chunks().get(id);
        object[object.size() / 2] ^= 0x10;
        repo->chunks().remove(id);
        repo->chunks().put(id, object);
        damaged.insert(id);
    }
    std::vector<boost::json::object> lines;
    uint64_t bad_images = check(*repo, "", true, [&](const boost::json::object& o) { lines.push_back(o); });
    CHECK(bad_images == 1);
    REQUIRE(lines.size() == damaged.size() + 1);
    auto expect = damaged.begin();
    for (size_t i = 0; i < damaged.size(); ++i, ++expect) {
        CHECK(lines[i].at("chunk").as_string() == to_hex(*expect));  // in id order
        CHECK_THAT(std::string(lines[i].at("error").as_string()), Catch::StartsWith("damaged"));
        CHECK_FALSE(repo->chunks().contains(*expect));  // moved aside
    }
    CHECK(lines.back().at("name") == "g/t/d");
    CHECK(lines.back().at("damaged_chunks") == 5);
    CHECK(lines.back().at("first_bad_offset") == 3 * 65536);
}

TEST_CASE("backup times parse in the documented forms only") {
    CHECK(parse_backup_time("2026-11-28T020000Z") == 1795831200);
    CHECK(parse_backup_time("2026-11-28T02:00:00Z") == 1795831200);
    CHECK(parse_backup_time("20261128T020000Z") == 1795831200);
    CHECK_FALSE(parse_backup_time("2026-11-28"));
    CHECK_FALSE(parse_backup_time("nightly"));
    CHECK_FALSE(parse_backup_time("2026-13-28T020000Z"));
}

namespace {

std::vector<PruneCandidate> complete(const std::vector<std::string>& times) {
    std::vector<PruneCandidate> out;
    for (const auto& t : times) out.push_back({t, BackupState::kComplete});
    return out;
}

std::vector<std::string> kept(const std::vector<std::string>& times, const PrunePolicy& p) {
    std::vector<std::string> out;
    for (const auto& d : select_prune(complete(times), p))
        if (d.keep) out.push_back(d.time);
    return out;
}

// Nightly backups at 02:00 for `days` days ending 2026-11-28, plus an extra
// one at 14:00 on the last day.
std::vector<std::string> nightly(int days) {
    std::vector<std::string> out;
    int64_t last = *parse_backup_time("2026-11-28T020000Z");
    for (int d = 0; d < days; ++d) {
        std::time_t t = static_cast<std::time_t>(last - int64_t(d) * 86400);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H%M%SZ", &tm);
        out.push_back(buf);
    }
    out.push_back("2026-11-28T140000Z");
    return out;
}

}  // namespace

TEST_CASE("prune selection follows the restic rules") {
    auto times = nightly(400);
    SECTION("keep-last") {
        CHECK(kept(times, {.last = 3}) ==
              std::vector<std::string>{"2026-11-28T140000Z", "2026-11-28T020000Z", "2026-11-27T020000Z"});
    }
    SECTION("keep-daily keeps the newest of each day") {
        CHECK(kept(times, {.daily = 2}) == std::vector<std::string>{"2026-11-28T140000Z", "2026-11-27T020000Z"});
    }
    SECTION("keep-weekly uses ISO weeks (Monday starts one)") {
        // 2026-11-28 is a Saturday: its week began Monday 2026-11-23.
        CHECK(kept(times, {.weekly = 3}) ==
              std::vector<std::string>{"2026-11-28T140000Z", "2026-11-22T020000Z", "2026-11-15T020000Z"});
    }
    SECTION("keep-monthly and keep-yearly") {
        CHECK(kept(times, {.monthly = 2}) == std::vector<std::string>{"2026-11-28T140000Z", "2026-10-31T020000Z"});
        CHECK(kept(times, {.yearly = 5}) == std::vector<std::string>{"2026-11-28T140000Z", "2025-12-31T020000Z"});
    }
    SECTION("options combine: a backup any option keeps stays, with every reason") {
        auto decisions = select_prune(complete(times), {.last = 1, .daily = 2, .monthly = 2});
        CHECK(decisions.front().time == "2026-11-28T140000Z");
        CHECK(decisions.front().reasons == std::vector<std::string>{"last", "daily", "monthly"});
        CHECK(kept(times, {.last = 1, .daily = 2, .monthly = 2}).size() == 3);
    }
    SECTION("-1 keeps every period; unparsable times are always kept") {
        CHECK(kept(times, {.daily = -1}).size() == 400);
        auto with_odd = times;
        with_odd.push_back("manual");
        auto k = kept(with_odd, {.last = 1});
        CHECK(std::find(k.begin(), k.end(), "manual") != k.end());
    }
}

namespace {

struct Outcome {
    std::vector<std::string> kept, removed;
};

constexpr BackupState kC = BackupState::kComplete, kP = BackupState::kPartial, kU = BackupState::kUnfinished,
                      kX = BackupState::kUnknown;

Outcome outcome(const std::vector<PruneCandidate>& backups, const PrunePolicy& p) {
    Outcome o;
    for (const auto& d : select_prune(backups, p)) (d.keep ? o.kept : o.removed).push_back(d.time);
    return o;
}

}  // namespace

TEST_CASE("prune: unfinished backups never count and never displace a complete one") {
    using V = std::vector<std::string>;
    SECTION("keep-last counts complete backups only; older unfinished ones go") {
        auto o = outcome({{"2026-11-24T020000Z", kC},
                          {"2026-11-25T020000Z", kU},
                          {"2026-11-26T020000Z", kC},
                          {"2026-11-27T020000Z", kU},
                          {"2026-11-28T020000Z", kC}},
                         {.last = 2});
        CHECK(o.kept == V{"2026-11-28T020000Z", "2026-11-26T020000Z"});
        CHECK(o.removed == V{"2026-11-27T020000Z", "2026-11-25T020000Z", "2026-11-24T020000Z"});
    }
    SECTION("the newest backup, when unfinished, stays (it may be running) without taking a slot") {
        auto decisions = select_prune({{"2026-11-27T020000Z", kC},
                                       {"2026-11-28T020000Z", kC},
                                       {"2026-11-28T140000Z", kU},
                                       {"2026-11-28T120000Z", kU}},
                                      {.daily = 1});
        REQUIRE(decisions.size() == 4);
        CHECK(decisions[0].time == "2026-11-28T140000Z");
        CHECK(decisions[0].keep);
        CHECK(decisions[0].unfinished());
        CHECK(decisions[0].reasons == V{"unfinished", "newest"});
        // The day's slot goes to its complete backup, not to the unfinished ones.
        CHECK(decisions[1].time == "2026-11-28T120000Z");
        CHECK_FALSE(decisions[1].keep);
        CHECK(decisions[1].reasons == V{"unfinished"});
        CHECK(decisions[2].time == "2026-11-28T020000Z");
        CHECK(decisions[2].keep);
        CHECK(decisions[2].reasons == V{"daily"});
        CHECK_FALSE(decisions[3].keep);
    }
    SECTION("an unfinished backup older than a complete one is removed even with no limit") {
        auto o = outcome({{"2026-11-27T020000Z", kU}, {"2026-11-28T020000Z", kC}}, {.last = -1});
        CHECK(o.kept == V{"2026-11-28T020000Z"});
        CHECK(o.removed == V{"2026-11-27T020000Z"});
    }
    SECTION("a group of unfinished backups only keeps its newest; unparsable times stay") {
        auto o = outcome({{"2026-11-27T020000Z", kU}, {"2026-11-28T020000Z", kU}, {"manual", kU}},
                         {.last = 5});
        CHECK(o.kept == V{"manual", "2026-11-28T020000Z"});
        CHECK(o.removed == V{"2026-11-27T020000Z"});
    }
}

TEST_CASE("prune: partial backups never count toward a slot and never push out a complete one") {
    using V = std::vector<std::string>;
    SECTION("3 good nights, then 3 failed ones: keep-daily 3 keeps the 3 good ones") {
        auto decisions = select_prune({{"2026-11-23T020000Z", kC},
                                       {"2026-11-24T020000Z", kC},
                                       {"2026-11-25T020000Z", kC},
                                       {"2026-11-26T020000Z", kP},
                                       {"2026-11-27T020000Z", kP},
                                       {"2026-11-28T020000Z", kP}},
                                      {.daily = 3});
        REQUIRE(decisions.size() == 6);
        for (const auto& d : decisions) CHECK(d.keep);
        // The partial ones are the newest copy of the disks that were saved:
        // kept in slots of their own.
        CHECK(decisions[0].reasons == V{"partial", "daily"});
        CHECK(decisions[0].state == kP);
        CHECK(decisions[3].time == "2026-11-25T020000Z");
        CHECK(decisions[3].reasons == V{"daily"});
    }
    SECTION("partial backups newer than the newest complete one are thinned among themselves") {
        std::vector<PruneCandidate> b{{"2026-11-01T020000Z", kC}, {"2026-11-02T020000Z", kC}};
        for (int day = 3; day <= 28; ++day)
            b.push_back({"2026-11-" + std::string(day < 10 ? "0" : "") + std::to_string(day) + "T020000Z", kP});
        auto o = outcome(b, {.daily = 2});
        CHECK(o.kept == V{"2026-11-28T020000Z", "2026-11-27T020000Z", "2026-11-02T020000Z", "2026-11-01T020000Z"});
        CHECK(o.removed.size() == 24);
    }
    SECTION("a partial backup older than the newest complete one is superseded") {
        auto decisions = select_prune({{"2026-11-26T020000Z", kC}, {"2026-11-27T020000Z", kP}, {"2026-11-28T020000Z", kC}},
                                      {.daily = 7});
        CHECK(decisions[1].time == "2026-11-27T020000Z");
        CHECK_FALSE(decisions[1].keep);
        CHECK(decisions[1].reasons == V{"partial"});
        CHECK(decisions[0].keep);
        CHECK(decisions[2].keep);
    }
    SECTION("a backup whose manifest cannot be read is kept and counts for nothing") {
        auto decisions = select_prune({{"2026-11-27T020000Z", kC}, {"2026-11-28T020000Z", kX}}, {.last = 1});
        CHECK(decisions[0].keep);
        CHECK(decisions[0].reasons == V{"unreadable manifest"});
        CHECK(decisions[1].keep);
        CHECK(decisions[1].reasons == V{"last"});
    }
}

TEST_CASE("prune: whatever the other backups, complete ones fare as if they were alone") {
    // Random groups over fixed times: the complete backups kept are exactly
    // those kept when every partial, unfinished and unknown one is left out,
    // the newest complete one always stays, and no partial backup older than
    // it does.
    std::mt19937 rng(17);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const std::vector<std::string> times = nightly(60);
    for (int round = 0; round < 500; ++round) {
        PrunePolicy p;
        for (int* count : {&p.last, &p.hourly, &p.daily, &p.weekly, &p.monthly, &p.yearly})
            *count = pick(3) == 0 ? pick(5) - 1 : 0;
        if (!p.any()) p.daily = 1 + pick(5);
        std::vector<PruneCandidate> all, complete_only;
        for (const auto& t : times) {
            if (pick(2)) continue;
            BackupState s = std::array{kC, kC, kP, kU, kX}[static_cast<size_t>(pick(5))];
            all.push_back({t, s});
            if (s == kC) complete_only.push_back({t, s});
        }
        auto kept_complete = [&](const std::vector<PruneCandidate>& in) {
            std::set<std::string> out;
            for (const auto& d : select_prune(in, p))
                if (d.keep && d.state == kC) out.insert(d.time);
            return out;
        };
        INFO("round " << round);
        CHECK(kept_complete(all) == kept_complete(complete_only));
        std::string newest_complete;
        for (const auto& b : complete_only) newest_complete = std::max(newest_complete, b.time);
        for (const auto& d : select_prune(all, p)) {
            if (d.time == newest_complete) CHECK(d.keep);
            if (d.state == kP && d.time < newest_complete) CHECK_FALSE(d.keep);
        }
    }
}

TEST_CASE("sweep and prune remove unfinished backups only while no writer holds the repository lock") {
    TempDir dir;
    Repository::init(dir.path + "/r", kMinChunkSize, false, {});
    auto repo = Repository::open(dir.path + "/r", {});
    auto put = [&](const std::string& name) { repo->put_blob(name, {'{', '}'}); };
    put("g/2026-11-26T020000Z/unfinished.json");  // a dead or running writer's
    put("g/2026-11-27T020000Z/backup.json");       // complete, marker left over
    put("g/2026-11-27T020000Z/unfinished.json");
    put("g/2026-11-28T020000Z/backup.json");       // complete
    std::vector<boost::json::object> lines;
    auto collect = [&](const boost::json::object& o) { lines.push_back(o); };
    auto names = [&] {
        std::vector<std::string> out;
        for (const auto& item : repo->list("")) out.push_back(item.name);
        return out;
    };
    auto before = names();
    {
        auto writer = repo->lock_shared();  // a backup run, on this host or another
        CHECK_FALSE(sweep_unfinished(*repo, "", false, collect));
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].at("sweep") == "skipped");
        prune(*repo, "g", {.last = 2}, false, collect);
        CHECK(lines[1].at("backup") == "g/2026-11-28T020000Z");
        CHECK(lines[3].at("backup") == "g/2026-11-26T020000Z");
        CHECK(lines[3].at("action") == "keep");
        CHECK(lines[3].at("reasons") == boost::json::array{"unfinished", "in use"});
        CHECK(names() == before);
    }
    lines.clear();
    CHECK(sweep_unfinished(*repo, "", false, collect));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].at("backup") == "g/2026-11-26T020000Z");
    CHECK(lines[0].at("action") == "removed");
    CHECK(lines[1].at("action") == "removed marker");
    CHECK(names() == std::vector<std::string>{"g/2026-11-27T020000Z/backup.json", "g/2026-11-28T020000Z/backup.json"});
}

TEST_CASE("ls and prune read each backup's state from its manifest") {
    TempDir dir;
    Repository::init(dir.path + "/r", kMinChunkSize, false, {});
    auto repo = Repository::open(dir.path + "/r", {});
    auto put = [&](const std::string& name, const std::string& text) {
        repo->put_blob(name, {text.begin(), text.end()});
    };
    put("g/2026-11-25T020000Z/backup.json", R"({"complete":true,"disks":[{}]})");
    put("g/2026-11-26T020000Z/backup.json", R"({"complete":false,"disks":[{}]})");
    put("g/2026-11-27T020000Z/backup.json", R"({"complete":true})");
    put("g/2026-11-27T020000Z/backup.json.bak", "not a manifest");
    put("g/2026-11-28T010000Z/backup.json", "not json");
    put("g/2026-11-28T020000Z/unfinished.json", "{}");
    put("g/2026-11-28T030000Z/backup.json", R"({"complete":false})");
    std::vector<boost::json::object> lines;
    auto collect = [&](const boost::json::object& o) { lines.push_back(o); };
    auto state_of = [&](const std::string& backup) {
        for (const auto& o : lines)
            if (o.at("backup").as_string() == backup) return std::string(o.at("state").as_string());
        return std::string("absent");
    };
    CHECK(list_items(*repo, "", collect));
    CHECK(lines.size() == 7);
    CHECK(state_of("g/2026-11-25T020000Z") == "complete");
    CHECK(state_of("g/2026-11-26T020000Z") == "partial");
    CHECK(state_of("g/2026-11-27T020000Z") == "complete");
    CHECK(state_of("g/2026-11-28T010000Z") == "unknown");
    CHECK(state_of("g/2026-11-28T020000Z") == "unfinished");
    lines.clear();
    CHECK(list_items(*repo, "g/2026-11-26T020000Z/backup.json", collect));
    CHECK(state_of("g/2026-11-26T020000Z") == "partial");

    lines.clear();
    CHECK(prune(*repo, "g", {.last = 1}, true, collect));
    auto action = [&](const std::string& backup) {
        for (const auto& o : lines)
            if (o.at("backup").as_string() == backup) return std::string(o.at("action").as_string());
        return std::string("absent");
    };
    CHECK(action("g/2026-11-28T030000Z") == "keep");          // partial, newer than every complete one
    CHECK(action("g/2026-11-28T020000Z") == "would remove");  // unfinished, not the newest
    CHECK(action("g/2026-11-28T010000Z") == "keep");          // unreadable manifest
    CHECK(action("g/2026-11-27T020000Z") == "keep");          // the newest complete one
    CHECK(action("g/2026-11-26T020000Z") == "would remove");  // partial, superseded
    CHECK(action("g/2026-11-25T020000Z") == "would remove");

    // A damaged manifest: its backup is kept and prune and ls say so (exit 6).
    std::string path = repo->store().where(Repository::blob_key("g/2026-11-27T020000Z/backup.json"));
    std::string bytes = read_small_file(path, 1 << 20);
    bytes[bytes.size() / 2] ^= 1;
    {
        int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        ::close(fd);
    }
    lines.clear();
    CHECK_FALSE(list_items(*repo, "g/2026-11-27T020000Z", collect));
    CHECK(state_of("g/2026-11-27T020000Z") == "unknown");
    lines.clear();
    CHECK_FALSE(prune(*repo, "g", {.last = 1}, false, collect));
    CHECK(action("g/2026-11-27T020000Z") == "keep");
    CHECK(action("g/2026-11-28T030000Z") == "keep");     // the partial slot of --keep-last 1
    CHECK(action("g/2026-11-26T020000Z") == "removed");  // partial, no slot left
    CHECK(action("g/2026-11-25T020000Z") == "keep");     // now the newest complete one
}

TEST_CASE("key handling") {
    TempDir dir;
    std::string key_path = dir.path + "/k";
    MasterKey key = MasterKey::generate();
    write_key_file(key_path, key);
    struct stat st {};
    ::stat(key_path.c_str(), &st);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(read_key_file(key_path).fingerprint() == key.fingerprint());
    CHECK(exit_code_of([&] { write_key_file(key_path, key); }) == kExitIo);  // never overwritten
    ::chmod(key_path.c_str(), 0640);
    CHECK(exit_code_of([&] { read_key_file(key_path); }) == kExitUsage);
    ::chmod(key_path.c_str(), 0604);
    CHECK(exit_code_of([&] { read_key_file(key_path); }) == kExitUsage);

    std::string wrapped = wrap_key(key, "correct horse", 1 << 10);
    CHECK(unwrap_key(wrapped, "correct horse").fingerprint() == key.fingerprint());
    CHECK(exit_code_of([&] { unwrap_key(wrapped, "wrong horse"); }) == kExitUsage);
    CHECK(wrapped.find(to_hex(key.encryption)) == std::string::npos);

    const char data[] = "some chunk bytes";
    CHECK(chunk_id(data, sizeof data, &key) != chunk_id(data, sizeof data, nullptr));
    CHECK(chunk_id(data, sizeof data, &key) == chunk_id(data, sizeof data, &key));

    Sealer sealer(&key);
    auto sealed = sealer.seal(data, sizeof data, "place");
    CHECK(sealer.open(sealed.data(), sealed.size(), "place"));
    CHECK_FALSE(sealer.open(sealed.data(), sealed.size(), "elsewhere"));
    MasterKey other = MasterKey::generate();
    CHECK_FALSE(Sealer(&other).open(sealed.data(), sealed.size(), "place"));
}

TEST_CASE("an encrypted repository refuses a missing or wrong key") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r", key_path = dir.path + "/k";
    KeySource keys;
    keys.key_file = key_path;
    Repository::init(repo_dir, 1 << 20, true, keys);
    CHECK(Repository::open(repo_dir, keys)->key());
    CHECK(exit_code_of([&] { Repository::open(repo_dir, {}); }) == kExitUsage);
    std::string other = dir.path + "/other";
    write_key_file(other, MasterKey::generate());
    KeySource wrong;
    wrong.key_file = other;
    CHECK(exit_code_of([&] { Repository::open(repo_dir, wrong); }) == kExitUsage);
}

TEST_CASE("the ordered pool hands results back in submission order, errors in their place") {
    OrderedPool<int> pool(2);
    std::mutex m;
    std::vector<int> finished;
    auto note = [&](int i) {
        std::lock_guard lock(m);
        finished.push_back(i);
    };
    // Job 2k waits until job 2k+1 is done, so the workers finish out of order.
    std::vector<std::promise<void>> done(6);
    std::vector<std::shared_future<void>> waits;
    for (auto& p : done) waits.push_back(p.get_future().share());
    for (int i = 0; i < 6; ++i) {
        pool.submit([&, i] {
            if (i % 2 == 0) waits[i + 1].wait();
            note(i);
            if (i % 2 == 1) done[i].set_value();
            if (i == 3) fail(kExitIntegrity, "job 3 failed");
            return i * 10;
        });
    }
    CHECK(pool.pending() == 6);
    CHECK(pool.next() == 0);
    CHECK(pool.next() == 10);
    CHECK(pool.next() == 20);
    CHECK(exit_code_of([&] { pool.next(); }) == kExitIntegrity);  // job 3, after 0..2
    CHECK(pool.next() == 40);
    CHECK(pool.next() == 50);
    CHECK(pool.pending() == 0);
    REQUIRE(finished.size() == 6);
    CHECK(finished != std::vector<int>{0, 1, 2, 3, 4, 5});  // they did finish out of order
    for (int i : {0, 2, 4}) {
        auto at = [&](int k) { return std::find(finished.begin(), finished.end(), k) - finished.begin(); };
        CHECK(at(i + 1) < at(i));
    }
}

TEST_CASE("the ordered pool drops pending jobs on discard and on destruction") {
    std::atomic<int> ran{0};
    std::promise<void> gate;
    auto open = gate.get_future().share();
    {
        OrderedPool<int> pool(1);
        pool.submit([&] {
            open.wait();
            ++ran;
            return 1;
        });
        for (int i = 0; i < 5; ++i) pool.submit([&] { return ++ran; });
        gate.set_value();
        pool.discard();  // waits for the running job, drops the queued ones
        CHECK(pool.pending() == 0);
        CHECK(ran <= 6);
        int before = ran;
        pool.submit([] { return 7; });
        CHECK(pool.next() == 7);
        CHECK(ran == before);
        for (int i = 0; i < 3; ++i) pool.submit([&] { return ++ran; });
    }  // destroyed with jobs pending: no hang, no crash
    SUCCEED();
}

TEST_CASE("reads ahead of a damaged chunk succeed; the damaged one names its offset, in any read order") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto repo = Repository::open(repo_dir, {});
    // 40 chunks and a tail; every fourth chunk all zeros.
    std::vector<unsigned char> image(40 * 65536 + 1234);
    std::mt19937_64 rng(5);
    for (size_t i = 0; i < image.size(); ++i) image[i] = (i / 65536) % 4 == 1 ? 0 : static_cast<unsigned char>(rng());
    {
        ImageWriter w(*repo, "g/t1/d", image.size(), 512, "{}");
        for (size_t off = 0; off < image.size(); off += 70000)
            w.write(off, image.data() + off, std::min<size_t>(70000, image.size() - off));
        w.commit();
        CHECK(w.totals().zero_chunks == 10);
        CHECK(w.totals().chunks == 31);
    }
    {  // forward, backward and jumping reads, in pieces that straddle chunks
        ImageReader r(*repo, "g/t1/d");
        std::vector<unsigned char> got(100000);
        for (uint64_t off : {0ul, 100000ul, 2000000ul, 300000ul, 2500000ul, 200000ul, 2521600ul}) {
            size_t n = std::min<size_t>(got.size(), image.size() - off);
            r.read(off, got.data(), n);
            REQUIRE(std::equal(got.begin(), got.begin() + n, image.begin() + off));
        }
    }
    IndexReader index(repo->store(), Repository::index_key("g/t1/d"), "repo:g/t1/d", repo->sealer());
    auto place = repo->chunks().where(index.entry(22));
    REQUIRE(place);
    flip_byte(repo->store().where(place->key), static_cast<off_t>(place->offset + 100));
    ImageReader r(*repo, "g/t1/d");
    std::vector<unsigned char> got(4096);
    uint64_t off = 0;
    for (; off + got.size() <= 22 * 65536; off += got.size()) {  // the workers load chunk 22 meanwhile
        r.read(off, got.data(), got.size());
        REQUIRE(std::equal(got.begin(), got.end(), image.begin() + off));
    }
    try {
        r.read(off, got.data(), got.size());
        FAIL("read of the damaged chunk succeeded");
    } catch (const Error& e) {
        CHECK(e.code() == kExitIntegrity);
        CHECK_THAT(e.what(), Catch::Contains("repo:g/t1/d") && Catch::Contains("chunk 22 at offset 1441792") &&
                                 Catch::Contains("damaged"));
    }
    // Asked again, it fails again (never a stale buffer); the chunks after it read.
    CHECK(exit_code_of([&] { r.read(off, got.data(), got.size()); }) == kExitIntegrity);
    r.read(23 * 65536, got.data(), got.size());
    CHECK(std::equal(got.begin(), got.end(), image.begin() + 23 * 65536));
}

TEST_CASE("chunk objects: random data is stored plain without compressing it, anything compressible is compressed") {
    std::mt19937_64 rng(9);
    auto random_bytes_of = [&](size_t n) {
        std::vector<unsigned char> v(n);
        for (auto& b : v) b = static_cast<unsigned char>(rng());
        return v;
    };
    std::vector<unsigned char> random = random_bytes_of(1 << 20);
    std::vector<unsigned char> text(1 << 20);
    for (size_t i = 0; i < text.size(); ++i) text[i] = "a repository of block images\n"[i % 29];
    std::vector<unsigned char> mixed = random;  // random, then a zero tail
    std::fill(mixed.begin() + (1 << 19), mixed.end(), 0);
    std::vector<unsigned char> small = random_bytes_of(100000);
    MasterKey key = MasterKey::generate();
    for (const MasterKey* k : {static_cast<const MasterKey*>(nullptr), static_cast<const MasterKey*>(&key)}) {
        Sealer sealer(k);
        for (auto* data : {&random, &text, &mixed, &small}) {
            Bytes object;
            encode_object(ObjectKind::kChunk, "x", data->data(), data->size(), sealer, 1, object);
            bool compressed = object.data()[6] & 1;
            CHECK(compressed == (data == &text || data == &mixed));
            if (!compressed) CHECK(object.size() == 12 + data->size() + sealer.overhead());
            Bytes scratch;
            PlainView plain;
            REQUIRE(decode_object(ObjectKind::kChunk, "x", object, sealer, scratch, plain) == "");
            REQUIRE(plain.size == data->size());
            CHECK(std::equal(data->begin(), data->end(), plain.data));
            // Sealed to its name: another id does not open it.
            Bytes again;
            encode_object(ObjectKind::kChunk, "x", data->data(), data->size(), sealer, 1, again);
            CHECK(decode_object(ObjectKind::kChunk, "y", again, sealer, scratch, plain) != "");
        }
    }
}

TEST_CASE("a store fed from a verified stream records that stream's digest and needs it") {
    TempDir dir;
    std::string repo_dir = dir.path + "/r";
    Repository::init(repo_dir, 65536, false, {});
    auto repo = Repository::open(repo_dir, {});
    std::vector<unsigned char> image(200000, 7);
    stream::ImageDigest digest;
    digest.add_data(image.data(), image.size());
    std::string hex = stream::digest_hex(digest.finish());
    {
        ImageWriter w(*repo, "g/t1/d", image.size(), 512, "{}", ImageWriter::Digest::kFromStream);
        w.write(0, image.data(), image.size());
        CHECK_THROWS_AS(w.commit(), std::logic_error);
    }
    CHECK(repo->list("g/t1/d").empty());  // no index without the digest
    ImageWriter w(*repo, "g/t2/d", image.size(), 512, "{}", ImageWriter::Digest::kFromStream);
    w.write(0, image.data(), image.size());
    w.set_verified_digest(hex);
    w.commit();
    ImageReader r(*repo, "g/t2/d");
    CHECK(r.trailer().digest == hex);
}

// What the chunk workers of one zadp-write or zadp-read do, all at once and
// on overlapping chunks: store (the same new chunk from two threads: stored
// once), look up and read back, from finished packs (through the file
// descriptor cache) and from the pack still being written. Under make tsan
// this is where a race in the chunk stores shows.
TEST_CASE("chunk workers store and read back overlapping chunks of one repository at once") {
    constexpr size_t kChunk = 65536, kChunks = 320, kThreads = 4, kEach = 160;
    std::vector<std::vector<unsigned char>> data(kChunks, std::vector<unsigned char>(kChunk));
    for (size_t c = 0; c < kChunks; ++c) {
        std::mt19937_64 rng(c);  // random: stored as they are, 20 MiB in all, more than one pack
        for (size_t i = 0; i < kChunk; i += 8) {
            uint64_t v = rng();
            std::memcpy(data[c].data() + i, &v, 8);
        }
    }
    for (uint32_t version : {1u, 2u}) {
        DYNAMIC_SECTION("format version " << version) {
            TempDir dir;
            std::string repo_dir = dir.path + "/r";
            Repository::init(repo_dir, kChunk, false, {}, version);
            auto repo = Repository::open(repo_dir, {});
            std::vector<ChunkId> ids(kChunks);
            for (size_t c = 0; c < kChunks; ++c) ids[c] = chunk_id(data[c].data(), kChunk, repo->key());
            std::atomic<size_t> stored{0}, bad_reads{0};
            std::vector<std::thread> workers;
            for (size_t t = 0; t < kThreads; ++t) {
                workers.emplace_back([&, t] {
                    Bytes object, file, scratch;
                    for (size_t k = 0; k < kEach; ++k) {
                        size_t c = (t * kChunks / kThreads + k) % kChunks;  // half shared with the next thread
                        if (repo->store_chunk(ids[c], data[c].data(), kChunk, object) > 0) ++stored;
                        for (size_t back : {c, (c + kChunks - k / 2) % kChunks}) {
                            if (!repo->chunks().contains(ids[back])) continue;  // not stored yet
                            PlainView plain;
                            if (!repo->load_chunk(ids[back], file, scratch, plain).empty() ||
                                plain.size != kChunk || std::memcmp(plain.data, data[back].data(), kChunk) != 0)
                                ++bad_reads;
                        }
                    }
                });
            }
            for (auto& w : workers) w.join();
            CHECK(bad_reads == 0);
            CHECK(stored == kChunks);  // every chunk once, though two threads stored each
            repo->chunks().sync();
            auto again = Repository::open(repo_dir, {});
            std::vector<unsigned char> plain;
            for (size_t c = 0; c < kChunks; ++c) {
                REQUIRE(again->load_chunk(ids[c], plain) == "");
                CHECK(plain == data[c]);
            }
        }
    }
}
