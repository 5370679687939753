// Test-only admin calls under /_sim/ (no authentication): write into a VM's
// disk, digest and locate volumes, count calls, inject faults, kill tgtd.
#include <signal.h>

#include <limits>
#include <memory>
#include <stdexcept>

#include "libsim/simulator.h"
#include "libsim/fields.h"
#include "libsim/tgtd.h"
#include "libsim/volume_file.h"

namespace sim {
namespace {

// Typed accessors for admin requests: a wrong type or an out-of-range number
// is the caller's mistake, so they throw invalid_argument (HTTP 400) naming
// the field, never a JSON library error (which would become a 500).
std::string need_str(const json::value& v, std::string_view what) {
    if (!v.is_string()) throw std::invalid_argument(std::string(what) + " must be a string");
    return std::string(v.get_string());
}

std::uint64_t to_uint(const json::value& v, std::string_view what, std::uint64_t max) {
    std::uint64_t n;
    if (v.is_uint64()) n = v.get_uint64();
    else if (v.is_int64() && v.get_int64() >= 0) n = static_cast<std::uint64_t>(v.get_int64());
    else throw std::invalid_argument(std::string(what) + " must be a non-negative integer");
    if (n > max)
        throw std::invalid_argument(std::string(what) + " " + std::to_string(n) + " is out of range (at most " +
                                    std::to_string(max) + ")");
    return n;
}

bool need_bool(const json::value& v, std::string_view what) {
    if (!v.is_bool()) throw std::invalid_argument(std::string(what) + " must be true or false");
    return v.get_bool();
}

json::object parse_object(const std::string& body) {
    if (body.empty()) return {};
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) throw std::invalid_argument("admin request body must be a JSON object");
    return v.get_object();
}

constexpr std::uint64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

// Finds exactly one object whose id (or local_id, or name) is `key`.
const json::object& find_one(const Collection& col, const std::string& key, const std::string& what) {
    if (const json::object* o = col.find(key)) return *o;
    const json::object* found = nullptr;
    for (const auto& o : col.items()) {
        if (is(o.at("name"), key) || (o.contains("local_id") && is(o.at("local_id"), key))) {
            if (found) throw std::invalid_argument(what + " name " + key + " is ambiguous; use its id");
            found = &o;
        }
    }
    if (!found) throw ApiError{404, what + " " + key + " not found", ""};
    return *found;
}

Fault parse_fault(const json::object& req) {
    Fault f;
    auto op = req.find("op");
    if (op == req.end() || !op->value().is_string()) throw std::invalid_argument("fault needs \"op\"");
    f.op = str(op->value());
    if (auto c = req.find("count"); c != req.end()) {
        if (c->value().is_int64() && c->value().get_int64() == -1) f.count = -1;
        else if (!(f.count = static_cast<std::int64_t>(to_uint(c->value(), "count", kMaxInt))))
            throw std::invalid_argument("count must be positive or -1 (forever)");
    }
    if (auto s = req.find("status"); s != req.end()) f.status = static_cast<unsigned>(to_uint(s->value(), "status", 599));
    if (auto c = req.find("code"); c != req.end()) f.code = need_str(c->value(), "code");
    // A day at most: a fault that waits longer is a typo, and the wait must fit the timer.
    if (auto l = req.find("latency_ms"); l != req.end())
        f.latency_ms = static_cast<std::int64_t>(to_uint(l->value(), "latency_ms", 86400000));
    if (auto d = req.find("drop"); d != req.end()) f.drop = need_bool(d->value(), "drop");
    if (auto t = req.find("fail_task"); t != req.end()) f.fail_task = need_bool(t->value(), "fail_task");
    if (auto a = req.find("after"); a != req.end()) f.after = need_bool(a->value(), "after");
    if (f.after && f.status == 0 && !f.drop) throw std::invalid_argument("after goes with status or drop");
    int kinds = (f.status != 0) + !f.code.empty() + (f.latency_ms > 0) + f.drop + f.fail_task;
    if (kinds == 0) throw std::invalid_argument("fault needs one of status, code, latency_ms, drop, fail_task");
    if (f.status != 0 && (f.status < 400 || f.status > 599)) throw std::invalid_argument("status must be 4xx or 5xx");
    return f;
}

json::object fault_json(const Fault& f) {
    json::object o{{"op", f.op}, {"count", f.count}};
    if (f.status) o["status"] = f.status;
    if (!f.code.empty()) o["code"] = f.code;
    if (f.latency_ms) o["latency_ms"] = f.latency_ms;
    if (f.drop) o["drop"] = true;
    if (f.fail_task) o["fail_task"] = true;
    if (f.after) o["after"] = true;
    return o;
}

}  // namespace

