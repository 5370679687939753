// hci-lun-export: clone each disk's LUN snapshot into a backup target and print where to read it.

#include "libcommon/base/interrupt.h"
#include "lun_export.h"

using namespace hci;

static const ToolInfo kInfo{"hci-lun-export", "--target NAME|ID [options] [FILE]",
                            "Expose each hci-snap-luns line's LUN snapshot as a LUN on an iSCSI target; add \"export\"."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("target", po::value<std::string>()->value_name("NAME|ID"), "the iSCSI target to clone into (required)")
        ("portal", po::value<std::string>()->value_name("HOST[:PORT]"), "portal for the URLs (default: the cluster's iscsi_vip)")
        ("initiator-iqn", po::value<std::string>()->value_name("IQN"),
         "the backup host's initiator (env ZADP_INITIATOR_IQN); warn when the target does not admit it")
        ("chap-user", po::value<std::string>()->value_name("USER"),
         "CHAP user for the URLs (env ZADP_CHAP_USER; default: the target's initiator_chaps entry)")
        ("prefix", non_empty_value("prefix")->default_value("hci-backup-")->value_name("TEXT"),
         "start of the clone LUN names, for finding leftovers")
        ("check", "read no input: print whether the target exists, its portal and whether it admits the initiator "
                  "(default: the tools' own IQN); exit 1 when it does not");
    add_batch_option(own, 100);
    own.add(task_wait_options("clone task"));
    auto cli = parse_api_command_line(argc, argv, kInfo, own);
    if (!cli.has("target")) fail(kExitUsage, "--target NAME|ID is required");

    LunExportOptions options;
    options.target = cli.get<std::string>("target");
    if (cli.has("portal")) options.portal = cli.get<std::string>("portal");
    options.initiator_iqn = cli.option_or_env("initiator-iqn", "ZADP_INITIATOR_IQN");
    options.chap_user = cli.option_or_env("chap-user", "ZADP_CHAP_USER");
    options.prefix = cli.get<std::string>("prefix");
    options.wait_settings = task_wait_settings(cli);

    if (cli.has("check")) {
        CloudTower tower(cli.api, cli.env);
        LineWriter out;
        return check_export_target(tower, options, out);
    }
    install_interrupt_handlers();
    CloudTower tower(cli.api, cli.env);
    ExportTarget target = resolve_export_target(tower, options);
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        export_luns(tower, target, lines, options, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
