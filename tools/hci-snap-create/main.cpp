// hci-snap-create: snapshot the VMs of the input lines, one create-vm-snapshot call per batch.

#include "libcommon/base/interrupt.h"
#include "snap_create.h"

using namespace hci;

static const ToolInfo kInfo{"hci-snap-create", "[options] [FILE]",
                            "Create a snapshot of each VM line in FILE or stdin; print {task_id, data, vm} lines."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("name", parsed_value<std::string>(checked_name_template)->default_value("{vm}-backup-{timestamp}")
                     ->value_name("TEMPLATE"),
         "snapshot name; placeholders {vm} {id} {timestamp} {date}")
        ("consistency", parsed_value<Consistency>(parse_consistency)->default_value(Consistency::kAuto, "auto")
                            ->value_name("crash|fs|auto"),
         "crash- or file-system-consistent; auto picks fs when VM tools run");
    add_batch_option(own, 100);
    auto cli = parse_api_command_line(argc, argv, kInfo, own);

    SnapCreateOptions options;
    options.name_template = cli.get<std::string>("name");
    options.consistency = cli.get<Consistency>("consistency");

    install_interrupt_handlers();
    CloudTower tower(cli.api, cli.env);
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        create_snapshots(tower, lines, options, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
