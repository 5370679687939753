#pragma once
// zadp-repo's commands, each a function of the parsed options: init, ls,
// put-blob, cat, rm, prune, gc, check, key, sweep, repair, serve, hold.
#include <optional>
#include <string>
#include <vector>

#include "libcommon/block/repo/maintenance.h"
#include "tools/zadp-repo/serve.h"

namespace hci::repo_tool {

struct Options {
    std::string command;
    std::vector<std::string> args;
    std::string repo;  // --repo (else $ZADP_REPO)
    std::string key_file, passphrase_file, new_passphrase_file;  // options, else the environment
    std::optional<std::string> passphrase;                      // $ZADP_REPO_PASSPHRASE
    uint32_t chunk_size = repo::kDefaultChunkSize;
    bool encrypt = false;
    bool unsafe_single_writer = false;  // init --unsafe-single-writer
    uint32_t format_version = repo::kRepoVersion;
    bool dry_run = false;
    bool read_data = false;
    bool allow_damage = false;
    std::string grace;  // gc --grace (else $ZADP_REPO_GC_GRACE, else 24h)
    bool table = false, json = false;  // ls --table / --json (else a table on a terminal)
    bool allow_shared_dir = false;  // --allow-shared-dir (else $ZADP_REPO_ALLOW_SHARED_DIR)
    repo::PrunePolicy keep;
    ServeOptions serve;  // serve's options (--json is `json`)
};

// "1M", "256K", "4194304" -> bytes; usage error otherwise.
uint32_t parse_size(const std::string& text);

// Runs one command (its arguments already counted by the front door);
// returns the exit code (JSON lines on stdout).
int run_command(const Options& options);

}  // namespace hci::repo_tool
