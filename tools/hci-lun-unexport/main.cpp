// hci-lun-unexport: delete the clone LUNs hci-lun-export made; or find leftovers by prefix.

#include "lun_unexport.h"

using namespace hci;

static const ToolInfo kInfo{"hci-lun-unexport", "[options] [FILE]\n       hci-lun-unexport --stale PREFIX [--delete]",
                            "Delete the clone LUN named by each line's export; print the line once it is gone."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("stale", non_empty_value("stale")->value_name("PREFIX"), "list LUNs whose names start with PREFIX instead")
        ("delete", po::bool_switch(), "with --stale: delete them too");
    add_batch_option(own, 100);
    own.add(task_wait_options("deletion task"));
    auto cli = parse_api_command_line(argc, argv, kInfo, own);
    LunUnexportOptions options;
    options.wait_settings = task_wait_settings(cli);
    const bool remove = cli.get<bool>("delete");
    if (remove && !cli.has("stale")) fail(kExitUsage, "--delete needs --stale PREFIX");

    CloudTower tower(cli.api, cli.env);
    if (cli.has("stale")) {
        cli.refuse_input_file("--stale");
        LineWriter out;
        RunStatus status;
        const std::string prefix = cli.get<std::string>("stale");
        stale_luns(tower, prefix, remove, options, out, status);
        return status.code();
    }
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        unexport_luns(tower, lines, options, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
