#pragma once
// A small HTTP client over libcurl: one easy handle per client, reused for
// every request so the connection stays alive across calls.
#include <string>
#include <vector>

namespace hci {

struct HttpSettings {
    long connect_timeout_ms = 10000;
    long total_timeout_ms = 30000;
    bool insecure = false;   // skip TLS verification (--insecure)
    std::string cacert;      // private CA bundle (--cacert)
    bool trace = false;      // log request/response lines at debug level (headers redacted)
};

struct HttpResponse {
    // Transport result: ok, or what went wrong before an HTTP status came back.
    // kTlsRejected: the server's certificate was not trusted (or our CA file
    // could not be used); nothing was sent and trying again cannot help.
    enum Transport { kOk, kNotSent, kFailedAfterSend, kTlsRejected } transport = kOk;
    std::string transport_error;  // curl's detailed text when transport != kOk
    bool unresolved = false;      // the host name did not resolve
    long status = 0;
    std::string body;
    std::string request_id;  // x-tower-request-id, for error messages
    std::string redirect_url;  // Location of a 3xx (never followed: a POST must not change hosts unseen)
};

class HttpClient {
public:
    explicit HttpClient(HttpSettings settings);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // POST a JSON body. Headers are "Name: value"; they are never logged
    // (Authorization carries the token).
    // timeout_ms > 0 replaces total_timeout_ms for this request.
    HttpResponse post_json(const std::string& url, const std::string& body,
                           const std::vector<std::string>& headers, long timeout_ms = 0);

    // After a transport failure: whether the server at url's host and port
    // speaks the other protocol (plain HTTP behind https://, TLS behind
    // http://). A one-line hint naming the URL to use, or empty.
    std::string protocol_mismatch(const std::string& url);

private:
    HttpSettings settings_;
    void* curl_;  // CURL*
};

}  // namespace hci
