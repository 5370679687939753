#include "libsim/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sim {

json::object* Collection::find(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &items_[it->second];
}

const json::object* Collection::find(const std::string& id) const {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &items_[it->second];
}

json::object& Collection::add(json::object obj) {
    std::string id(obj.at("id").as_string());
    items_.push_back(std::move(obj));
    index_[id] = items_.size() - 1;
    return items_.back();
}

std::size_t Collection::remove_if(const std::function<bool(const json::object&)>& pred) {
    std::size_t before = items_.size();
    std::erase_if(items_, pred);
    if (items_.size() != before) reindex();
    return before - items_.size();
}

std::vector<const json::object*> Collection::all() const {
    std::vector<const json::object*> out;
    out.reserve(items_.size());
    for (const auto& o : items_) out.push_back(&o);
    return out;
}

json::array Collection::to_json() const {
    json::array a;
    a.reserve(items_.size());
    for (const auto& o : items_) a.push_back(o);
    return a;
}

void Collection::from_json(const json::array& arr) {
    items_.clear();
    for (const auto& v : arr) items_.push_back(v.as_object());
    reindex();
}

void Collection::reindex() {
    index_.clear();
    for (std::size_t i = 0; i < items_.size(); ++i) index_[std::string(items_[i].at("id").as_string())] = i;
}

const std::vector<std::string>& State::collection_names() {
    static const std::vector<std::string> names = {
        "users",        "tokens",     "clusters",    "vms",        "vm_disks",
        "vm_volumes",   "iscsi_targets", "iscsi_luns", "vm_snapshots", "iscsi_lun_snapshots",
        "tasks",        "task_timers", "files",      "vdses",      "vlans",
        "vm_nics",      "elf_images"};
    return names;
}

State::State(std::string dir) : dir_(std::move(dir)) {
    for (const auto& n : collection_names()) cols_[n];
}

bool State::load() {
    ::mkdir(dir_.c_str(), 0755);
    ::mkdir((dir_ + "/state").c_str(), 0755);
    ::mkdir(volume_dir().c_str(), 0755);
    bool any = false;
    for (auto& [name, col] : cols_) {
        std::string path = dir_ + "/state/" + name + ".json";
        if (::access(path.c_str(), F_OK) != 0) continue;
        any = true;
        json::value v = json::parse(read_file(path));
        col.from_json(v.as_array());
    }
    return any;
}

Collection& State::edit(const std::string& name) {
    auto it = cols_.find(name);
    if (it == cols_.end()) throw std::logic_error("no collection " + name);
    dirty_.insert(name);
    return it->second;
}

const Collection& State::view(const std::string& name) const {
    auto it = cols_.find(name);
    if (it == cols_.end()) throw std::logic_error("no collection " + name);
    return it->second;
}

void State::save() {
    for (const auto& name : dirty_) {
        write_file_atomic(dir_ + "/state/" + name + ".json", json::serialize(cols_.at(name).to_json()));
    }
    dirty_.clear();
}

void write_file_atomic(const std::string& path, const std::string& content) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("create " + tmp + ": " + std::strerror(errno));
    const char* p = content.data();
    std::size_t n = content.size();
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            int e = errno;
            ::close(fd);
            throw std::runtime_error("write " + tmp + ": " + std::strerror(e));
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error("rename " + tmp + ": " + std::strerror(errno));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace sim
