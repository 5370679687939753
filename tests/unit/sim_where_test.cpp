// hci-sim's Prisma-style where evaluation, orderBy and pagination.
#include <catch2/catch.hpp>

#include "libsim/where.h"

namespace json = boost::json;
using sim::apply_query;
using sim::where_matches;

namespace {

json::object obj(const char* text) { return json::parse(text).as_object(); }

const json::object kVm = obj(R"({"id":"cl1","name":"web01","vcpu":2,"memory":4294967296,
    "vm_tools_status":"RUNNING","cluster":{"id":"c1","name":"cluster-a"},"hostname":null,
    "local_created_at":"2026-01-02T00:00:00.000Z","vm_disks":[{"id":"d1"},{"id":"d2"}]})");

bool match(const char* where) { return where_matches(kVm, obj(where)); }

}  // namespace

TEST_CASE("where: equality, null and unknown fields", "[sim][where]") {
    CHECK(match(R"({})"));
    CHECK(match(R"({"name":"web01"})"));
    CHECK_FALSE(match(R"({"name":"web02"})"));
    CHECK(match(R"({"vcpu":2,"memory":4294967296})"));
    CHECK_FALSE(match(R"({"vcpu":2,"memory":1})"));
    CHECK(match(R"({"hostname":null})"));
    CHECK(match(R"({"os":null})"));  // a missing field reads as null
    CHECK_FALSE(match(R"({"os":"linux"})"));
}

TEST_CASE("where: _in, _not, _not_in", "[sim][where]") {
    CHECK(match(R"({"name_in":["a","web01"]})"));
    CHECK_FALSE(match(R"({"name_in":[]})"));
    CHECK(match(R"({"name_not":"x"})"));
    CHECK_FALSE(match(R"({"name_not":"web01"})"));
    CHECK(match(R"({"name_not_in":["a","b"]})"));
    CHECK_FALSE(match(R"({"name_not_in":["web01"]})"));
    CHECK(match(R"({"hostname_not_in":["a"]})"));
    CHECK_FALSE(match(R"({"hostname_in":["a"]})"));
    CHECK(match(R"({"vcpu_in":[1,2]})"));
}

TEST_CASE("where: string operators", "[sim][where]") {
    CHECK(match(R"({"name_contains":"eb0"})"));
    CHECK_FALSE(match(R"({"name_contains":"EB0"})"));
    CHECK(match(R"({"name_starts_with":"web"})"));
    CHECK_FALSE(match(R"({"name_starts_with":"db"})"));
    CHECK(match(R"({"name_ends_with":"01"})"));
    CHECK(match(R"({"name_not_contains":"db"})"));
    CHECK_FALSE(match(R"({"hostname_contains":"x"})"));
}

TEST_CASE("where: comparisons on numbers and timestamps", "[sim][where]") {
    CHECK(match(R"({"vcpu_gt":1})"));
    CHECK_FALSE(match(R"({"vcpu_gt":2})"));
    CHECK(match(R"({"vcpu_gte":2,"vcpu_lte":2})"));
    CHECK(match(R"({"vcpu_lt":2.5})"));
    CHECK(match(R"({"local_created_at_gt":"2026-01-01T00:00:00.000Z"})"));
    CHECK_FALSE(match(R"({"local_created_at_lt":"2026-01-01T00:00:00.000Z"})"));
    CHECK_FALSE(match(R"({"hostname_gt":"a"})"));
}

TEST_CASE("where: nested relations and AND/OR/NOT", "[sim][where]") {
    CHECK(match(R"({"cluster":{"name":"cluster-a"}})"));
    CHECK(match(R"({"cluster":{"id":"c1","name_starts_with":"cluster"}})"));
    CHECK_FALSE(match(R"({"cluster":{"name":"other"}})"));
    CHECK_FALSE(match(R"({"host":{"id":"h1"}})"));  // null relation matches nothing
    CHECK(match(R"({"AND":[{"name":"web01"},{"vcpu":2}]})"));
    CHECK_FALSE(match(R"({"AND":[{"name":"web01"},{"vcpu":3}]})"));
    CHECK(match(R"({"AND":{"name":"web01"}})"));
    CHECK(match(R"({"OR":[{"name":"x"},{"vcpu":2}]})"));
    CHECK_FALSE(match(R"({"OR":[{"name":"x"},{"vcpu":3}]})"));
    CHECK_FALSE(match(R"({"OR":[]})"));
    CHECK(match(R"({"NOT":[{"name":"x"},{"vcpu":3}]})"));
    CHECK_FALSE(match(R"({"NOT":{"name":"web01"}})"));
    CHECK(match(R"({"vm_disks_some":{"id":"d2"}})"));
    CHECK_FALSE(match(R"({"vm_disks_some":{"id":"d9"}})"));
    CHECK(match(R"({"vm_disks_none":{"id":"d9"}})"));
    CHECK_FALSE(match(R"({"vm_disks_every":{"id":"d1"}})"));
}

