#pragma once
// Where the API token comes from. The token and the password are secrets:
// they go into the Authorization header or the login body, nowhere else.
#include <string>

#include "libcommon/api/api_options.h"

namespace hci {

struct Credentials {
    enum Source { kNone, kTokenEnv, kTokenFile, kLogin } source = kNone;
    std::string token;     // kTokenEnv, or kTokenFile after reading it
    std::string path;      // kTokenFile
    std::string username;  // kLogin
    std::string password;  // kLogin
};

// Precedence: --token-file, then CLOUDTOWER_TOKEN, then CLOUDTOWER_TOKEN_FILE,
// then CLOUDTOWER_USERNAME + CLOUDTOWER_PASSWORD (login). Reads the token file.
Credentials choose_credentials(const ApiOptions& options, const EnvLookup& env);

// The first line of a token file, trimmed; errors never echo its content.
std::string read_token_file(const std::string& path);

}  // namespace hci
