#include "libcommon/api/cloudtower.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "libcommon/api/auth.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string transport_message(const std::string& op, const HttpResponse& r, const std::string& base) {
    if (r.unresolved)
        return op + ": the host name of CloudTower at " + base + " does not resolve (" + r.transport_error +
               "); check CLOUDTOWER_ENDPOINT / --endpoint and DNS";
    return op + ": cannot reach CloudTower at " + base + ": " + r.transport_error;
}

// A TLS failure says what to do about it: which CA file was used, and the
// two ways out.
std::string tls_message(const std::string& op, const HttpResponse& r, const std::string& base,
                        const ApiOptions& options) {
    std::string line = op + ": TLS certificate check failed for CloudTower at " + base + ": " + r.transport_error;
    if (options.cacert.empty())
        line += "; give the CA certificate with --cacert FILE (or CLOUDTOWER_CACERT), "
                "or skip the check with --insecure";
    else
        line += " (CA file " + options.cacert + ")";
    return line;
}

// Typically http:// answered with a redirect to https://. Redirects are not
// followed (a POST with the token must not go elsewhere unseen); the
// endpoint to use instead is the target without /v2/api/<op>.
std::string redirect_hint(const std::string& location) {
    std::string endpoint = location.substr(0, location.find("/v2/api"));
    return "; the server redirects to " + endpoint + ": use that as the endpoint";
}

// A CA file that cannot be read would otherwise surface as a certificate
// error on the first call; say what is wrong before any network traffic.
void check_cacert_readable(const std::string& path) {
    if (path.empty()) return;
    std::ifstream in(path);
    if (!in) fail(kExitUsage, "cannot read the CA file " + path + " (--cacert / CLOUDTOWER_CACERT)");
}

}  // namespace

std::string api_base_url(const std::string& endpoint) {
    if (endpoint.empty())
        fail(kExitUsage, "no CloudTower endpoint: use --endpoint URL or set CLOUDTOWER_ENDPOINT");
    if (!endpoint.starts_with("https://") && !endpoint.starts_with("http://"))
        fail(kExitUsage, "endpoint must start with https:// (or http://): " + endpoint);
    std::string url = endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    const std::string suffix = "/v2/api";
    if (url.size() < suffix.size() || url.compare(url.size() - suffix.size(), suffix.size(), suffix) != 0)
        url += suffix;
    return url;
}

std::string error_code_of(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return "";
    const json::value* code = v.as_object().if_contains("code");
    return code && code->is_string() ? std::string(code->as_string()) : "";
}

std::string format_api_error(const std::string& op, long status, const std::string& body,
                             const std::string& request_id) {
    std::string line = op + ": HTTP " + std::to_string(status) + ": ";
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    const json::object* o = (!ec && v.is_object()) ? &v.as_object() : nullptr;
    const json::value* message = o ? o->if_contains("message") : nullptr;
    if (!message || !message->is_string()) {
        line += body.empty() ? "(empty response)" : quote_input(body);
        if (!request_id.empty()) line += " (request id " + request_id + ")";
        return line;
    }
    line += quote_input(std::string(message->as_string()), 500);
    std::vector<std::string> details;
    if (auto p = o->if_contains("path"); p && p->is_string()) details.push_back("path " + std::string(p->as_string()));
    if (auto c = o->if_contains("code"); c && c->is_string()) details.push_back("code " + std::string(c->as_string()));
    if (auto p = o->if_contains("props"); p && !p->is_null()) details.push_back("props " + quote_input(json::serialize(*p)));
    if (!request_id.empty()) details.push_back("request id " + request_id);
    if (!details.empty()) {
        line += " (";
        for (std::size_t i = 0; i < details.size(); ++i) line += (i ? ", " : "") + details[i];
        line += ")";
    }
    return line;
}

CloudTower::CloudTower(const ApiOptions& options, const EnvLookup& env)
    : options_(options), env_(env), base_(api_base_url(options.endpoint)), rng_(std::random_device{}()) {
    HttpSettings s;
    s.total_timeout_ms = static_cast<long>(options.request_timeout_s * 1000);
    s.connect_timeout_ms = std::min(10000L, s.total_timeout_ms);
    s.insecure = options.insecure;
    s.cacert = options.cacert;
    check_cacert_readable(options.cacert);
    http_ = std::make_unique<HttpClient>(s);
    policy_.max_attempts = options.retries;
    if (options.insecure) log_info("TLS certificate verification is off (--insecure)");
}

CloudTower::~CloudTower() = default;

void CloudTower::ensure_token() {
    if (have_token_) return;
    Credentials c = choose_credentials(options_, env_);
    switch (c.source) {
        case Credentials::kNone:
            fail(kExitUsage,
                 "no credentials: set CLOUDTOWER_TOKEN, CLOUDTOWER_TOKEN_FILE (or --token-file), "
                 "or CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD");
        case Credentials::kTokenEnv:
        case Credentials::kTokenFile:
            token_ = c.token;
            log_debug(c.source == Credentials::kTokenEnv ? "token from CLOUDTOWER_TOKEN"
                                                         : "token from file " + c.path);
            break;
        case Credentials::kLogin: {
            log_info("logging in as " + c.username);
            json::object body{{"username", c.username}, {"password", c.password}, {"source", "LOCAL"}};
            json::value r = call_once_with_retries("login", json::serialize(body), CallKind::kQuery, false);
            const json::value* token = r.is_object() ? r.as_object().if_contains("data") : nullptr;
            token = token && token->is_object() ? token->as_object().if_contains("token") : nullptr;
            if (!token || !token->is_string()) fail(kExitApi, "login: the response has no data.token");
            token_ = std::string(token->as_string());
            break;
        }
    }
    have_token_ = true;
}

