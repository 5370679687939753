#include "tools/zadp-repo/repo_commands.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/block/progress.h"
#include "libcommon/block/repo/backend/local_files.h"
#include "libcommon/block/stream_io.h"

namespace hci::repo_tool {
namespace {

using repo::Repository;

void emit(const boost::json::object& o) { std::cout << boost::json::serialize(o) << "\n" << std::flush; }

repo::KeySource keys(const Options& o) { return repo::KeySource::from(o.key_file, o.passphrase_file, o.passphrase); }

// Commands that change the repository open it for writing (see Access).
std::unique_ptr<Repository> open(const Options& o, repo::Access access = repo::Access::kRead) {
    return Repository::open(repo::repo_dir_from(o.repo), keys(o), access, repo::allow_shared_dir_from(o.allow_shared_dir));
}

repo::Access writes_unless_dry_run(const Options& o) { return o.dry_run ? repo::Access::kRead : repo::Access::kWrite; }

int cmd_init(const Options& o) {
    std::string dir = repo::repo_dir_from(o.repo);
    auto config = Repository::init(dir, o.chunk_size, o.encrypt, keys(o), o.format_version,
                                   repo::allow_shared_dir_from(o.allow_shared_dir), o.unsafe_single_writer);
    boost::json::object line;
    line["repo"] = dir;
    line["version"] = config.version;
    line["chunk_size"] = config.chunk_size;
    line["encrypted"] = config.encrypted;
    if (config.encrypted) line["key_fingerprint"] = config.key_fingerprint;
    if (config.single_writer) line["single_writer"] = true;
    line["id"] = config.id;
    emit(line);
    return kExitOk;
}

// One row of ls --table: a backup.
struct BackupRow {
    std::string backup, vm_name, state;
    uint64_t disks = 0, size = 0, new_bytes = 0;
};

// "2026-11-28 03:00 CET" from a backup TIME (UTC), else TIME itself.
std::string local_time(const std::string& time) {
    auto t = repo::parse_backup_time(time);
    if (!t) return time;
    std::time_t tt = static_cast<std::time_t>(*t);
    std::tm tm{};
    ::localtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %Z", &tm);
    return buf;
}

std::string string_at(const boost::json::object& o, std::initializer_list<const char*> path) {
    const boost::json::value* v = nullptr;
    const boost::json::object* at = &o;
    for (const char* key : path) {
        if (!at || !(v = at->if_contains(key))) return "";
        at = v->is_object() ? &v->as_object() : nullptr;
    }
    return v && v->is_string() ? std::string(v->as_string()) : "";
}

// The lines of ls gathered per backup, oldest first; the VM name from the
// manifest (else an image's identity, else unfinished.json).
std::vector<BackupRow> backup_rows(Repository& r, const std::vector<boost::json::object>& lines) {
    std::map<std::string, BackupRow> rows;
    for (const auto& l : lines) {
        std::string backup = string_at(l, {"backup"});
        auto& row = rows[backup];
        row.backup = backup;
        row.state = string_at(l, {"state"});
        std::string name = string_at(l, {"name"});
        if (string_at(l, {"type"}) == "image") {
            ++row.disks;
            if (const auto* v = l.if_contains("size"); v && v->is_number()) row.size += v->to_number<uint64_t>();
            if (const auto* v = l.if_contains("new_bytes"); v && v->is_number()) row.new_bytes += v->to_number<uint64_t>();
            if (row.vm_name.empty()) row.vm_name = string_at(l, {"identity", "vm", "name"});
        } else if (name.substr(name.rfind('/') + 1) == repo::kManifest || row.vm_name.empty()) {
            if (!name.ends_with(".json")) continue;
            try {
                auto text = r.get_blob(name);
                boost::system::error_code ec;
                auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), ec);
                if (!ec && v.is_object() && !string_at(v.as_object(), {"vm", "name"}).empty())
                    row.vm_name = string_at(v.as_object(), {"vm", "name"});
            } catch (const Error&) {
                // a damaged blob: ls already said so
            }
        }
    }
    std::vector<BackupRow> out;
    for (auto& [_, row] : rows) out.push_back(std::move(row));
    return out;
}

void print_table(const std::vector<BackupRow>& rows) {
    size_t w = 4;
    for (const auto& row : rows) w = std::max(w, row.vm_name.size());
    auto line = [&](const std::string& name, const std::string& time, const std::string& disks,
                    const std::string& size, const std::string& fresh, const std::string& state,
                    const std::string& backup) {
        std::printf("%-*s  %-22s %5s %10s %10s  %-10s  %s\n", static_cast<int>(w), name.c_str(), time.c_str(),
                    disks.c_str(), size.c_str(), fresh.c_str(), state.c_str(), backup.c_str());
    };
    line("NAME", "TIME", "DISKS", "SIZE", "NEW", "STATE", "BACKUP");
    for (const auto& row : rows)
        line(row.vm_name.empty() ? "?" : row.vm_name, local_time(row.backup.substr(row.backup.find('/') + 1)),
             std::to_string(row.disks), human_bytes(static_cast<double>(row.size)),
             human_bytes(static_cast<double>(row.new_bytes)), row.state, "repo:" + row.backup);
    std::fflush(stdout);
}

