#include "libcommon/api/http.h"

#include <algorithm>

#include <curl/curl.h>

#include <algorithm>

#include <strings.h>

#include <mutex>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/net/curl_transport.h"

namespace hci {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

// Keeps only the x-tower-request-id header; other headers are of no use to us.
size_t capture_request_id(char* data, size_t size, size_t count, void* user) {
    std::string line(data, size * count);
    const std::string name = "x-tower-request-id:";
    if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
        std::string value = line.substr(name.size());
        auto begin = value.find_first_not_of(" \t");
        auto end = value.find_last_not_of(" \t\r\n");
        if (begin != std::string::npos) *static_cast<std::string*>(user) = value.substr(begin, end - begin + 1);
    }
    return size * count;
}

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpClient::HttpClient(HttpSettings settings) : settings_(std::move(settings)) {
    global_init_once();
    curl_ = curl_easy_init();
    if (!curl_) fail(kExitApi, "cannot initialise libcurl");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::post_json(const std::string& url, const std::string& body,
                                   const std::vector<std::string>& headers, long timeout_ms) {
    CURL* curl = static_cast<CURL*>(curl_);
    HttpResponse response;
    curl_slist* list = nullptr;
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Accept: application/json");
    list = curl_slist_append(list, "Expect:");
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());

    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, capture_request_id);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.request_id);
    const long total_ms = timeout_ms > 0 ? timeout_ms : settings_.total_timeout_ms;
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(settings_.connect_timeout_ms, total_ms));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    net::apply_tls(curl, {settings_.insecure, settings_.cacert});
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);

    CURLcode code = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // `detail` dies with this call
    curl_slist_free_all(list);
    if (code != CURLE_OK) {
        net::TransportFailure f = net::classify_failure(curl, code, detail);
        response.transport = f.kind == net::TransportFailure::kTlsRejected ? HttpResponse::kTlsRejected
                             : f.kind == net::TransportFailure::kNotSent   ? HttpResponse::kNotSent
                                                                           : HttpResponse::kFailedAfterSend;
        response.transport_error = f.detail;
        response.unresolved = f.unresolved;
        return response;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    const char* location = nullptr;
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
        response.redirect_url = location;
    return response;
}

std::string HttpClient::protocol_mismatch(const std::string& url) {
    return net::protocol_mismatch(url, settings_.connect_timeout_ms);
}

}  // namespace hci
