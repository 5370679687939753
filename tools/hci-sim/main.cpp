// hci-sim: a CloudTower API + ZBS-over-iSCSI simulator on loopback (see hci-sim(1)).
#include <boost/system/system_error.hpp>

#include "libcommon/base/cli.h"
#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libsim/server.h"
#include "libsim/simulator.h"
#include "libsim/state_lock.h"

using namespace hci;

static const ToolInfo kInfo{
    "hci-sim",
    "--state DIR [--listen HOST:PORT] [--scenario FILE] [--task-duration MS]\n"
    "               [--generate-vms N] [--no-tgtd] [-v]",
    "Simulates the CloudTower API and ZBS iSCSI LUNs (with a real tgtd) on loopback."};

static int body(int argc, char** argv) {
    sim::Options opts;
    std::string listen;
    po::options_description own("Options");
    own.add_options()
        ("state", po::value(&opts.state_dir)->value_name("DIR"), "state directory (created if missing)")
        ("listen", po::value(&listen)->default_value("127.0.0.1:0")->value_name("HOST:PORT"),
         "where to listen (port 0 = any free port)")
        ("scenario", po::value(&opts.scenario_file)->value_name("FILE"),
         "scenario JSON applied when the state directory is new")
        ("task-duration", po::value(&opts.task_duration_ms)->default_value(300)->value_name("MS")
                              ->notifier(must_not_be_negative("task-duration")),
         "milliseconds a task takes")
        ("generate-vms", po::value(&opts.generate_vms)->default_value(0)->value_name("N")
                             ->notifier(must_not_be_negative("generate-vms")),
         "add N generated VMs to a new state directory")
        ("no-tgtd", "do not start tgtd (API only, data plane off)");
    auto cli = parse_command_line(argc, argv, kInfo, own);
    if (opts.state_dir.empty()) fail(kExitUsage, "--state DIR is required (try --help)");
    opts.use_tgtd = !cli.has("no-tgtd");

    sim::StateLock lock(opts.state_dir);  // before anything reads or writes the state
    sim::Simulator simulator(opts);
    int rc;
    try {
        std::string plane = simulator.start();
        if (simulator.resumed() && !opts.scenario_file.empty())
            notice("--scenario " + opts.scenario_file + " not applied: " + opts.state_dir +
                   " already holds a simulator state (stop the simulator and remove it to start over)");
        if (simulator.portal().empty() && opts.use_tgtd)
            log_warning(plane);
        else
            log_info(plane);
        rc = sim::serve(simulator, listen);
    } catch (const boost::system::system_error& e) {
        simulator.stop();
        fail(kExitApi, "cannot serve on " + listen + ": " + e.code().message());
    } catch (const std::exception& e) {
        simulator.stop();
        fail(kExitApi, std::string("cannot serve: ") + e.what());
    }
    simulator.stop();
    return rc;
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
