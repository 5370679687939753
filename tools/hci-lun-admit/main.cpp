// hci-lun-admit: admit this host's initiator to the LUNs of hci-vm-create
// lines for a restore (--revoke puts the recorded allowed_initiators back).

#include "libcommon/base/interrupt.h"
#include "lun_admit.h"

using namespace hci;

static const ToolInfo kInfo{"hci-lun-admit", "[--initiator-iqn IQN] [--revoke] [options] [FILE]",
                            "Add an initiator to each line's LUN allowed_initiators, or put the old value back."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("initiator-iqn", po::value<std::string>()->value_name("IQN"),
         "the initiator to admit (env ZADP_INITIATOR_IQN, the one zadp-write uses)")
        ("revoke", po::bool_switch(), "put back the allowed_initiators recorded in each line's admission");
    add_batch_option(own, 100);
    own.add(task_wait_options("update task"));
    auto cli = parse_api_command_line(argc, argv, kInfo, own);

    LunAdmitOptions options;
    options.revoke = cli.get<bool>("revoke");
    options.initiator_iqn = cli.option_or_env("initiator-iqn", "ZADP_INITIATOR_IQN");
    if (!options.revoke && !options.initiator_iqn.starts_with("iqn."))
        fail(kExitUsage, "give the initiator to admit: --initiator-iqn iqn.YYYY-MM.domain:name (or ZADP_INITIATOR_IQN)");
    options.wait_settings = task_wait_settings(cli);

    install_interrupt_handlers();
    CloudTower tower(cli.api, cli.env);
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        admit_batch(tower, lines, options, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
