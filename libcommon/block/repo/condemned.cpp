// Condemned lists and locator generations (condemned.h has the protocol).
#include "libcommon/block/repo/condemned.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <map>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/backend/lease_lock.h"
#include "libcommon/block/repo/crypto.h"
#include "libcommon/block/repo/pack.h"

namespace hci::repo::pack {
namespace {

constexpr const char* kRecordSuffix = ".leases";

std::string dir_of(const std::string& prefix) { return prefix + "/condemned/"; }

std::optional<boost::json::value> parse_json(const std::optional<std::vector<unsigned char>>& bytes) {
    if (!bytes) return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), ec);
    if (ec || !v.is_object()) return std::nullopt;
    return v;
}

std::vector<uint64_t> packs_in(const boost::json::object& o, const char* field) {
    std::vector<uint64_t> out;
    for (const auto& v : o.at(field).as_array()) {
        auto pack = pack_from_name(std::string(v.as_string()));
        if (!pack) throw std::runtime_error("bad pack name");
        out.push_back(*pack);
    }
    return out;
}

void parse_list(CondemnedList& l, const std::optional<std::vector<unsigned char>>& bytes) {
    auto v = parse_json(bytes);
    try {
        if (!v) throw std::runtime_error("not JSON");
        const auto& o = v->as_object();
        l.time = o.at("time").to_number<int64_t>();
        l.packs = packs_in(o, "packs");
        l.tables = packs_in(o, "tables");
        for (const auto& k : o.at("locators").as_array()) l.locators.emplace_back(k.as_string());
    } catch (const std::exception&) {
        l.readable = false;  // nothing it names is deleted; its key's time still says when
        log_warning("the condemned list " + l.key + " does not read; gc deletes nothing it names");
    }
}

void parse_record(CondemnedList& l, const std::optional<std::vector<unsigned char>>& bytes) {
    auto v = parse_json(bytes);
    l.has_record = false;
    if (!v) return;  // written again by the next gc run
    try {
        for (const auto& k : v->as_object().at("leases").as_array()) l.leases.emplace_back(k.as_string());
        l.has_record = true;
    } catch (const std::exception&) {
        l.leases.clear();
    }
}

std::string record_text(ObjectStore& store, const std::string& lease_dir, const std::set<std::string>& own) {
    boost::json::array leases;
    store.list(lease_dir, [&](const ObjectInfo& o) {
        if (!own.count(o.key)) leases.emplace_back(o.key);
    });
    boost::json::object o;
    o["leases"] = std::move(leases);
    return boost::json::serialize(o) + "\n";
}

}  // namespace

std::vector<CondemnedList> load_condemned_lists(ObjectStore& store, const std::string& prefix) {
    std::map<std::string, CondemnedList> lists;
    std::set<std::string> records;
    const std::string dir = dir_of(prefix);
    store.list(dir, [&](const ObjectInfo& o) {
        if (o.key.ends_with(kRecordSuffix))
            records.insert(o.key.substr(0, o.key.size() - std::string(kRecordSuffix).size()));
        else
            lists[o.key].key = o.key;
    });
    std::vector<CondemnedList> out;
    for (auto& [key, l] : lists) {
        auto bytes = store.load(key);
        if (!bytes) continue;  // handled and removed meanwhile
        parse_list(l, bytes);
        if (!l.readable) {  // the time in its key, for the report
            int64_t t = 0;
            std::string name = key.substr(dir.size());
            std::from_chars(name.data(), name.data() + name.size(), t);
            l.time = t;
        }
        if (records.count(key)) parse_record(l, store.load(key + kRecordSuffix));
        out.push_back(std::move(l));
    }
    return out;
}

std::string publish_condemned_list(ObjectStore& store, const std::string& prefix, CondemnedList list,
                                   const std::string& lease_dir, const std::set<std::string>& own) {
    boost::json::object o;
    list.time = store.now();
    o["time"] = list.time;
    boost::json::array packs, tables, locators;
    for (auto p : list.packs) packs.emplace_back(pack_name(p));
    for (auto p : list.tables) tables.emplace_back(pack_name(p));
    for (const auto& k : list.locators) locators.emplace_back(k);
    o["packs"] = std::move(packs);
    o["tables"] = std::move(tables);
    o["locators"] = std::move(locators);
    std::string text = boost::json::serialize(o) + "\n";
    for (int attempt = 0;; ++attempt) {
        unsigned char id[8];
        random_bytes(id, sizeof id);
        char time[32];
        std::snprintf(time, sizeof time, "%012lld", static_cast<long long>(list.time));
        list.key = dir_of(prefix) + time + "-" + to_hex(id, sizeof id);
        if (store.create(list.key, text.data(), text.size())) break;
        if (attempt == 2) fail(kExitIo, store.where(list.key) + ": could not create the condemned list");
    }
    // Listed only now that the list's PUT returned: a lease not listed here
    // was created after it, so its holder reads the list (condemned.h).
    write_lease_record(store, list, lease_dir, own);
    return list.key;
}

void write_lease_record(ObjectStore& store, const CondemnedList& list, const std::string& lease_dir,
                        const std::set<std::string>& own) {
    std::string text = record_text(store, lease_dir, own);
    store.create(list.key + kRecordSuffix, text.data(), text.size());  // one there already is as good
}

bool leases_ended(ObjectStore& store, const CondemnedList& list, int64_t now) {
    if (!list.has_record) return false;
    for (const auto& key : list.leases)
        if (lease_alive(store, key, now)) return false;
    return true;
}

void remove_condemned_list(ObjectStore& store, const CondemnedList& list) {
    // The record after the list: a list without its record waits again, never the reverse.
    store.remove({list.key});
    store.remove({list.key + kRecordSuffix});
}

std::string locator_generation_key(const std::string& prefix, uint64_t generation) {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(generation));
    return prefix + "/locators/" + name;
}

std::vector<std::string> locator_generations(ObjectStore& store, const std::string& prefix) {
    std::vector<std::string> keys;
    const std::string dir = prefix + "/locators/";
    store.list(dir, [&](const ObjectInfo& o) {
        std::string name = o.key.substr(dir.size());
        if (name.size() == 20 && name.find_first_not_of("0123456789") == std::string::npos) keys.push_back(o.key);
    });
    return keys;  // zero-padded: key order is generation order
}

uint64_t generation_of(const std::string& key) {
    uint64_t g = 0;
    std::string name = key.substr(key.rfind('/') + 1);
    std::from_chars(name.data(), name.data() + name.size(), g);
    return g;
}

int64_t parse_grace(const std::string& text, const std::string& what) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    std::string unit(end, text.data() + text.size());
    static const std::map<std::string, int64_t> units{{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    auto u = units.find(unit);
    if (text.empty() || ec != std::errc() || n < 0 || u == units.end() || n > INT64_MAX / 86400 / 1000)
        fail(kExitUsage, what + " '" + quote_input(text) + "' is not a duration (30s, 90m, 24h, 2d)");
    return n * u->second;
}

}  // namespace hci::repo::pack
