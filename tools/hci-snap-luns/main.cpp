// hci-snap-luns: one line per frozen DISK of each VM snapshot, with its iSCSI LUN snapshot.

#include "snap_luns.h"

using namespace hci;

static const ToolInfo kInfo{"hci-snap-luns", "[options] [FILE]",
                            "Print one {vm, vm_snapshot, disk, lun_snapshot} line per DISK of each VM snapshot."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    add_batch_option(own, 100);
    auto cli = parse_api_command_line(argc, argv, kInfo, own);

    CloudTower tower(cli.api, cli.env);
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        resolve_snapshot_luns(tower, lines, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
