// zadp-repo: manages a deduplicating repository of block-device images
// (zadp-repo(5)): init, ls, put-blob, cat, rm, prune, gc, check, key. Images
// go in and out with zadp-write --target repo:NAME and zadp-read --source
// repo:NAME. JSON lines on stdout.
#include <boost/program_options.hpp>
#include <iostream>

#include "libcommon/base/error.h"
#include "libcommon/base/cli.h"
#include "libcommon/base/log.h"
#include "tools/zadp-repo/repo_commands.h"

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "Usage: zadp-repo [--repo DIR] COMMAND [ARGS] [options]\n"
    "  init [--chunk-size SIZE] [--encrypt]   create a repository\n"
    "  ls [PREFIX]                            list images and blobs\n"
    "  put-blob NAME [FILE|-]  /  cat NAME    store / print a small file\n"
    "  rm GROUP/TIME[/FILE]                   remove a backup or one image\n"
    "  prune [GROUP] --keep-...  [--dry-run]  apply retention\n"
    "  gc [--dry-run]                         remove chunks no image uses\n"
    "  check [PREFIX] [--read-data]           verify images and chunks\n"
    "  key create|show|passwd                 manage the encryption key\n"
    "NAME is GROUP/TIME/FILE. See zadp-repo(1) and zadp-repo(5).\n\nOptions";

int run(int argc, char** argv) {
    hci::repo_tool::Options o;
    po::options_description opts(kUsage);
    opts.add_options()
        ("repo", po::value(&o.repo), "the repository directory (else $ZADP_REPO)")
        ("key-file", po::value(&o.key_file), "key file of an encrypted repository (else $ZADP_REPO_KEY_FILE)")
        ("passphrase-file", po::value(&o.passphrase_file),
         "passphrase in FILE (else $ZADP_REPO_PASSPHRASE_FILE, $ZADP_REPO_PASSPHRASE)")
        ("new-passphrase-file", po::value(&o.new_passphrase_file), "key passwd: the new passphrase in FILE")
        ("chunk-size", po::value(&o.chunk_size), "init: chunk size, a power of two from 64K to 4M (default 1M)")
        ("encrypt", po::bool_switch(&o.encrypt), "init: encrypt chunks, indexes and blobs (AES-256-GCM)")
        ("keep-last", po::value(&o.keep.last), "prune: keep the N newest backups")
        ("keep-hourly", po::value(&o.keep.hourly), "prune: keep the newest backup of each of N hours")
        ("keep-daily", po::value(&o.keep.daily), "prune: keep the newest backup of each of N days")
        ("keep-weekly", po::value(&o.keep.weekly), "prune: keep the newest backup of each of N ISO weeks")
        ("keep-monthly", po::value(&o.keep.monthly), "prune: keep the newest backup of each of N months")
        ("keep-yearly", po::value(&o.keep.yearly), "prune: keep the newest backup of each of N years")
        ("dry-run,n", po::bool_switch(&o.dry_run), "prune, gc: say what would be removed, remove nothing")
        ("read-data", po::bool_switch(&o.read_data), "check: also read, decrypt and hash every chunk")
        ("verbose,v", "more messages on stderr")
        ("help,h", "show this help")
        ("version", "show the version");
    po::options_description hidden;
    hidden.add_options()("words", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description positional;
    positional.add("words", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        hci::fail(hci::kExitUsage, std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
        std::cout << opts << "\n";
        return hci::kExitOk;
    }
    if (vm.count("version")) {
        std::cout << "zadp-repo " << HCI_VERSION << "\n";
        return hci::kExitOk;
    }
    if (vm.count("verbose")) hci::set_verbose(1);
    if (!vm.count("words")) hci::fail(hci::kExitUsage, "no command (see --help)");
    auto words = vm["words"].as<std::vector<std::string>>();
    o.command = words[0];
    o.args.assign(words.begin() + 1, words.end());
    return hci::repo_tool::run_command(o);
}

}  // namespace

int main(int argc, char** argv) { return hci::run_main(argc, argv, run); }