Simulator::Volume Simulator::select_volume(const json::object& req) {
    auto file_of = [&](const std::string& id) {
        const json::object* f = state_.view("files").find(id);
        if (!f) throw std::runtime_error("no volume file recorded for " + id);
        return Volume{str(f->at("path")), static_cast<std::uint64_t>(f->at("size").as_int64())};
    };
    if (auto it = req.find("lun_snapshot"); it != req.end())
        return file_of(str(find_one(state_.view("iscsi_lun_snapshots"), need_str(it->value(), "lun_snapshot"), "LUN snapshot").at("id")));
    if (auto it = req.find("lun"); it != req.end())
        return file_of(str(find_one(state_.view("iscsi_luns"), need_str(it->value(), "lun"), "LUN").at("id")));
    auto vm_key = req.find("vm");
    if (vm_key == req.end() || !vm_key->value().is_string())
        throw std::invalid_argument("give \"vm\" and \"disk\", \"lun_snapshot\" or \"lun\"");
    const json::object& vm = find_one(state_.view("vms"), str(vm_key->value()), "VM");
    std::int64_t index = need_int(req, "disk");
    const json::array& disks = vm.at("vm_disks").as_array();
    if (index >= static_cast<std::int64_t>(disks.size()))
        throw ApiError{404, "VM " + str(vm.at("name")) + " has no disk " + std::to_string(index), ""};
    const json::object* disk = state_.view("vm_disks").find(str(disks[index].at("id")));
    if (!disk || !disk->at("vm_volume").is_object())
        throw std::invalid_argument("disk " + std::to_string(index) + " of VM " + str(vm.at("name")) +
                                    " is a CD_ROM and has no volume");
    const json::object* vol = state_.view("vm_volumes").find(str(disk->at("vm_volume").at("id")));
    return file_of(str(vol->at("lun").at("id")));
}

namespace {

void check_in_volume(std::uint64_t size, std::uint64_t offset, std::uint64_t length) {
    if (offset > size || length > size - offset)
        throw std::invalid_argument("write of " + std::to_string(length) + " bytes at " + std::to_string(offset) +
                                    " is past the end of the volume (" + std::to_string(size) + " bytes)");
}

// /_sim/state is unauthenticated: every CHAP secret (a target's own and its
// initiator_chaps') is replaced, wherever it appears.
void redact_secrets(json::value& v) {
    if (v.is_array()) {
        for (auto& e : v.get_array()) redact_secrets(e);
    } else if (v.is_object()) {
        for (auto& [key, value] : v.get_object()) {
            if (key.ends_with("secret") && value.is_string() && !value.get_string().empty()) value = "(redacted)";
            else redact_secrets(value);
        }
    }
}

}  // namespace

