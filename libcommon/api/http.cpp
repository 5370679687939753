#include "libcommon/api/http.h"

#include <algorithm>

#include <curl/curl.h>

#include <algorithm>

#include <strings.h>

#include <mutex>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

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

// Errors where libcurl never got a request onto the wire.
bool surely_not_sent(CURLcode code) {
    return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
           code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_SSL_CONNECT_ERROR;
}

// TLS failures that are a matter of trust or configuration, not of the
// network: the same call fails the same way, so it is never retried.
// (CURLE_SSL_CONNECT_ERROR is not here: a reset mid-handshake gives it too.)
bool tls_rejected(CURLcode code) {
    return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
           code == CURLE_SSL_ISSUER_ERROR || code == CURLE_SSL_CRL_BADFILE ||
           code == CURLE_SSL_PINNEDPUBKEYNOTMATCH || code == CURLE_SSL_CERTPROBLEM;
}

// curl's detailed message ("SSL certificate problem: unable to get local
// issuer certificate") when it left one, else the generic text of the code.
std::string describe(CURLcode code, const char* detail) {
    return (detail && *detail) ? std::string(detail) : std::string(curl_easy_strerror(code));
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
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, settings_.insecure ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, settings_.insecure ? 0L : 2L);
    if (!settings_.cacert.empty()) {
        // Only the given CA file: libcurl would otherwise also trust its
        // built-in CA directory (/etc/ssl/certs on Debian) beside it.
        curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.cacert.c_str());
        curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
    }
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);

    CURLcode code = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // `detail` dies with this call
    curl_slist_free_all(list);
    if (code != CURLE_OK) {
        long request_size = 0;
        curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
        if (tls_rejected(code))
            response.transport = HttpResponse::kTlsRejected;
        else if (surely_not_sent(code) || request_size == 0)
            response.transport = HttpResponse::kNotSent;
        else
            response.transport = HttpResponse::kFailedAfterSend;
        response.transport_error = describe(code, detail);
        response.unresolved = code == CURLE_COULDNT_RESOLVE_HOST;
        return response;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    const char* location = nullptr;
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
        response.redirect_url = location;
    return response;
}

std::string HttpClient::protocol_mismatch(const std::string& url) {
    const bool https = url.starts_with("https://");
    if (!https && !url.starts_with("http://")) return "";
    const std::string rest = url.substr(https ? 8 : 7);
    CURL* probe = curl_easy_init();
    if (!probe) return "";
    // https:// failed: does a plain HTTP request get an answer? http://
    // failed: does a TLS handshake succeed (trust does not matter here)?
    std::string other = (https ? "http://" : "https://") + rest;
    curl_easy_setopt(probe, CURLOPT_URL, other.c_str());
    curl_easy_setopt(probe, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(probe, CURLOPT_CONNECTTIMEOUT_MS, std::min(settings_.connect_timeout_ms, 3000L));
    curl_easy_setopt(probe, CURLOPT_TIMEOUT_MS, 3000L);
    if (https) {
        curl_easy_setopt(probe, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(probe, CURLOPT_CONNECT_ONLY, 1L);
        curl_easy_setopt(probe, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(probe, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode code = curl_easy_perform(probe);
    long status = 0;
    if (https) curl_easy_getinfo(probe, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(probe);
    if (code != CURLE_OK || (https && status == 0)) return "";
    auto slash = rest.find('/');
    std::string origin = rest.substr(0, slash);
    return https ? "the server does not speak TLS here; did you mean http://" + origin + "?"
                 : "the server speaks TLS here, not plain HTTP; did you mean https://" + origin + "?";
}

}  // namespace hci