int cmd_ls(const Options& o) {
    auto r = open(o);
    auto lock = r->lock_shared();
    if (o.table && o.json) fail(kExitUsage, "ls takes --table or --json, not both");
    bool table = o.table || (!o.json && ::isatty(STDOUT_FILENO));
    std::vector<boost::json::object> lines;
    repo::Emit collect = table ? repo::Emit([&](const boost::json::object& l) { lines.push_back(l); }) : repo::Emit(emit);
    bool ok = true;
    for (const auto& prefix : repo::resolve_ls_argument(*r, o.args.empty() ? "" : o.args[0]))
        ok = repo::list_items(*r, prefix, collect) && ok;
    if (table) print_table(backup_rows(*r, lines));
    return ok ? kExitOk : kExitIntegrity;
}

int cmd_put_blob(const Options& o) {
    auto r = open(o, repo::Access::kWrite);
    std::string from = o.args.size() > 1 ? o.args[1] : "-";
    std::string data;
    if (from == "-") {
        char buf[65536];
        for (size_t n; (n = read_fd(STDIN_FILENO, buf, sizeof buf, "stdin")) > 0;) {
            data.append(buf, n);
            if (data.size() > (64u << 20)) fail(kExitUsage, "a blob holds at most 64 MiB");
        }
    } else {
        data = repo::read_small_file(from, 64u << 20);
    }
    auto lock = r->lock_shared();
    r->put_blob(o.args[0], {data.begin(), data.end()});
    boost::json::object line;
    line["name"] = o.args[0];
    line["type"] = "blob";
    line["size"] = data.size();
    emit(line);
    return kExitOk;
}

int cmd_cat(const Options& o) {
    auto r = open(o);
    auto lock = r->lock_shared();
    auto data = r->get_blob(o.args[0]);
    write_fd_all(STDOUT_FILENO, data.data(), data.size(), "stdout");
    return kExitOk;
}

int cmd_rm(const Options& o) {
    auto r = open(o, repo::Access::kWrite);
    repo::remove_items(*r, o.args[0], emit);
    return kExitOk;
}

// The optional GROUP argument of prune and sweep.
std::string group_arg(const Options& o) {
    std::string group = o.args.empty() ? "" : o.args[0];
    if (group.find('/') != std::string::npos) fail(kExitUsage, o.command + " takes a GROUP, not a backup or image");
    return group;
}

int cmd_prune(const Options& o) {
    auto r = open(o, writes_unless_dry_run(o));
    return repo::prune(*r, group_arg(o), o.keep, o.dry_run, emit) ? kExitOk : kExitIntegrity;
}

int cmd_sweep(const Options& o) {
    auto r = open(o, writes_unless_dry_run(o));
    repo::sweep_unfinished(*r, group_arg(o), o.dry_run, emit);
    return kExitOk;
}

// hold [GROUP]: a script's run (backup-vm.sh) holds the repository lock
// shared from before it stores unfinished.json until it ends, as each
// store does for itself, so that sweep and prune leave its backup alone;
// with GROUP also GROUP's own lock, exclusive and not waited for: two runs
// backing up one VM, on one host or two, never both go on (exit 75 for the
// second, before it wrote anything). Says {"held":true} once it holds them;
// then answers each line on stdin with whether it still does (a lease that
// could not be refreshed in time is lost: the script must not publish);
// releases them at the end of stdin, which comes also when the script is
// killed. Signals are the script's to handle: it ends us by ending stdin.

// Who holds the lease `name` on an object store (" (host H, pid P)"), for the
// one refused; "" on a directory, whose flock records no holder.
std::string lease_holder(repo::ObjectStore& store, const std::string& name) {
    std::string who;
    try {
        store.list("locks/" + name + "/", [&](const repo::ObjectInfo& info) {
            auto body = store.load(info.key);
            if (!who.empty() || !body) return;
            auto lease = boost::json::parse(std::string(body->begin(), body->end())).as_object();
            who = " (host " + std::string(lease.at("host").as_string()) + ", pid " +
                  std::to_string(lease.at("pid").to_number<int64_t>()) + ")";
        });
    } catch (const std::exception&) {
        // Only the message loses its detail.
    }
    return who;
}

int cmd_hold(const Options& o) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_IGN);
    std::string group = group_arg(o);
    auto r = open(o);
    std::unique_ptr<repo::StoreLock> group_lock;
    if (!group.empty()) {
        // Two takers racing for a lease may both see the other and both back
        // off: a few tries at random intervals let one of them win, while a
        // run that holds it refuses every try.
        std::mt19937 random{std::random_device{}()};
        for (int attempt = 0; attempt < 4 && !group_lock; ++attempt) {
            if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 800));
            group_lock = r->store().lock("group/" + group, true, false);
        }
        if (!group_lock)
            fail(kExitBusy, "the group " + group + " of " + repo::repo_dir_from(o.repo) + " is held by another run" +
                                lease_holder(r->store(), "group/" + group) +
                                ", a backup of it on this or another host; nothing was done");
    }
    auto lock = r->lock_shared();
    boost::json::object line;
    line["held"] = true;
    if (!group.empty()) line["group"] = group;
    emit(line);
    for (std::string request; std::getline(std::cin, request);)
        emit({{"held", lock->held() && (!group_lock || group_lock->held())}});
    return kExitOk;
}