json::value Simulator::write_disk(const Volume& v, const json::object& req) {
    std::uint64_t written = 0;
    if (auto b64 = req.find("data_base64"); b64 != req.end()) {
        std::string bytes = base64_decode(need_str(b64->value(), "data_base64"));
        auto offset = static_cast<std::uint64_t>(need_int(req, "offset"));
        check_in_volume(v.size, offset, bytes.size());
        write_volume(v.path, v.size, offset, bytes);
        return json::object{{"written", bytes.size()}};
    }
    auto rnd = req.find("random");
    if (rnd == req.end() || !rnd->value().is_object())
        throw std::invalid_argument("give data_base64, or random {seed, length}, or extents with random {seed}");
    const json::object& r = rnd->value().get_object();
    Prng prng(static_cast<std::uint64_t>(need_int(r, "seed")));
    std::vector<Extent> extents;
    if (auto ex = req.find("extents"); ex != req.end()) {
        if (!ex->value().is_array()) throw std::invalid_argument("extents must be an array of [offset, length] pairs");
        for (const auto& e : ex->value().get_array()) {
            if (!e.is_array() || e.get_array().size() != 2)
                throw std::invalid_argument("extents are [offset, length] pairs");
            const json::array& pair = e.get_array();
            extents.emplace_back(to_uint(pair[0], "extent offset", kMaxInt), to_uint(pair[1], "extent length", kMaxInt));
        }
    } else {
        extents.emplace_back(static_cast<std::uint64_t>(need_int(req, "offset")),
                             static_cast<std::uint64_t>(need_int(r, "length")));
    }
    // The pseudo-random stream runs on across the extents, in the order given.
    for (auto [off, len] : extents) check_in_volume(v.size, off, len);
    for (auto [off, len] : extents) {
        while (len > 0) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, 4 << 20));
            std::string chunk(n, '\0');
            prng.fill(chunk.data(), n);
            write_volume(v.path, v.size, off, chunk);
            off += n;
            len -= n;
            written += n;
        }
    }
    return json::object{{"written", written}};
}

json::value Simulator::admin_state() const {
    json::object out;
    for (const auto& name : State::collection_names()) {
        if (name == "users" || name == "tokens") continue;  // secrets stay out of dumps
        json::value items = state_.view(name).to_json();
        redact_secrets(items);
        out[name] = std::move(items);
    }
    out["portal"] = portal().empty() ? json::value() : json::value(portal());
    out["tgtd_pid"] = tgtd_ && tgtd_->running() ? json::value(tgtd_->pid()) : json::value();
    out["tgtd_control_port"] = tgtd_ ? json::value(tgtd_->control_port()) : json::value();
    out["state_dir"] = state_.dir();
    out["snapshot_copies_in_flight"] = copies_->in_flight();
    return out;
}

Reply Simulator::admin(const std::string& method, const std::string& path, const std::string& body) {
    Reply r;
    std::string what = path.substr(std::string("/_sim/").size());
    if (method == "GET" && what == "counters") {
        json::object c;
        for (const auto& [op, n] : counters_) c[op] = n;
        r.body = c;
    } else if (method == "POST" && what == "counters/reset") {
        counters_.clear();
        r.body = json::object{{"ok", true}};
    } else if (method == "POST" && what == "faults") {
        faults_.push_back(parse_fault(parse_object(body)));
        r.body = fault_json(faults_.back());
    } else if ((method == "DELETE" && what == "faults") || (method == "POST" && what == "faults/clear")) {
        faults_.clear();
        r.body = json::object{{"ok", true}};
    } else if (method == "GET" && what == "faults") {
        json::array a;
        for (const auto& f : faults_) a.push_back(fault_json(f));
        r.body = a;
    } else if (method == "POST" && what == "disk-write") {
        json::object req = parse_object(body);
        Volume v = select_volume(req);
        if (!copies_->busy(v.path)) {
            r.body = write_disk(v, req);
        } else {  // a snapshot of this volume is being copied: write after it
            r.work = [v, req, copies = copies_]() -> json::value {
                copies->wait_until_idle(v.path);
                return write_disk(v, req);
            };
        }
    } else if (method == "POST" && what == "digest") {
        Volume v = select_volume(parse_object(body));
        r.work = [v]() -> json::value {
            Digest d = digest_volume(v.path, v.size);
            return json::object{{"sha256", d.sha256}, {"size", d.size}, {"allocated", d.allocated}};
        };
    } else if (method == "POST" && what == "volume-path") {
        Volume v = select_volume(parse_object(body));
        ensure_volume(v.path, v.size);
        r.body = json::object{{"path", v.path}, {"size", v.size}};
    } else if (method == "GET" && what == "state") {
        refresh_tasks();
        r.body = admin_state();
    } else if (method == "POST" && what == "tgtd/kill") {
        if (!tgtd_ || !tgtd_->running()) throw std::invalid_argument("tgtd is not running (data plane off)");
        pid_t pid = tgtd_->pid();
        tgtd_->kill_now();
        r.body = json::object{{"killed", pid}};
    } else {
        throw ApiError{404, "no admin call " + method + " " + path, ""};
    }
    return r;
}

}  // namespace sim
