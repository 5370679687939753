#include "libcommon/api/auth.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

namespace hci {

std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail(kExitUsage, "cannot read token file " + path + ": " + errno_text(errno));
    std::string token;
    std::getline(in, token);
    const char* blanks = " \t\r\n";
    auto begin = token.find_first_not_of(blanks);
    if (begin == std::string::npos) fail(kExitUsage, "token file " + path + " is empty");
    token = token.substr(begin, token.find_last_not_of(blanks) - begin + 1);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        log_warning("token file " + path + " is readable by everyone; consider chmod 600");
    return token;
}

Credentials choose_credentials(const CommonOptions& options, const EnvLookup& env) {
    Credentials c;
    auto from_file = [&](const std::string& path) {
        c.source = Credentials::kTokenFile;
        c.path = path;
        c.token = read_token_file(path);
        return c;
    };
    if (options.token_file_from_option) return from_file(options.token_file);
    if (auto token = env("CLOUDTOWER_TOKEN")) {
        c.source = Credentials::kTokenEnv;
        c.token = *token;
        return c;
    }
    if (!options.token_file.empty()) return from_file(options.token_file);
    auto user = env("CLOUDTOWER_USERNAME");
    auto password = env("CLOUDTOWER_PASSWORD");
    if (user && password) {
        c.source = Credentials::kLogin;
        c.username = *user;
        c.password = *password;
        return c;
    }
    if (user) fail(kExitUsage, "CLOUDTOWER_USERNAME is set but CLOUDTOWER_PASSWORD is not");
    return c;  // kNone: the caller decides whether an API call needs it
}

}  // namespace hci