int cmd_gc(const Options& o) {
    int64_t grace = repo::gc_grace_from(o.grace);
    auto r = open(o, writes_unless_dry_run(o));
    auto report = repo::collect_garbage(*r, o.dry_run, o.allow_damage, grace);
    emit(repo::gc_report_json(report, o.dry_run));
    if (report.refused)
        fail(kExitIntegrity, "gc removed nothing: " + report.problems.front() +
                                 (report.problems.size() > 1 ? " (and more, see the line's problems)" : "") +
                                 "; see zadp-repo(5), \"What gc may remove\" (--allow-damage sweeps anyway)");
    return kExitOk;
}

int cmd_repair(const Options& o) {
    auto r = open(o, writes_unless_dry_run(o));
    uint64_t lost = repo::repair(*r, o.dry_run, emit);
    if (lost) fail(kExitIntegrity, std::to_string(lost) + " image(s) cannot be read whole; see the lines with \"image\"");
    return kExitOk;
}

int cmd_check(const Options& o) {
    // --read-data sets damaged chunks aside: a write
    auto r = open(o, o.read_data ? repo::Access::kWrite : repo::Access::kRead);
    uint64_t damaged = repo::check(*r, o.args.empty() ? "" : o.args[0], o.read_data, emit);
    if (damaged) fail(kExitIntegrity, std::to_string(damaged) + " damaged image(s), blob(s), pack tables or locator entries; see the lines with \"ok\":false or \"locator_defect\"");
    return kExitOk;
}

int cmd_key(const Options& o) {
    const std::string& what = o.args[0];
    boost::json::object line;
    if (what == "create") {
        if (o.key_file.empty()) fail(kExitUsage, "key create needs --key-file FILE (the new key file)");
        auto key = repo::MasterKey::generate();
        repo::write_key_file(o.key_file, key);
        line["key_file"] = o.key_file;
        line["fingerprint"] = key.fingerprint();
    } else if (what == "show") {
        auto r = open(o);
        line["repo"] = r->dir();
        line["encrypted"] = r->config().encrypted;
        if (r->key()) line["fingerprint"] = r->key()->fingerprint();
    } else if (what == "passwd") {
        auto r = open(o, repo::Access::kWrite);
        if (!r->key()) fail(kExitUsage, "repository " + r->dir() + " is not encrypted");
        if (o.new_passphrase_file.empty()) fail(kExitUsage, "key passwd needs --new-passphrase-file FILE");
        std::string wrapped = repo::wrap_key(*r->key(), repo::read_passphrase_file(o.new_passphrase_file,
                                                                                   "--new-passphrase-file"));
        r->save_wrapped_key(wrapped);
        line["repo"] = r->dir();
        line["fingerprint"] = r->key()->fingerprint();
        line["passphrase"] = "changed";
    } else {
        fail(kExitUsage, "zadp-repo key create|show|passwd, not '" + what + "'");
    }
    emit(line);
    return kExitOk;
}

}  // namespace

uint32_t parse_size(const std::string& text) {
    size_t pos = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(text, &pos);
    } catch (const std::exception&) {
        fail(kExitUsage, "bad size '" + text + "' (e.g. 256K, 1M, 4M)");
    }
    std::string unit = text.substr(pos);
    if (unit == "K" || unit == "k" || unit == "KiB")
        n <<= 10;
    else if (unit == "M" || unit == "m" || unit == "MiB")
        n <<= 20;
    else if (!unit.empty())
        fail(kExitUsage, "bad size '" + text + "' (e.g. 256K, 1M, 4M)");
    if (n > UINT32_MAX) fail(kExitUsage, "size '" + text + "' is too large");
    return static_cast<uint32_t>(n);
}

int run_command(const Options& o) {
    if (o.command == "init") return cmd_init(o);
    if (o.command == "ls") return cmd_ls(o);
    if (o.command == "put-blob") return cmd_put_blob(o);
    if (o.command == "cat") return cmd_cat(o);
    if (o.command == "rm") return cmd_rm(o);
    if (o.command == "prune") return cmd_prune(o);
    if (o.command == "gc") return cmd_gc(o);
    if (o.command == "check") return cmd_check(o);
    if (o.command == "key") return cmd_key(o);
    if (o.command == "sweep") return cmd_sweep(o);
    if (o.command == "repair") return cmd_repair(o);
    if (o.command == "hold") return cmd_hold(o);
    if (o.command == "serve") {
        ServeOptions s = o.serve;
        s.json = o.json;
        return serve(o, s, o.args[0]);
    }
    fail(kExitUsage, "unknown command '" + o.command + "' (init, ls, put-blob, cat, rm, prune, gc, check, key, sweep, repair, serve, hold)");
}

}  // namespace hci::repo_tool
