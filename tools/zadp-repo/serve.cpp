#include "tools/zadp-repo/serve.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <vector>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/repo/image.h"
#include "tools/zadp-repo/repo_commands.h"

namespace hci::repo_tool {
namespace {

bool is_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool in_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (size_t start = 0; start <= dirs.size();) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string candidate = dirs.substr(start, end - start) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) return true;
        start = end + 1;
    }
    return false;
}

// Opens the image as the plugin will (the key, the index) so that a wrong
// key, a missing image or a damaged index is this command's error with its
// exit code, not a server that dies. Returns the image's size.
uint64_t check_image(const Options& o, const std::string& name) {
    auto repo = repo::Repository::open(repo::repo_dir_from(o.repo),
                                       repo::KeySource::from(o.key_file, o.passphrase_file, o.passphrase));
    if (!repo->store().stat(repo::Repository::index_key(name))) {
        if (repo->store().stat(repo::Repository::blob_key(name)))
            fail(kExitUsage, "repo:" + name + " is a blob, not an image (zadp-repo cat prints it)");
        fail(kExitNotFound, "repo:" + name + " does not exist in " + repo->dir() + " (zadp-repo ls lists the images)");
    }
    repo::IndexReader index(repo->store(), repo::Repository::index_key(name), "repo:" + name, repo->sealer());
    repo::check_index_fits(*repo, index.header(), "repo:" + name);
    return index.header().size;
}

// A listening socket: Unix at `path`, or TCP on 127.0.0.1:port (port 0:
// the kernel picks one, written back).
int listen_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) fail(kExitUsage, "socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, SOMAXCONN) != 0)
        fail(kExitIo, "listen on " + path + ": " + errno_text(errno));
    return fd;
}

int listen_tcp(uint16_t& port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // only loopback: the export has no authentication
    addr.sin_port = htons(port);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        fail(kExitIo, "listen on 127.0.0.1:" + std::to_string(port) + ": " + errno_text(errno));
    port = ntohs(addr.sin_port);
    return fd;
}

// nbdkit, socket-activated (sd_listen_fds(3): the listener as fd 3,
// LISTEN_PID and LISTEN_FDS): the socket accepts before nbdkit runs, so
// there is no port to race for and nothing to poll for. Secrets stay in the
// environment (ZADP_REPO_PASSPHRASE) or in files; argv holds paths only.
pid_t start_nbdkit(const std::vector<std::string>& args, int listener, const sigset_t& old_mask) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) fail(kExitIo, "fork: " + errno_text(errno));
    if (pid > 0) return pid;
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    std::signal(SIGPIPE, SIG_DFL);
    if (listener == 3) {
        ::fcntl(3, F_SETFD, 0);
    } else if (::dup2(listener, 3) != 3) {
        _exit(127);
    }
    ::syscall(SYS_close_range, 4u, ~0u, 0u);
    std::string pid_text = std::to_string(::getpid());
    ::setenv("LISTEN_PID", pid_text.c_str(), 1);
    ::setenv("LISTEN_FDS", "1", 1);
    ::unsetenv("LISTEN_FDNAMES");
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "zadp-repo: cannot run nbdkit: %s\n", std::strerror(errno));
    _exit(127);
}

std::string exit_text(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// Waits until the server answers the NBD handshake (the plugin opened the
// image: nbdkit accepts only then), as a client that leaves at once
// (NBD_OPT_ABORT). Fails when nbdkit exits first.
void await_server(pid_t& pid, const sockaddr* addr, socklen_t addr_len, int family) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, addr, addr_len) != 0) fail(kExitIo, "connect to nbdkit: " + errno_text(errno));
    unsigned char greeting[18];
    size_t got = 0;
    while (got < sizeof greeting) {
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, 100);
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            ::close(fd);
            pid = -1;  // reaped: never signalled again
            fail(kExitIo, "nbdkit ended (" + exit_text(status) + ") before it served the image; see its message above");
        }
        if (ready <= 0) continue;
        ssize_t n = ::read(fd, greeting + got, sizeof greeting - got);
        if (n <= 0) {
            ::close(fd);
            fail(kExitIo, "nbdkit closed the connection before its greeting");
        }
        got += static_cast<size_t>(n);
    }
    if (std::memcmp(greeting, "NBDMAGICIHAVEOPT", 16) != 0) fail(kExitIo, "nbdkit's greeting is not NBD's newstyle");
    // Client flags (fixed newstyle, no zeroes: what the server offered), then
    // NBD_OPT_ABORT (2) with no data; the server acknowledges and hangs up.
    unsigned char reply[20] = {0, 0, 0, static_cast<unsigned char>(greeting[17] & 3), 'I', 'H', 'A', 'V', 'E', 'O',
                               'P', 'T', 0, 0, 0, 2, 0, 0, 0, 0};
    if (::write(fd, reply, sizeof reply) == static_cast<ssize_t>(sizeof reply)) {
        char drain[64];
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 2000) > 0 && ::read(fd, drain, sizeof drain) > 0) {
        }
    }
    ::close(fd);
}

// Blocks until Ctrl-C, SIGTERM or SIGHUP (returns) or nbdkit's end (fails).
void wait_for_stop(pid_t& pid, const sigset_t& set) {
    for (;;) {
        siginfo_t info{};
        int sig = ::sigwaitinfo(&set, &info);
        if (sig == SIGCHLD) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                fail(kExitIo, "nbdkit ended (" + exit_text(status) + ") while serving; see its message above");
            }
            continue;
        }
        if (sig > 0) return;
    }
}

