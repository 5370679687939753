#include "libcommon/net/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>

namespace hci::net {
namespace {

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

}  // namespace

void apply_tls(void* handle, const TlsSettings& tls) {
    CURL* curl = static_cast<CURL*>(handle);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls.insecure ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls.insecure ? 0L : 2L);
    if (!tls.cacert.empty()) {
        // Only the given CA file: libcurl would otherwise also trust its
        // built-in CA directory (/etc/ssl/certs on Debian) beside it.
        curl_easy_setopt(curl, CURLOPT_CAINFO, tls.cacert.c_str());
        curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
    }
}

TransportFailure classify_failure(void* handle, int code_int, const char* detail) {
    CURL* curl = static_cast<CURL*>(handle);
    const auto code = static_cast<CURLcode>(code_int);
    TransportFailure f;
    long request_size = 0;
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
    if (tls_rejected(code))
        f.kind = TransportFailure::kTlsRejected;
    else if (surely_not_sent(code) || request_size == 0)
        f.kind = TransportFailure::kNotSent;
    else
        f.kind = TransportFailure::kFailedAfterSend;
    // curl's detailed message ("SSL certificate problem: unable to get local
    // issuer certificate") when it left one, else the generic text of the code.
    f.detail = (detail && *detail) ? std::string(detail) : std::string(curl_easy_strerror(code));
    f.unresolved = code == CURLE_COULDNT_RESOLVE_HOST;
    return f;
}

std::string protocol_mismatch(const std::string& url, long connect_timeout_ms) {
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
    curl_easy_setopt(probe, CURLOPT_CONNECTTIMEOUT_MS, std::min(connect_timeout_ms, 3000L));
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

}  // namespace hci::net
