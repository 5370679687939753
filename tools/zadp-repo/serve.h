#pragma once
// zadp-repo serve: one image of the repository over NBD, read-only, by
// nbdkit and our plugin (nbdkit-plugin/), until Ctrl-C or SIGTERM.
#include <cstdint>
#include <optional>
#include <string>

namespace hci::repo_tool {

struct Options;

struct ServeOptions {
    std::string socket;         // --socket PATH (else a private directory's)
    bool tcp = false;           // --tcp: 127.0.0.1 instead of a Unix socket
    uint16_t port = 0;          // --port N with --tcp (0: any free port)
    std::string cache;          // --cache SIZE, passed to the plugin
    bool cow = false;           // --cow: writes go to an overlay in memory
    bool json = false;          // --json: the URI as a JSON line
};

// NAME is GROUP/TIME/FILE, with or without "repo:". Returns the exit code.
int serve(const Options& options, const ServeOptions& serve, const std::string& name);

// The plugin: $ZADP_NBDKIT_PLUGIN, else ../lib/nbdkit/plugins/ beside the
// directory of the running program (the build tree's and an installed
// tree's layout), else "zadp" (nbdkit's own plugin directory).
std::string find_nbdkit_plugin(const std::string& self_exe);

// The NBD URI of a Unix socket or a loopback port.
std::string nbd_unix_uri(const std::string& socket);
std::string nbd_tcp_uri(uint16_t port);

}  // namespace hci::repo_tool
