#pragma once
// The libcurl rules the CloudTower client and the S3 client share: how TLS
// is verified, how a failed transfer is classified for the retry policy, and
// the hint when a URL speaks the wrong protocol for its port.
#include <string>

namespace hci::net {

struct TlsSettings {
    bool insecure = false;  // skip TLS verification (--insecure)
    std::string cacert;     // private CA bundle (--cacert): then only it is trusted
};

// Sets the TLS options of `curl` (a CURL*): verified peer and host unless
// insecure; with a CA file only that file, not libcurl's CA directory too.
void apply_tls(void* curl, const TlsSettings& tls);

// What went wrong before an HTTP status came back.
struct TransportFailure {
    // kNotSent: the request surely never left (refused, DNS, TLS connect).
    // kFailedAfterSend: maybe sent (timeout, reset): repeating may duplicate.
    // kTlsRejected: the certificate was not trusted or our CA file unusable:
    // the same call fails the same way, so it is never retried.
    enum Kind { kNotSent, kFailedAfterSend, kTlsRejected } kind = kNotSent;
    std::string detail;  // curl's detailed text
    bool unresolved = false;  // the host name did not resolve
};

// Classifies the CURLcode `code` of a failed curl_easy_perform on `curl`
// (`detail` is its CURLOPT_ERRORBUFFER, may be empty).
TransportFailure classify_failure(void* curl, int code, const char* detail);

// After a transport failure: whether the server at url's host and port
// speaks the other protocol (plain HTTP behind https://, TLS behind http://).
// A one-line hint naming the URL to use, or empty.
std::string protocol_mismatch(const std::string& url, long connect_timeout_ms);

}  // namespace hci::net
