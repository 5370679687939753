// hci-lun-unexport: delete the clone LUNs hci-lun-export made; or find leftovers by prefix.
#include <unistd.h>

#include "libcommon/base/log.h"
#include "lun_unexport.h"

using namespace hci;

static const ToolInfo kInfo{"hci-lun-unexport", "[options] < exported.jsonl\n       hci-lun-unexport --stale PREFIX [--delete]",
                            "Delete the clone LUN named by each line's export; print the line once it is gone.",
                            "give up on a deletion task not finished after SECONDS (default 1800)", 1800, true};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("stale", po::value<std::string>()->value_name("PREFIX"), "list LUNs whose names start with PREFIX instead")
        ("delete", po::bool_switch(), "with --stale: delete them too");
    add_task_wait_options(own);
    add_batch_option(own, 100);
    auto cli = parse_command_line(argc, argv, kInfo, own);
    LunUnexportOptions options;
    options.wait_settings = task_wait_settings(cli.vm, cli.common);
    const bool remove = cli.vm["delete"].as<bool>();
    if (remove && !cli.vm.count("stale")) fail(kExitUsage, "--delete needs --stale PREFIX");

    CloudTower tower(cli.common);
    LineWriter out;
    RunStatus status;
    if (cli.vm.count("stale")) {
        const std::string prefix = cli.vm["stale"].as<std::string>();
        if (prefix.empty()) fail(kExitUsage, "--stale needs a non-empty PREFIX");
        stale_luns(tower, prefix, remove, options, out, status);
        return status.code();
    }
    LineReader in(STDIN_FILENO, cli.common.fail_fast);
    const std::size_t batch = batch_size(cli.vm);
    for (auto lines = in.next_batch(batch); !lines.empty(); lines = in.next_batch(batch)) {
        unexport_luns(tower, lines, options, in, out, status);
        if (cli.common.fail_fast && status.code() != kExitOk) break;
    }
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
