#include "libsim/simulator.h"

#include <limits>
#include <stdexcept>

#include "libsim/ids.h"
#include "libsim/tgtd.h"
#include "libsim/volume_file.h"

namespace sim {

std::string need_string(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string() || it->value().get_string().empty())
        throw std::invalid_argument(std::string(key) + " is required and must be a non-empty string");
    return std::string(it->value().get_string());
}

std::int64_t need_int(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !(it->value().is_int64() || it->value().is_uint64()))
        throw std::invalid_argument(std::string(key) + " is required and must be an integer");
    if (it->value().is_uint64() && it->value().get_uint64() > std::numeric_limits<std::int64_t>::max())
        throw std::invalid_argument(std::string(key) + " " + std::to_string(it->value().get_uint64()) +
                                    " is out of range");
    std::int64_t v = it->value().is_int64() ? it->value().get_int64() : static_cast<std::int64_t>(it->value().get_uint64());
    if (v < 0) throw std::invalid_argument(std::string(key) + " must not be negative");
    return v;
}

namespace {

json::object error_body(unsigned status, const std::string& message, const std::string& path,
                        const std::string& code = {}) {
    json::object e{{"message", message}, {"status", status}, {"path", path}};
    if (!code.empty()) {
        e["code"] = code;
        e["props"] = json::object{};
    }
    return e;
}

Reply error_reply(unsigned status, const std::string& message, const std::string& path,
                  const std::string& code = {}) {
    Reply r;
    r.status = status;
    r.body = error_body(status, message, path, code);
    return r;
}

}  // namespace

Simulator::Simulator(Options opts) : opts_(std::move(opts)), state_(opts_.state_dir) {
    ops_ = {{"login", &Simulator::op_login},
            {"get-vms", &Simulator::op_get_vms},
            {"get-vm-disks", &Simulator::op_get_vm_disks},
            {"get-vm-volumes", &Simulator::op_get_vm_volumes},
            {"get-tasks", &Simulator::op_get_tasks},
            {"get-vm-snapshots", &Simulator::op_get_vm_snapshots},
            {"get-iscsi-lun-snapshots", &Simulator::op_get_iscsi_lun_snapshots},
            {"get-clusters", &Simulator::op_get_clusters},
            {"get-iscsi-targets", &Simulator::op_get_iscsi_targets},
            {"get-iscsi-luns", &Simulator::op_get_iscsi_luns},
            {"create-vm-snapshot", &Simulator::op_create_vm_snapshot},
            {"delete-vm-snapshot", &Simulator::op_delete_vm_snapshot},
            {"clone-iscsi-lun-from-snapshot", &Simulator::op_clone_iscsi_lun},
            {"create-iscsi-lun", &Simulator::op_create_iscsi_lun},
            {"create-iscsi-target", &Simulator::op_create_iscsi_target},
            {"delete-iscsi-lun", &Simulator::op_delete_iscsi_lun},
            {"update-iscsi-lun", &Simulator::op_update_iscsi_lun},
            {"get-vm-nics", &Simulator::op_get_vm_nics},
            {"get-vlans", &Simulator::op_get_vlans},
            {"create-vm", &Simulator::op_create_vm},
            {"delete-vm", &Simulator::op_delete_vm},
            {"start-vm", &Simulator::op_start_vm},
            {"shutdown-vm", &Simulator::op_shutdown_vm},
            {"poweroff-vm", &Simulator::op_shutdown_vm}};
}

Simulator::~Simulator() = default;

std::string Simulator::start() {
    resumed_ = state_.load();
    if (!resumed_) {
        json::object scenario;
        if (!opts_.scenario_file.empty()) {
            json::value v = json::parse(read_file(opts_.scenario_file));
            if (!v.is_object()) throw std::invalid_argument("scenario must be a JSON object");
            scenario = v.get_object();
        }
        apply_scenario(scenario);
        state_.save();
    }
    std::string why;
    if (!opts_.use_tgtd) {
        why = "data plane off: --no-tgtd given; the API works, LUNs are not served over iSCSI";
    } else {
        tgtd_ = std::make_unique<Tgtd>(state_.dir() + "/tgtd.log");
        std::string err = tgtd_->start();
        if (!err.empty()) {
            why = "data plane off: " + err + "; the API works, LUNs are not served over iSCSI";
            tgtd_.reset();
        } else {
            export_all();
        }
    }
    // Clusters report the portal as their iSCSI VIP (null when off).
    std::string vip = portal();
    for (auto& c : state_.edit("clusters").items()) c["iscsi_vip"] = vip.empty() ? json::value() : json::value(vip);
    state_.save();
    return why.empty() ? "data plane on: tgtd pid " + std::to_string(tgtd_->pid()) + " portal " + vip +
                             " control port " + std::to_string(tgtd_->control_port())
                       : why;
}

