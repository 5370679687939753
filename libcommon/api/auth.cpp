#include "libcommon/api/auth.h"

#include "libcommon/base/error.h"
#include "libcommon/base/secret_file.h"

namespace hci {

std::string read_token_file(const std::string& path) { return read_secret_file(path, "token file"); }

Credentials choose_credentials(const ApiOptions& options, const EnvLookup& env) {
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