TEST_CASE("where: a resolver lets nested wheres reach the full related object", "[sim][where]") {
    const json::object cluster = obj(R"({"id":"c1","name":"cluster-a","version":"6.1.0"})");
    sim::Resolver resolve = [&](std::string_view field, const json::object& small) -> const json::object* {
        return field == "cluster" && small.at("id") == "c1" ? &cluster : nullptr;
    };
    CHECK(where_matches(kVm, obj(R"({"cluster":{"version":"6.1.0"}})"), resolve));
    CHECK_FALSE(where_matches(kVm, obj(R"({"cluster":{"version":"5"}})"), resolve));
    CHECK_FALSE(where_matches(kVm, obj(R"({"cluster":{"version":"6.1.0"}})")));  // no resolver
}

TEST_CASE("where: malformed input is rejected", "[sim][where]") {
    CHECK_THROWS_AS(match(R"({"name_in":"web01"})"), std::invalid_argument);
    CHECK_THROWS_AS(match(R"({"AND":"x"})"), std::invalid_argument);
    CHECK_THROWS_AS(match(R"({"vm_disks_some":1})"), std::invalid_argument);
}

namespace {

struct Items {
    std::vector<json::object> store;
    std::vector<const json::object*> ptrs;
    explicit Items(int n) {
        for (int i = 0; i < n; ++i) {
            char id[16], name[16];
            std::snprintf(id, sizeof id, "id%03d", i);
            std::snprintf(name, sizeof name, "vm%d", (i * 7) % n);
            store.push_back(json::object{{"id", id}, {"name", name}, {"n", i}, {"even", i % 2 == 0}});
        }
        for (const auto& o : store) ptrs.push_back(&o);
    }
};

std::vector<std::int64_t> ns(const std::vector<const json::object*>& page) {
    std::vector<std::int64_t> out;
    for (const auto* o : page) out.push_back(o->at("n").as_int64());
    return out;
}

std::vector<std::int64_t> query(const Items& items, const char* req) { return ns(apply_query(items.ptrs, obj(req))); }

}  // namespace

TEST_CASE("pagination: first, skip, last, after, before", "[sim][page]") {
    Items items(10);
    CHECK(query(items, "{}").size() == 10);
    CHECK(query(items, R"({"first":3})") == std::vector<std::int64_t>{0, 1, 2});
    CHECK(query(items, R"({"skip":8,"first":5})") == std::vector<std::int64_t>{8, 9});
    CHECK(query(items, R"({"last":2})") == std::vector<std::int64_t>{8, 9});
    CHECK(query(items, R"({"after":"id004","first":2})") == std::vector<std::int64_t>{5, 6});
    CHECK(query(items, R"({"before":"id002"})") == std::vector<std::int64_t>{0, 1});
    CHECK(query(items, R"({"after":"nope"})").empty());
    CHECK(query(items, R"({"skip":20})").empty());
    CHECK(query(items, R"({"first":0})").empty());
    CHECK(query(items, R"({"where":{"even":true},"skip":1,"first":2})") == std::vector<std::int64_t>{2, 4});
    CHECK_THROWS_AS(query(items, R"({"skip":-1})"), std::invalid_argument);
    CHECK_THROWS_AS(query(items, R"({"first":"x"})"), std::invalid_argument);
}

TEST_CASE("pagination: following after cursors visits every item once", "[sim][page]") {
    Items items(1000);
    std::vector<std::int64_t> seen;
    std::string after;
    for (;;) {
        json::object req{{"first", 100}, {"orderBy", "name_ASC"}};
        if (!after.empty()) req["after"] = after;
        auto page = apply_query(items.ptrs, req);
        if (page.empty()) break;
        for (const auto* o : page) seen.push_back(o->at("n").as_int64());
        after = std::string(page.back()->at("id").as_string());
    }
    REQUIRE(seen.size() == 1000);
    std::sort(seen.begin(), seen.end());
    for (int i = 0; i < 1000; ++i) CHECK(seen[i] == i);
}

TEST_CASE("orderBy sorts by a field either way, stable, nulls first", "[sim][page]") {
    Items items(5);
    CHECK(query(items, R"({"orderBy":"n_DESC"})") == std::vector<std::int64_t>{4, 3, 2, 1, 0});
    CHECK(query(items, R"({"orderBy":"name_ASC"})") == std::vector<std::int64_t>{0, 3, 1, 4, 2});
    CHECK(query(items, R"({"orderBy":"even_ASC"})") == std::vector<std::int64_t>{1, 3, 0, 2, 4});
    CHECK(query(items, R"({"orderBy":"missing_ASC"})") == std::vector<std::int64_t>{0, 1, 2, 3, 4});
    CHECK(query(items, R"({"orderBy":"n_DESC","last":2})") == std::vector<std::int64_t>{1, 0});
    CHECK_THROWS_AS(query(items, R"({"orderBy":"n_UP"})"), std::invalid_argument);
}
