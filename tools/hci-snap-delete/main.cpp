// hci-snap-delete: delete the VM snapshots named by the lines on stdin; pass the lines on.
#include <unistd.h>

#include "libcommon/base/log.h"
#include "snap_delete.h"

using namespace hci;

static const ToolInfo kInfo{"hci-snap-delete", "[options] < snapshots.jsonl",
                            "Delete the VM snapshot each line names; print the line once it is gone.",
                            "give up on a deletion task not finished after SECONDS (default 1800)", 1800, true};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()("no-wait", po::bool_switch(), "do not wait for the deletion tasks");
    add_task_wait_options(own);
    add_batch_option(own, 100);
    auto cli = parse_command_line(argc, argv, kInfo, own);

    SnapDeleteOptions options;
    options.wait = !cli.vm["no-wait"].as<bool>();
    options.wait_settings = task_wait_settings(cli.vm, cli.common);

    CloudTower tower(cli.common);
    LineReader in(STDIN_FILENO, cli.common.fail_fast);
    LineWriter out;
    RunStatus status;
    const std::size_t batch = batch_size(cli.vm);
    for (auto lines = in.next_batch(batch); !lines.empty(); lines = in.next_batch(batch)) {
        delete_snapshots(tower, lines, options, in, out, status);
        if (cli.common.fail_fast && status.code() != kExitOk) break;
    }
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