void Simulator::stop() {
    if (tgtd_) tgtd_->stop();
    state_.save();
}

std::string Simulator::portal() const { return tgtd_ ? tgtd_->portal() : ""; }

std::optional<Fault> Simulator::take_fault(const std::string& op) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->op != op && it->op != "*") continue;
        Fault f = *it;
        if (it->count > 0 && --it->count == 0) faults_.erase(it);
        return f;
    }
    return std::nullopt;
}

Reply Simulator::handle(const std::string& method, const std::string& path, const std::string& body,
                        const std::string& authorization) {
    static const std::string kApi = "/v2/api/";
    try {
        if (path.starts_with(kApi)) {
            if (method != "POST") return error_reply(405, "CloudTower operations take POST", path);
            return api(path.substr(kApi.size()), path, body, authorization);
        }
        if (path.starts_with("/_sim/")) return admin(method, path, body);
        return error_reply(404, "no such path: " + path, path);
    } catch (const ApiError& e) {
        return error_reply(e.status, e.message, path, e.code);
    } catch (const std::invalid_argument& e) {
        return error_reply(400, e.what(), path);
    } catch (const boost::system::system_error& e) {
        // A JSON value of the wrong type in a request: the client's mistake.
        return error_reply(400, std::string("bad request: ") + e.what(), path);
    } catch (const std::exception& e) {
        return error_reply(500, std::string("internal error: ") + e.what(), path);
    }
}

namespace {

// A fault's answer in place of the operation's: a dropped connection or an ErrorBody.
std::optional<Reply> fault_reply(const Fault& fault, const std::string& path) {
    if (fault.drop) {
        Reply r;
        r.drop = true;
        r.latency_ms = fault.latency_ms;
        return r;
    }
    if (fault.status) {
        Reply r = error_reply(fault.status, "injected failure (hci-sim /_sim/faults)", path);
        r.latency_ms = fault.latency_ms;
        return r;
    }
    if (!fault.code.empty()) {
        Reply r = error_reply(400, "resource is locked, retry later (injected by hci-sim)", path, fault.code);
        r.latency_ms = fault.latency_ms;
        return r;
    }
    return std::nullopt;
}

}  // namespace

Reply Simulator::api(const std::string& op, const std::string& path, const std::string& body,
                     const std::string& auth) {
    counters_[op]++;
    std::optional<Fault> fault = take_fault(op);
    if (fault && !fault->after)
        if (auto r = fault_reply(*fault, path)) return *r;
    Reply reply = execute(op, path, body, auth, fault && fault->fail_task);
    reply.latency_ms = fault ? fault->latency_ms : 0;
    // "after": the call was carried out, but its answer is lost.
    if (fault && fault->after && reply.status < 300) return *fault_reply(*fault, path);
    return reply;
}

Reply Simulator::execute(const std::string& op, const std::string& path, const std::string& body,
                         const std::string& auth, bool fail_task) {
    auto it = ops_.find(op);
    if (it == ops_.end()) return error_reply(404, "unknown operation " + op, path);
    if (op != "login" && (auth.empty() || !state_.view("tokens").find(auth)))
        return error_reply(401, auth.empty() ? "Authorization header missing" : "invalid or expired token", path);
    json::value parsed;
    if (!body.empty()) {
        boost::system::error_code ec;
        parsed = json::parse(body, ec);
        if (ec) throw std::invalid_argument("request body is not valid JSON: " + ec.message());
    }
    refresh_tasks();
    Reply reply;
    reply.body = (this->*(it->second))(parsed, fail_task);
    state_.save();
    if (!queued_copies_.empty()) {
        // The client waits for its snapshot's copies; every other call goes on.
        reply.work = [copies = std::move(queued_copies_), tracker = copies_, body = reply.body]() -> json::value {
            std::exception_ptr failed;
            for (const auto& c : copies) {
                try {
                    if (!failed) copy_volume(c.source, c.destination, c.size);
                } catch (...) {
                    failed = std::current_exception();
                }
                tracker->end(c.source);
            }
            if (failed) std::rethrow_exception(failed);
            return body;
        };
        queued_copies_.clear();
    }
    return reply;
}

}  // namespace sim
