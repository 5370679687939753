#include "vm_get.h"

#include <map>
#include <set>

#include "libcommon/base/log.h"
#include "vm_full.h"

namespace hci {
namespace {

json::value selection_where(const VmSelection& s, const json::value& extra) {
    std::vector<std::string> names = s.names, ids = s.ids;
    names.insert(names.end(), s.tokens.begin(), s.tokens.end());
    ids.insert(ids.end(), s.tokens.begin(), s.tokens.end());
    json::array any;
    if (!names.empty()) any.push_back(json::object{{"name_in", json::value_from(names)}});
    if (!ids.empty()) any.push_back(json::object{{"id_in", json::value_from(ids)}});
    json::value where = any.size() == 1 ? any[0] : json::value(json::object{{"OR", any}});
    if (extra.is_null()) return where;
    return json::object{{"AND", json::array{extra, where}}};
}

std::string field(const json::value& vm, std::string_view pointer) {
    return vm.is_object() ? string_field(vm.as_object(), pointer).value_or("") : "";
}

void write_vms(CloudTower& tower, const json::array& vms, const VmGetOptions& options, LineWriter& out,
               RunStatus& status) {
    if (!options.full) {
        for (const auto& vm : vms) out.write(vm);
        return;
    }
    for (const auto& vm : resolve_full(tower, vms, status)) out.write(vm);
}

}  // namespace

void add_stdin_line(const std::string& text, VmSelection& selection, LineReader& reader) {
    // Checked here, alone, so one odd line cannot make the batch's query fail.
    if (text.size() > kMaxNameBytes)
        return reader.reject(reader.line_number(), "not a VM name or id: " + std::to_string(text.size()) +
                                                       " bytes (at most " + std::to_string(kMaxNameBytes) + ")");
    if (text.front() != '{') {
        selection.tokens.push_back(text);
        return;
    }
    std::string error;
    auto object = parse_object_line(text, error);
    if (!object) return reader.reject(reader.line_number(), error);
    if (auto id = string_field(*object, line::kId)) return selection.ids.push_back(*id);
    if (auto name = string_field(*object, line::kName)) return selection.names.push_back(*name);
    reader.reject(reader.line_number(), "no \"id\" or \"name\" string in the line");
}

void get_vms(CloudTower& tower, const VmSelection& selection, const VmGetOptions& options, LineWriter& out,
             RunStatus& status) {
    if (selection.empty()) return;
    json::array vms = tower.query_all("get-vms", selection_where(selection, options.where));

    std::map<std::string, std::vector<std::string>> ids_by_name;
    std::set<std::string> ids_found;
    for (const auto& vm : vms) {
        ids_by_name[field(vm, line::kName)].push_back(field(vm, line::kId));
        ids_found.insert(field(vm, line::kId));
    }
    auto report_missing = [&](const std::string& what) {
        log_error("no VM " + what);
        status.note(kExitNotFound);
    };
    for (const auto& name : selection.names)
        if (!ids_by_name.count(name)) report_missing("named " + quote_input(name));
    for (const auto& id : selection.ids)
        if (!ids_found.count(id)) report_missing("with id " + quote_input(id));
    for (const auto& token : selection.tokens)
        if (!ids_by_name.count(token) && !ids_found.count(token)) report_missing("named (or with id) " + quote_input(token));

    // With --unique, a requested name shared by several VMs is an error, and
    // none of those VMs is printed: the caller cannot tell which one was meant.
    std::set<std::string> ambiguous;
    if (options.unique) {
        std::vector<std::string> requested = selection.names;
        requested.insert(requested.end(), selection.tokens.begin(), selection.tokens.end());
        for (const auto& name : requested) {
            auto it = ids_by_name.find(name);
            if (it == ids_by_name.end() || it->second.size() < 2 || ambiguous.count(name)) continue;
            std::string ids;
            for (const auto& id : it->second) ids += (ids.empty() ? "" : ", ") + id;
            log_error("--unique: " + std::to_string(it->second.size()) + " VMs are named " + quote_input(name) + " (ids " + ids + ")");
            ambiguous.insert(name);
            status.note(kExitNotFound);
        }
    }
    json::array chosen;
    for (auto& vm : vms)
        if (!ambiguous.count(field(vm, line::kName))) chosen.push_back(std::move(vm));
    write_vms(tower, chosen, options, out, status);
}

void list_vms(CloudTower& tower, const VmGetOptions& options, LineWriter& out, RunStatus& status) {
    tower.query_pages("get-vms", options.where, [&](json::array& page) { write_vms(tower, page, options, out, status); });
}

json::object parse_where(const std::string& text) {
    std::string error;
    auto where = parse_object_line(text, error);
    if (!where) fail(kExitUsage, "--where is not a JSON object");
    return std::move(*where);
}

}  // namespace hci