void CloudTower::dump_request(const std::string& op, const std::string& body) {
    if (options_.dump_requests.empty() || op == "login") return;  // the login body holds the password
    // pid.sequence-op.json: several tools of one pipeline may share the directory.
    char name[48];
    std::snprintf(name, sizeof name, "%d.%04d-", static_cast<int>(getpid()), ++dump_seq_);
    std::string path = options_.dump_requests + "/" + name + op + ".json";
    std::ofstream out(path);
    out << body << "\n";
    if (!out) log_warning("cannot write request dump " + path);
}

json::value CloudTower::call(const std::string& op, const json::value& body, CallKind kind) {
    ensure_token();
    std::string text = json::serialize(body);
    dump_request(op, text);
    return call_once_with_retries(op, text, kind, true);
}

json::value CloudTower::call_once_with_retries(const std::string& op, const std::string& body, CallKind kind,
                                               bool authorized) {
    const std::string url = base_ + "/" + op;
    std::vector<std::string> headers;
    if (authorized) headers.push_back("Authorization: " + token_);
    const auto start = Clock::now();
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    for (int attempt = 1;; ++attempt) {
        const auto sent_at = Clock::now();
        long time_left_ms = 0;  // 0: no deadline, the usual request timeout
        if (deadline_) {
            time_left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - sent_at).count();
            if (time_left_ms <= 0) throw ApiError(kExitApi, op + ": gave up: the time limit is up", 0, "");
            time_left_ms = std::min(time_left_ms, static_cast<long>(options_.request_timeout_s * 1000));
        }
        HttpResponse r = http_->post_json(url, body, headers, time_left_ms);
        AttemptOutcome outcome;
        std::string error;
        if (r.transport == HttpResponse::kTlsRejected) {
            throw ApiError(kExitApi, tls_message(op, r, base_, options_), 0, "");
        } else if (r.transport == HttpResponse::kNotSent) {
            outcome.kind = AttemptOutcome::kNotSent;
            error = transport_message(op, r, base_);
        } else if (r.transport == HttpResponse::kFailedAfterSend) {
            outcome.kind = AttemptOutcome::kTransportError;
            error = transport_message(op, r, base_);
        }
        if (attempt == 1 && r.transport != HttpResponse::kOk && !r.unresolved) {
            // https:// against a plain port (or the reverse) fails the same way
            // every time: say so now instead of retrying "connection reset".
            std::string hint = http_->protocol_mismatch(url);
            if (!hint.empty()) throw ApiError(kExitApi, op + ": CloudTower at " + base_ + ": " + hint, 0, "");
        }
        if (r.transport == HttpResponse::kOk) {
            log_info("POST " + op + " -> HTTP " + std::to_string(r.status) + " in " +
                     std::to_string(ms_since(sent_at)) + " ms");
            if (r.status >= 200 && r.status < 300) {
                boost::system::error_code ec;
                json::value v = json::parse(r.body, ec);
                if (ec) fail(kExitApi, op + ": the response is not JSON: " + quote_input(r.body));
                return v;
            }
            outcome.status = static_cast<int>(r.status);
            outcome.error_code = error_code_of(r.body);
            error = format_api_error(op, r.status, r.body, r.request_id);
            if (r.status == 401)
                error += authorized ? "; check the token (CLOUDTOWER_TOKEN / --token-file)"
                                    : "; CloudTower refused the user name and password "
                                      "(CLOUDTOWER_USERNAME / CLOUDTOWER_PASSWORD)";
            if (r.status >= 300 && r.status < 400 && !r.redirect_url.empty()) error += redirect_hint(r.redirect_url);
        }
        const long delay = backoff_delay_ms(policy_, attempt, jitter(rng_));
        const bool past_deadline = deadline_ && Clock::now() + std::chrono::milliseconds(delay) >= *deadline_;
        if (!is_retryable(outcome, kind) || !may_retry(policy_, attempt, ms_since(start), delay) || past_deadline) {
            if (is_retryable(outcome, kind) && past_deadline) error += " (gave up: the time limit is up)";
            else if (is_retryable(outcome, kind) && attempt > 1) error += " (gave up after " + std::to_string(attempt) + " attempts)";
            else if (outcome.kind == AttemptOutcome::kTransportError && kind == CallKind::kMutation)
                error += " (not retried: the request may have been executed)";
            throw ApiError(kExitApi, error, outcome.status, outcome.error_code);
        }
        log_warning(error + "; retrying in " + std::to_string(delay) + " ms");
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
}

void CloudTower::query_pages(const std::string& op, const json::value& where,
                             const std::function<void(json::array&)>& on_page) {
    std::string after;
    for (;;) {
        json::object body{{"first", kPageSize}, {"orderBy", "id_ASC"}};
        if (!where.is_null()) body["where"] = where;
        if (!after.empty()) body["after"] = after;
        json::value r = query(op, body);
        if (!r.is_array()) fail(kExitApi, op + ": expected a JSON array in the response");
        json::array& page = r.as_array();
        const std::size_t n = page.size();
        std::string last;
        if (n > 0) {
            const json::value* id = page.back().is_object() ? page.back().as_object().if_contains("id") : nullptr;
            if (!id || !id->is_string()) fail(kExitApi, op + ": an object without id in the response");
            last = std::string(id->as_string());
        }
        on_page(page);
        if (n < static_cast<std::size_t>(kPageSize)) return;
        // A server that ignored `after` would send the same page forever.
        if (last == after) fail(kExitApi, op + ": pagination does not advance (cursor " + after + ")");
        after = last;
    }
}

json::array CloudTower::query_all(const std::string& op, const json::value& where) {
    json::array all;
    query_pages(op, where, [&](json::array& page) {
        for (auto& v : page) all.push_back(std::move(v));
    });
    return all;
}

}  // namespace hci