// SIGTERM; nbdkit then waits for its clients to hang up, so after 5 s a
// client that stays (an nbdfuse mount left behind) is cut off with SIGKILL
// (nothing is lost: the export is read-only, a cow overlay is thrown away).
void stop_nbdkit(pid_t pid) {
    // A pidfd becomes readable when nbdkit ends: returns as soon as it does
    // (not on the next tick of a polling loop: restore-files.sh waits on it).
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    ::kill(pid, SIGTERM);
    int status = 0;
    bool ended = false;
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
        }
        ::close(pidfd);
        ended = ::waitpid(pid, &status, WNOHANG) == pid;
    } else {  // a kernel before 5.3: a tick of 10 ms
        for (int i = 0; i < 500 && !ended; ++i)
            if (!(ended = ::waitpid(pid, &status, WNOHANG) == pid)) ::usleep(10 * 1000);
    }
    if (ended) return;
    log_warning("nbdkit still serves a client 5 s after SIGTERM: stopping it with SIGKILL");
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace

std::string nbd_unix_uri(const std::string& socket) { return "nbd+unix:///?socket=" + socket; }
std::string nbd_tcp_uri(uint16_t port) { return "nbd://127.0.0.1:" + std::to_string(port) + "/"; }

std::string find_nbdkit_plugin(const std::string& self_exe) {
    if (const char* p = std::getenv("ZADP_NBDKIT_PLUGIN"); p && *p) return p;
    std::string dir = self_exe.substr(0, self_exe.rfind('/'));
    std::string beside = dir + "/../lib/nbdkit/plugins/nbdkit-zadp-plugin.so";
    return is_file(beside) ? beside : "zadp";
}

int serve(const Options& o, const ServeOptions& s, const std::string& arg) {
    std::string name = arg.rfind("repo:", 0) == 0 ? arg.substr(5) : arg;
    repo::validate_name(name);
    if (s.port && !s.tcp) fail(kExitUsage, "--port goes with --tcp");
    if (s.tcp && !s.socket.empty()) fail(kExitUsage, "give --socket or --tcp, not both");
    const uint64_t size = check_image(o, name);
    if (!in_path("nbdkit")) fail(kExitNotFound, "nbdkit is not installed (Debian: apt install nbdkit)");
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string plugin = find_nbdkit_plugin(n > 0 ? std::string(self, static_cast<size_t>(n)) : "");

    // The listener: a Unix socket in a directory only we may enter, unless
    // asked for another path or for TCP on loopback.
    std::string dir, socket = s.socket;
    uint16_t port = s.port;
    int listener;
    if (s.tcp) {
        listener = listen_tcp(port);
    } else {
        if (socket.empty()) {
            const char* tmp = std::getenv("TMPDIR");
            std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/zadp-serve.XXXXXX";
            if (!::mkdtemp(templ.data())) fail(kExitIo, "mkdtemp " + templ + ": " + errno_text(errno));
            dir = templ;
            socket = dir + "/nbd.sock";
        }
        listener = listen_unix(socket);
    }
    auto cleanup = [&] {
        if (!s.tcp) ::unlink(socket.c_str());
        if (!dir.empty()) ::rmdir(dir.c_str());
    };

    std::vector<std::string> args{"nbdkit", "-f", "--exit-with-parent"};
    if (s.cow)
        args.push_back("--filter=cow");
    else
        args.push_back("-r");
    args.insert(args.end(), {plugin, "repo=" + repo::repo_dir_from(o.repo), "image=" + name});
    if (!o.key_file.empty()) args.push_back("key-file=" + o.key_file);
    if (!o.passphrase_file.empty()) args.push_back("passphrase-file=" + o.passphrase_file);
    if (!s.cache.empty()) args.push_back("cache=" + s.cache);

    sigset_t stop_set, old_mask;
    sigemptyset(&stop_set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&stop_set, sig);
    ::sigprocmask(SIG_BLOCK, &stop_set, &old_mask);
    pid_t pid = -1;
    try {
        pid = start_nbdkit(args, listener, old_mask);
        ::close(listener);
        if (s.tcp) {
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            addr.sin_port = htons(port);
            await_server(pid, reinterpret_cast<sockaddr*>(&addr), sizeof addr, AF_INET);
        } else {
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
            await_server(pid, reinterpret_cast<sockaddr*>(&addr), sizeof addr, AF_UNIX);
        }
        std::string uri = s.tcp ? nbd_tcp_uri(port) : nbd_unix_uri(socket);
        if (s.json) {
            boost::json::object line;
            line["uri"] = uri;
            line["name"] = name;
            line["size"] = size;
            if (s.tcp) {
                line["address"] = "127.0.0.1";
                line["port"] = port;
            } else {
                line["socket"] = socket;
            }
            line["read_only"] = !s.cow;
            line["pid"] = pid;
            std::cout << boost::json::serialize(line) << "\n" << std::flush;
        } else {
            std::cout << uri << "\n" << std::flush;
        }
        wait_for_stop(pid, stop_set);
        stop_nbdkit(pid);
    } catch (...) {
        if (pid > 0) stop_nbdkit(pid);
        cleanup();
        throw;
    }
    cleanup();
    return kExitOk;
}

}  // namespace hci::repo_tool
