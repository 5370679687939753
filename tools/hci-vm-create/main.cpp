// hci-vm-create: rebuild VMs from self-contained configuration lines
// (hci-vm-get --full) and print where each new data disk can be written.

#include "libcommon/base/interrupt.h"
#include "vm_create.h"

using namespace hci;

static const ToolInfo kInfo{"hci-vm-create", "[options] [FILE]",
                            "Create a VM from each hci-vm-get --full line; print one line per new data disk."};

// --start-created / --delete-created: what to do instead of creating.
static FollowUp follow_up_of(const CommandLine& cli) {
    const bool start = cli.get<bool>("start-created"), remove = cli.get<bool>("delete-created");
    if (start && remove) fail(kExitUsage, "--start-created and --delete-created exclude each other");
    return start ? FollowUp::kStart : remove ? FollowUp::kDelete : FollowUp::kNone;
}

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("name", non_empty_value("name")->value_name("TEMPLATE"),
         "the new VM's name; {name} is the original name, {time} the UTC time (default {name}-restored)")
        ("allow-duplicate-name", po::bool_switch(), "create the VM even if one with that name exists")
        ("cluster", po::value<std::string>()->value_name("NAME|ID"), "create it on this cluster (default: the original one)")
        ("host", po::value<std::string>()->value_name("NAME|ID"), "create it on this host (default: CloudTower chooses)")
        ("map-vlan", po::value<std::vector<std::string>>()->composing()->value_name("SRC=DST")->notifier(check_vlan_mappings),
         "connect NICs of VLAN SRC to VLAN DST (names or ids; repeatable)")
        ("keep-mac", po::bool_switch(), "give the NICs their recorded MAC addresses (default: new ones)")
        ("storage-policy", po::value<std::string>()->value_name("POLICY"),
         "give every new volume this elf_storage_policy (default: the recorded one)")
        ("start", po::bool_switch(), "start each VM once it is created (default: leave it stopped)")
        ("start-created", po::bool_switch(), "read hci-vm-create lines and start their VMs (after a restore)")
        ("delete-created", po::bool_switch(), "read hci-vm-create lines and delete their VMs and volumes");
    add_batch_option(own, 20);
    own.add(task_wait_options("create, start or delete task"));
    auto cli = parse_api_command_line(argc, argv, kInfo, own);

    const FollowUp follow_up = follow_up_of(cli);
    VmCreateOptions options;
    if (cli.has("name")) options.name_template = cli.get<std::string>("name");
    options.allow_duplicate_name = cli.get<bool>("allow-duplicate-name");
    if (follow_up == FollowUp::kNone) {  // nothing to place otherwise
        if (cli.has("cluster")) options.cluster = cli.get<std::string>("cluster");
        if (cli.has("host")) options.host = cli.get<std::string>("host");
    }
    if (cli.has("map-vlan"))
        for (const auto& m : cli.get<std::vector<std::string>>("map-vlan")) options.vlan_map.push_back(parse_vlan_mapping(m));
    options.keep_mac = cli.get<bool>("keep-mac");
    if (cli.has("storage-policy")) options.storage_policy = cli.get<std::string>("storage-policy");
    options.start = cli.get<bool>("start");
    options.wait_settings = task_wait_settings(cli);

    install_interrupt_handlers();
    CloudTower tower(cli.api, cli.env);
    VmCreator creator(tower, options);
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        if (follow_up == FollowUp::kNone)
            creator.create_batch(lines, in, out, status);
        else
            creator.follow_up(follow_up, lines, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
