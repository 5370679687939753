// hci-sim: a CloudTower API + ZBS-over-iSCSI simulator on loopback (see hci-sim(1)).
#include <boost/program_options.hpp>
#include <boost/system/system_error.hpp>
#include <iostream>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libsim/server.h"
#include "libsim/simulator.h"

namespace po = boost::program_options;

static int run(int argc, char** argv) {
    sim::Options opts;
    std::string listen = "127.0.0.1:0";
    po::options_description desc("Options");
    desc.add_options()("help,h", "show this help")("version", "show the version")(
        "state", po::value(&opts.state_dir), "state directory (created if missing)")(
        "listen", po::value(&listen), "HOST:PORT to listen on (port 0 = any free port)")(
        "scenario", po::value(&opts.scenario_file), "scenario JSON applied when the state directory is new")(
        "task-duration", po::value(&opts.task_duration_ms), "milliseconds a task takes (default 300)")(
        "generate-vms", po::value(&opts.generate_vms), "add N generated VMs to a new state directory")(
        "no-tgtd", "do not start tgtd (API only, data plane off)");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        hci::fail(hci::kExitUsage, std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
        std::cout << "usage: hci-sim --state DIR [--listen HOST:PORT] [--scenario FILE] [--task-duration MS]\n"
                     "               [--generate-vms N] [--no-tgtd]\n"
                  << desc;
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "hci-sim " << HCI_VERSION << "\n";
        return 0;
    }
    if (opts.state_dir.empty()) hci::fail(hci::kExitUsage, "--state DIR is required (see --help)");
    if (opts.task_duration_ms < 0 || opts.generate_vms < 0)
        hci::fail(hci::kExitUsage, "--task-duration and --generate-vms must not be negative");
    opts.use_tgtd = vm.count("no-tgtd") == 0;
    sim::Simulator simulator(opts);
    int rc;
    try {
        std::string plane = simulator.start();
        if (simulator.portal().empty() && opts.use_tgtd)
            hci::log_warning(plane);
        else
            hci::log_info(plane);
        rc = sim::serve(simulator, listen);
    } catch (const boost::system::system_error& e) {
        simulator.stop();
        hci::fail(hci::kExitApi, "cannot serve on " + listen + ": " + e.code().message());
    } catch (const std::exception& e) {
        simulator.stop();
        hci::fail(hci::kExitApi, std::string("cannot serve: ") + e.what());
    }
    simulator.stop();
    return rc;
}

int main(int argc, char** argv) { return hci::run_main(argc, argv, run); }
