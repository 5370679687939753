// hci-task-wait: pass each line on once its CloudTower task has SUCCESSED.
#include <unistd.h>

#include "libcommon/base/log.h"
#include "task_wait.h"

using namespace hci;

static const ToolInfo kInfo{"hci-task-wait", "[options] < lines-with-task_id.jsonl",
                            "Wait for the task of each line; print the line with \"task\" added once it SUCCESSED.",
                            "give up on a task not finished after SECONDS (default 1800)", 1800, true};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()("unordered", po::bool_switch(), "print lines as their tasks finish, not in input order");
    add_task_wait_options(own);
    auto cli = parse_command_line(argc, argv, kInfo, own);
    TaskWaitSettings settings = task_wait_settings(cli.vm, cli.common);

    CloudTower tower(cli.common);
    LineReader in(STDIN_FILENO, cli.common.fail_fast);
    LineWriter out;
    RunStatus status;
    TaskLineQueue queue(out, !cli.vm["unordered"].as<bool>(), status, cli.common.fail_fast);
    wait_task_lines(tower, in, queue, settings);
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
