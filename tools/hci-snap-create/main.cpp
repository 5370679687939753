// hci-snap-create: snapshot the VMs on stdin, one create-vm-snapshot call per batch.
#include <unistd.h>

#include "libcommon/base/log.h"
#include "snap_create.h"

using namespace hci;

static const ToolInfo kInfo{"hci-snap-create", "[options] < vms.jsonl",
                            "Create a snapshot of each VM line on stdin; print {task_id, data, vm} lines."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("name", po::value<std::string>()->default_value("{vm}-backup-{timestamp}")->value_name("TEMPLATE"),
         "snapshot name; placeholders {vm} {id} {timestamp} {date}")
        ("consistency", po::value<std::string>()->default_value("auto")->value_name("crash|fs|auto"),
         "crash- or file-system-consistent; auto picks fs when VM tools run");
    add_batch_option(own, 100);
    auto cli = parse_command_line(argc, argv, kInfo, own);

    SnapCreateOptions options;
    options.name_template = cli.vm["name"].as<std::string>();
    options.consistency = parse_consistency(cli.vm["consistency"].as<std::string>());
    check_name_template(options.name_template);

    CloudTower tower(cli.common);
    LineReader in(STDIN_FILENO, cli.common.fail_fast);
    LineWriter out;
    const std::size_t batch = batch_size(cli.vm);
    for (auto lines = in.next_batch(batch); !lines.empty(); lines = in.next_batch(batch))
        create_snapshots(tower, lines, options, in, out);
    return in.had_errors() ? kExitPartial : kExitOk;
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
