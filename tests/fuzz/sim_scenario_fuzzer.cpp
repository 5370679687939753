// libFuzzer target: hci-sim's scenario loader. Each input is a scenario file
// for a new state directory (no tgtd). A malformed scenario must be refused
// with an error, never a crash. Generated VMs are capped so a huge count is
// not mistaken for a hang.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "libsim/simulator.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (!ec && value.is_object()) {
        if (auto* g = value.as_object().if_contains("generate_vms"); g && g->is_object())
            if (auto* c = g->as_object().if_contains("count"); c && c->is_number() && c->to_number<double>() > 100)
                return 0;
    }
    fs::path dir = fs::temp_directory_path() / ("hci-fuzz-scenario-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        std::ofstream(dir / "scenario.json") << text;
    }
    sim::Options opts;
    opts.state_dir = (dir / "state").string();
    opts.scenario_file = (dir / "scenario.json").string();
    opts.use_tgtd = false;
    try {
        sim::Simulator s(opts);
        s.start();
        s.stop();
    } catch (const std::exception&) {
        // refused with a message: fine
    }
    fs::remove_all(dir);
    return 0;
}
