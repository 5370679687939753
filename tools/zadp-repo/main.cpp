// zadp-repo: manages a deduplicating repository of block-device images
// (zadp-repo(5)): init, ls, put-blob, cat, rm, prune, gc, check, key,
// sweep, repair, serve, hold. Images go in and out with zadp-write --target repo:NAME and
// zadp-read --source repo:NAME. JSON lines on stdout.
#include <cstdlib>

#include "libcommon/base/cli.h"
#include "tools/zadp-repo/repo_commands.h"

using namespace hci;

static const ToolInfo kInfo{"zadp-repo", "[--repo DIR|s3://BUCKET/PREFIX] COMMAND [options] [ARGS]",
                            "Manages a repository of block-device images. NAME is GROUP/TIME/FILE;\n"
                            "zadp-repo COMMAND --help shows a command's options. See also zadp-repo(5)."};

static std::vector<CommandInfo> commands(repo_tool::Options& o) {
    std::vector<CommandInfo> c{
        {"init", "[--chunk-size SIZE] [--encrypt] [--format-version N] [--unsafe-single-writer]", "create a repository"},
        {"ls", "[PREFIX|VM-NAME] [--table|--json]", "list images and blobs, or backups in a table", 0, 1},
        {"put-blob", "NAME [FILE|-]", "store a small file", 1, 2},
        {"cat", "NAME", "print a small file", 1, 1},
        {"rm", "GROUP/TIME[/FILE]", "remove a backup or one image", 1, 1},
        {"prune", "[GROUP] --keep-... [--dry-run]", "apply retention", 0, 1},
        {"gc", "[--dry-run] [--allow-damage] [--grace DURATION]", "remove chunks no image uses"},
        {"check", "[PREFIX] [--read-data]", "verify images and chunks", 0, 1},
        {"key", "create|show|passwd", "manage the encryption key", 1, 1},
        {"sweep", "[GROUP] [--dry-run]", "remove unfinished backups of dead runs", 0, 1},
        {"repair", "[--dry-run]", "rebuild the locator from the packs; list what is lost"},
        {"serve", "[--socket PATH | --tcp [--port N]] [--cow] [--cache SIZE] [--json] GROUP/TIME/FILE",
         "serve an image read-only over NBD (nbdkit) until Ctrl-C", 1, 1},
        {"hold", "[GROUP]", "hold the repository lock (and GROUP's) until stdin ends: a script's whole run", 0, 1}};
    c[0].options.add_options()
        ("chunk-size", parsed_value<uint32_t>(repo_tool::parse_size)->default_value(repo::kDefaultChunkSize, "256K")->value_name("SIZE"),
         "chunk size, a power of two from 64K to 4M")
        ("encrypt", po::bool_switch(&o.encrypt), "encrypt chunks, indexes and blobs (AES-256-GCM)")
        ("format-version", po::value(&o.format_version)->value_name("N"),
         "2 (the default): chunks in packs; 1: one file per chunk, for older zadp-repo")
        ("unsafe-single-writer", po::bool_switch(&o.unsafe_single_writer),
         "make the repository even on a store whose create-only writes are not (init refuses it otherwise): "
         "then only ONE host may ever write to it");
    c[5].options.add_options()
        ("keep-last", po::value(&o.keep.last)->value_name("N"), "keep the N newest backups")
        ("keep-hourly", po::value(&o.keep.hourly)->value_name("N"), "keep the newest backup of each of N hours")
        ("keep-daily", po::value(&o.keep.daily)->value_name("N"), "keep the newest backup of each of N days")
        ("keep-weekly", po::value(&o.keep.weekly)->value_name("N"), "keep the newest backup of each of N ISO weeks")
        ("keep-monthly", po::value(&o.keep.monthly)->value_name("N"), "keep the newest backup of each of N months")
        ("keep-yearly", po::value(&o.keep.yearly)->value_name("N"), "keep the newest backup of each of N years");
    c[1].options.add_options()
        ("table", po::bool_switch(&o.table), "one row per backup: VM name, local time, disks, size, new bytes, state")
        ("json", po::bool_switch(&o.json), "JSON lines, one per image and blob (the default unless stdout is a terminal)");
    for (int i : {5, 6, 9, 10})
        c[i].options.add_options()("dry-run,n", po::bool_switch(&o.dry_run), "say what would be removed, remove nothing");
    c[6].options.add_options()("allow-damage", po::bool_switch(&o.allow_damage),
                               "sweep even when chunks are missing or a pack's table is damaged")
        ("grace", po::value(&o.grace)->value_name("DURATION"),
         "object storage: delete condemned packs only once their list is this old by the store's clock "
         "(e.g. 24h, 90m, 0s; else $ZADP_REPO_GC_GRACE, else 24h)");
    c[7].options.add_options()("read-data", po::bool_switch(&o.read_data), "also read, decrypt and hash every chunk");
    c[8].options.add_options()("new-passphrase-file", po::value(&o.new_passphrase_file)->value_name("FILE"),
                               "key passwd: the new passphrase in FILE");
    c[11].options.add_options()
        ("socket", po::value(&o.serve.socket)->value_name("PATH"), "listen on this Unix socket (default: a new private directory's)")
        ("tcp", po::bool_switch(&o.serve.tcp), "listen on 127.0.0.1 instead (a free port unless --port)")
        ("port", po::value(&o.serve.port)->value_name("N"), "with --tcp: this port")
        ("cow", po::bool_switch(&o.serve.cow), "accept writes into an overlay in memory (nbdkit's cow filter); the repository is never written")
        ("cache", po::value(&o.serve.cache)->value_name("SIZE"), "decoded chunks kept in memory (default 64M)")
        ("json", po::bool_switch(&o.json), "print the URI as a JSON line (uri, name, size, socket or port, pid)");
    return c;
}

