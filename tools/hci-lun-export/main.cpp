// hci-lun-export: clone each disk's LUN snapshot into a backup target and print where to read it.
#include <unistd.h>

#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"
#include "lun_export.h"

using namespace hci;

static const ToolInfo kInfo{"hci-lun-export", "--target NAME|ID [options] < disks.jsonl",
                            "Expose each hci-snap-luns line's LUN snapshot as a LUN on an iSCSI target; add \"export\".",
                            "give up on a clone task not finished after SECONDS (default 1800)", 1800, true};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("target", po::value<std::string>()->value_name("NAME|ID"), "the iSCSI target to clone into (required)")
        ("portal", po::value<std::string>()->value_name("HOST[:PORT]"), "portal for the URLs (default: the cluster's iscsi_vip)")
        ("initiator-iqn", po::value<std::string>()->value_name("IQN"),
         "the backup host's initiator (env ZADP_INITIATOR_IQN); warn when the target does not admit it")
        ("prefix", po::value<std::string>()->default_value("hci-backup-")->value_name("TEXT"),
         "start of the clone LUN names, for finding leftovers");
    add_task_wait_options(own);
    add_batch_option(own, 100);
    auto cli = parse_command_line(argc, argv, kInfo, own);
    if (!cli.vm.count("target")) fail(kExitUsage, "--target NAME|ID is required");

    LunExportOptions options;
    options.target = cli.vm["target"].as<std::string>();
    if (cli.vm.count("portal")) options.portal = cli.vm["portal"].as<std::string>();
    options.initiator_iqn = cli.vm.count("initiator-iqn") ? cli.vm["initiator-iqn"].as<std::string>()
                                                          : process_env()("ZADP_INITIATOR_IQN").value_or("");
    options.prefix = cli.vm["prefix"].as<std::string>();
    if (options.prefix.empty()) fail(kExitUsage, "--prefix must not be empty (leftovers are found by it)");
    options.wait_settings = task_wait_settings(cli.vm, cli.common);

    install_interrupt_handlers();
    CloudTower tower(cli.common);
    ExportTarget target = resolve_export_target(tower, options);
    LineReader in(STDIN_FILENO, cli.common.fail_fast);
    LineWriter out;
    RunStatus status;
    const std::size_t batch = batch_size(cli.vm);
    for (auto lines = in.next_batch(batch); !lines.empty(); lines = in.next_batch(batch)) {
        export_luns(tower, target, lines, options, in, out, status);
        if (cli.common.fail_fast && status.code() != kExitOk) break;
    }
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
