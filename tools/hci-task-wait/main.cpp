// hci-task-wait: pass each line on once its CloudTower task has SUCCESSED.

#include "task_wait.h"

using namespace hci;

static const ToolInfo kInfo{"hci-task-wait", "[options] [FILE]",
                            "Wait for the task of each line; print the line with \"task\" added once it SUCCESSED."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()("unordered", po::bool_switch(), "print lines as their tasks finish, not in input order");
    add_progress_options(own);
    own.add(task_wait_options());
    auto cli = parse_api_command_line(argc, argv, kInfo, own);
    TaskWaitSettings settings = task_wait_settings(cli);
    const ProgressMode progress = progress_switch(cli);

    CloudTower tower(cli.api, cli.env);
    LineReader in(cli.input_file, cli.api.fail_fast);
    LineWriter out;
    RunStatus status;
    TaskLineQueue queue(out, !cli.get<bool>("unordered"), status, cli.api.fail_fast);
    wait_task_lines(tower, in, queue, settings, progress);
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
