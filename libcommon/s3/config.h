#pragma once
// Where an S3 store is and who we are there, by the AWS conventions users
// already have: AWS_ENDPOINT_URL (or an explicit endpoint), AWS_REGION
// (AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+
// AWS_SESSION_TOKEN), else the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials) at the profile
// AWS_PROFILE (default "default"). Secrets never appear in a message.
#include <string>

#include "libcommon/base/cli.h"
#include "libcommon/net/retry.h"

namespace hci::s3 {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // temporary credentials; empty when none
    std::string source;         // "the environment" or "FILE [profile]", for messages
};

// The credentials by the precedence above; a usage error (exit 2) naming
// the place (never a value) when there are none or they are incomplete.
Credentials load_credentials(const EnvLookup& env = process_env());

struct Endpoint {
    std::string scheme;  // "http" or "https"
    std::string host;    // "127.0.0.1", "s3.eu-west-1.amazonaws.com", "[::1]"
    std::string port;    // "" for the scheme's default
    // "host[:port]" as the Host header carries it.
    std::string authority() const { return port.empty() ? host : host + ":" + port; }
    std::string url() const { return scheme + "://" + authority(); }
};

// "http://127.0.0.1:8080" (a trailing '/' allowed, no path, no user info):
// a usage error naming the text otherwise.
Endpoint parse_endpoint(const std::string& url);

struct Options {
    std::string endpoint;       // empty: AWS_ENDPOINT_URL, else AWS's own for the region
    std::string region;         // empty: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
    bool virtual_hosted = false;  // BUCKET.host/KEY instead of host/BUCKET/KEY
    bool insecure = false;      // skip TLS verification
    std::string cacert;         // private CA bundle
    double max_requests_per_second = 0;  // 0: no limit (providers throttle; PBS users met 403s)
    long connect_timeout_ms = 10000;
    long request_timeout_ms = 600000;  // a 5 GiB PUT at 10 MiB/s is ~9 minutes
    long stall_timeout_s = 60;         // no byte moving for this long ends an attempt
    RetryPolicy retry;
};

// Fills endpoint and region from the environment where they are empty.
Options resolve_options(Options options, const EnvLookup& env = process_env());

}  // namespace hci::s3
