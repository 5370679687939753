// hci-snap-luns: one line per frozen DISK of each VM snapshot, with its iSCSI LUN snapshot.
#include <unistd.h>

#include "libcommon/base/log.h"
#include "snap_luns.h"

using namespace hci;

static const ToolInfo kInfo{"hci-snap-luns", "[options] < snapshots.jsonl",
                            "Print one {vm, vm_snapshot, disk, lun_snapshot} line per DISK of each VM snapshot."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    add_batch_option(own, 100);
    auto cli = parse_command_line(argc, argv, kInfo, own);

    CloudTower tower(cli.common);
    LineReader in(STDIN_FILENO, cli.common.fail_fast);
    LineWriter out;
    RunStatus status;
    const std::size_t batch = batch_size(cli.vm);
    for (auto lines = in.next_batch(batch); !lines.empty(); lines = in.next_batch(batch)) {
        resolve_snapshot_luns(tower, lines, in, out, status);
        if (cli.common.fail_fast && status.code() != kExitOk) break;
    }
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
