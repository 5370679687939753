#include "libcommon/s3/config.h"

#include <fstream>

#include "libcommon/base/error.h"

namespace hci::s3 {
namespace {

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// The keys of one [profile] of an INI file such as ~/.aws/credentials.
bool read_profile(const std::string& path, const std::string& profile, Credentials& c) {
    std::ifstream in(path);
    if (!in) return false;
    bool inside = false, found = false;
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[' && line.back() == ']') {
            inside = trim(line.substr(1, line.size() - 2)) == profile;
            found = found || inside;
            continue;
        }
        auto eq = line.find('=');
        if (!inside || eq == std::string::npos) continue;
        std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if (key == "aws_access_key_id") c.access_key_id = value;
        if (key == "aws_secret_access_key") c.secret_access_key = value;
        if (key == "aws_session_token") c.session_token = value;
    }
    if (!found) fail(kExitUsage, "S3 credentials: " + path + " has no profile [" + profile + "] (AWS_PROFILE)");
    return true;
}

}  // namespace

Credentials load_credentials(const EnvLookup& env) {
    Credentials c;
    auto id = env("AWS_ACCESS_KEY_ID");
    auto secret = env("AWS_SECRET_ACCESS_KEY");
    if (id || secret) {
        if (!id || !secret)
            fail(kExitUsage, std::string("S3 credentials: ") + (id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                                 " is not set, but " + (id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is");
        c.access_key_id = *id;
        c.secret_access_key = *secret;
        c.session_token = env("AWS_SESSION_TOKEN").value_or("");
        c.source = "the environment (AWS_ACCESS_KEY_ID)";
        return c;
    }
    std::string path;
    if (auto file = env("AWS_SHARED_CREDENTIALS_FILE"))
        path = *file;
    else if (auto home = env("HOME"))
        path = *home + "/.aws/credentials";
    const std::string profile = env("AWS_PROFILE").value_or("default");
    if (path.empty() || !read_profile(path, profile, c))
        fail(kExitUsage, "S3 credentials: none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write "
                         "them to " + (path.empty() ? std::string("~/.aws/credentials") : path) +
                         " (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE)");
    c.source = path + " [" + profile + "]";
    if (c.access_key_id.empty() || c.secret_access_key.empty())
        fail(kExitUsage, "S3 credentials: " + c.source + " lacks aws_access_key_id or aws_secret_access_key");
    return c;
}

Endpoint parse_endpoint(const std::string& text) {
    auto bad = [&](const std::string& why) {
        fail(kExitUsage, "bad S3 endpoint '" + quote_input(text) + "': " + why +
                             " (expected http://HOST[:PORT] or https://HOST[:PORT])");
    };
    Endpoint e;
    std::string rest;
    if (text.starts_with("http://")) {
        e.scheme = "http";
        rest = text.substr(7);
    } else if (text.starts_with("https://")) {
        e.scheme = "https";
        rest = text.substr(8);
    } else {
        bad("not http:// or https://");
    }
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.empty()) bad("no host");
    if (rest.find_first_of("/?#@ ") != std::string::npos) bad("a path, query or user info");
    size_t colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
        e.host = rest.substr(0, colon);
        e.port = rest.substr(colon + 1);
        if (e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos || e.port.size() > 5)
            bad("a bad port");
        // curl sends no default port in Host, so neither do we (it is signed).
        if ((e.scheme == "http" && e.port == "80") || (e.scheme == "https" && e.port == "443")) e.port.clear();
    } else {
        e.host = rest;
    }
    if (e.host.empty()) bad("no host");
    return e;
}

Options resolve_options(Options o, const EnvLookup& env) {
    if (o.region.empty()) o.region = env("AWS_REGION").value_or(env("AWS_DEFAULT_REGION").value_or("us-east-1"));
    if (o.endpoint.empty())
        o.endpoint = env("AWS_ENDPOINT_URL").value_or("https://s3." + o.region + ".amazonaws.com");
    return o;
}

}  // namespace hci::s3
