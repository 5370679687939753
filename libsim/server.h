#pragma once
// The HTTP/1.1 front of hci-sim: one single-threaded io_context, persistent
// connections, JSON in and out, x-tower-request-id on every answer.
#include <string>

#include "libsim/simulator.h"

namespace sim {

// Listens on HOST:PORT (port 0 = any free port), prints the base URL as the
// first stdout line, then the portal (or "-") as the second, and serves until
// SIGTERM or SIGINT. Returns the process exit status.
int serve(Simulator& sim, const std::string& listen);

}  // namespace sim