static int body(int argc, char** argv) {
    repo_tool::Options o;
    po::options_description global("Global options");
    global.add_options()
        ("repo", po::value<std::string>()->value_name("DIR"),
         "the repository: a directory or s3://BUCKET/PREFIX (else $ZADP_REPO)")
        ("s3-endpoint", po::value<std::string>()->value_name("URL"),
         "the S3 endpoint, e.g. http://127.0.0.1:7480 (else $AWS_ENDPOINT_URL)")
        ("cache-dir", po::value<std::string>()->value_name("DIR"),
         "S3: where the locator, indexes and pack tables are cached, \"off\" for nowhere "
         "(else $ZADP_CACHE_DIR, $XDG_CACHE_HOME/zadp, ~/.cache/zadp)")
        ("key-file", po::value<std::string>()->value_name("FILE"),
         "key file of an encrypted repository (else $ZADP_REPO_KEY_FILE)")
        ("passphrase-file", po::value<std::string>()->value_name("FILE"),
         "passphrase in FILE (else $ZADP_REPO_PASSPHRASE_FILE, $ZADP_REPO_PASSPHRASE)")
        ("allow-shared-dir", po::bool_switch(&o.allow_shared_dir),
         "write into a repository directory group or others may write (else $ZADP_REPO_ALLOW_SHARED_DIR=1)");
    auto cli = parse_subcommand_line(argc, argv, kInfo, global, commands(o));
    o.repo = cli.option_or_env("repo", "ZADP_REPO");
    // The S3 store reads the endpoint as the AWS tools do: the option stands
    // in for the variable (an endpoint is no secret).
    if (cli.has("s3-endpoint")) ::setenv("AWS_ENDPOINT_URL", cli.get<std::string>("s3-endpoint").c_str(), 1);
    if (cli.has("cache-dir")) ::setenv("ZADP_CACHE_DIR", cli.get<std::string>("cache-dir").c_str(), 1);
    o.key_file = cli.option_or_env("key-file", "ZADP_REPO_KEY_FILE");
    o.passphrase_file = cli.option_or_env("passphrase-file", "ZADP_REPO_PASSPHRASE_FILE");
    o.passphrase = cli.env("ZADP_REPO_PASSPHRASE");
    o.command = cli.command;
    o.args = cli.args;
    if (cli.has("chunk-size")) o.chunk_size = cli.get<uint32_t>("chunk-size");
    return repo_tool::run_command(o);
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
