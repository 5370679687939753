// hci-vm-get: print CloudTower VMs as JSON lines, selected by name, id or a where filter.

#include "vm_get.h"

using namespace hci;

static const ToolInfo kInfo{"hci-vm-get", "[options] [--name NAME]... [--id ID]... [--where JSON] [--all]\n       hci-vm-get [options] [FILE]",
                            "Print the VMs CloudTower knows, one JSON object per line."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("name,n", po::value<std::vector<std::string>>()->composing()->value_name("NAME"), "a VM name (repeatable)")
        ("id", po::value<std::vector<std::string>>()->composing()->value_name("ID"), "a VM id (repeatable)")
        ("where", parsed_value<json::object>(parse_where)->value_name("JSON"),
         "a CloudTower VmWhereInput filter")
        ("all", po::bool_switch(), "every VM (same as --where '{}')")
        ("unique", po::bool_switch(), "fail for a name that more than one VM has")
        ("full", po::bool_switch(), "resolve disks, volumes, NICs and VLANs: a self-contained configuration");
    add_batch_option(own, 200);
    auto cli = parse_api_command_line(argc, argv, kInfo, own);
    const auto& vm = cli.vm;

    VmGetOptions options;
    options.unique = vm["unique"].as<bool>();
    options.full = vm["full"].as<bool>();
    if (vm.count("where")) options.where = vm["where"].as<json::object>();
    VmSelection selection;
    if (vm.count("name")) selection.names = vm["name"].as<std::vector<std::string>>();
    if (vm.count("id")) selection.ids = vm["id"].as<std::vector<std::string>>();
    const bool list_everything = vm["all"].as<bool>() || (selection.empty() && vm.count("where"));

    if (list_everything || !selection.empty()) cli.refuse_input_file("--name, --id, --where or --all");
    CloudTower tower(cli.api, cli.env);
    LineWriter out;
    RunStatus status;
    if (list_everything) {
        list_vms(tower, options, out, status);
    } else if (!selection.empty()) {
        get_vms(tower, selection, options, out, status);
    } else {
        LineReader in(cli.input_file, cli.api.fail_fast);
        const std::size_t batch = batch_size(cli);
        VmSelection pending;
        auto flush = [&] {
            get_vms(tower, pending, options, out, status);
            pending = VmSelection{};
        };
        while (auto text = in.next_text()) {
            add_stdin_line(*text, pending, in);
            if (pending.names.size() + pending.ids.size() + pending.tokens.size() >= batch) flush();
        }
        flush();
        if (in.had_errors()) status.note(kExitPartial);
    }
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
