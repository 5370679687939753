#pragma once
// The simulator's persistent state: named collections of API-shaped JSON
// objects, each saved as one file under DIR/state/ (temp file + rename).
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace sim {

namespace json = boost::json;

class Collection {
public:
    json::object* find(const std::string& id);
    const json::object* find(const std::string& id) const;
    json::object& add(json::object obj);  // obj must have a string "id"
    // Removes matching objects; returns how many.
    std::size_t remove_if(const std::function<bool(const json::object&)>& pred);
    std::vector<const json::object*> all() const;
    std::vector<json::object>& items() { return items_; }
    const std::vector<json::object>& items() const { return items_; }
    json::array to_json() const;
    void from_json(const json::array& arr);

private:
    void reindex();
    std::vector<json::object> items_;
    std::unordered_map<std::string, std::size_t> index_;
};

class State {
public:
    explicit State(std::string dir);
    const std::string& dir() const { return dir_; }
    // Loads every collection; false when the state directory holds none yet.
    bool load();
    // The named collection, marked as changed (saved by save()).
    Collection& edit(const std::string& name);
    const Collection& view(const std::string& name) const;
    void save();  // writes the changed collections atomically
    std::string volume_dir() const { return dir_ + "/volumes"; }

    static const std::vector<std::string>& collection_names();

private:
    std::string dir_;
    std::map<std::string, Collection> cols_;
    std::set<std::string> dirty_;
};

// Writes a file atomically: DIR/name.tmp, then rename over the old one.
void write_file_atomic(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

}  // namespace sim
