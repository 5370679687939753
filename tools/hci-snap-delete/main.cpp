// hci-snap-delete: delete the VM snapshots named by the input lines; pass the lines on.

#include "libcommon/base/interrupt.h"
#include "snap_delete.h"

using namespace hci;

static const ToolInfo kInfo{"hci-snap-delete", "[options] [FILE]\n       hci-snap-delete --stale PREFIX",
                            "Delete the VM snapshot each line names; print the line once it is gone."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("no-wait", po::bool_switch(), "do not wait for the deletion tasks")
        ("stale", non_empty_value("stale")->value_name("PREFIX"),
         "delete every VM snapshot whose name starts with PREFIX instead of reading lines");
    add_batch_option(own, 100);
    own.add(task_wait_options("deletion task"));
    auto cli = parse_api_command_line(argc, argv, kInfo, own);

    SnapDeleteOptions options;
    options.wait = !cli.get<bool>("no-wait");
    options.wait_settings = task_wait_settings(cli);

    install_interrupt_handlers();
    CloudTower tower(cli.api, cli.env);
    if (cli.has("stale")) {
        cli.refuse_input_file("--stale");
        LineWriter out;
        RunStatus status;
        const auto prefix = cli.get<std::string>("stale");
        delete_stale_snapshots(tower, prefix, options, out, status);
        return status.code();
    }
    return for_each_batch(cli, [&](const auto& lines, LineReader& in, LineWriter& out, RunStatus& status) {
        delete_snapshots(tower, lines, options, in, out, status);
    });
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
