#include "libcommon/s3/client.h"

#include <curl/curl.h>
#include <strings.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/base/utc_time.h"
#include "libcommon/net/curl_transport.h"
#include "libcommon/s3/xml.h"

namespace hci::s3 {

struct Client::Request {
    std::string op;    // "PUT", "GET", "ListObjectsV2"... for messages
    std::string method;
    std::string key;   // empty: the bucket itself
    Pairs query;
    Pairs headers;     // besides host, x-amz-date, x-amz-content-sha256, token
    const unsigned char* body = nullptr;
    int body_fd = -1;  // a PUT's body read from this file instead (put_file)
    uint64_t body_length = 0;
    std::string payload_sha256;  // computed once, reused by every attempt
    std::vector<unsigned char>* sink = nullptr;  // a GET's body goes here
    int sink_fd = -1;                            // or here (get_to_file)
    unsigned char* sink_buffer = nullptr;        // or here, at most sink_capacity bytes (get_range)
    size_t sink_capacity = 0;
};

struct Client::Response {
    long status = 0;
    std::string body;  // error bodies and XML answers (not a GET's data)
    std::string date, etag, request_id;
    uint64_t content_length = 0;  // of a HEAD's object
    uint64_t body_written = 0;    // a 2xx GET's bytes into sink_buffer or sink_fd
    bool transport_failed = false;
    net::TransportFailure failure;
    // An earlier attempt may have done the work (failed after sending, 5xx):
    // a create-only PUT that then gets 412 may have met its own object.
    bool maybe_done_before = false;
};

namespace {

using Clock = std::chrono::steady_clock;

double steady_seconds() {
    return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

struct Counters {
    std::atomic<uint64_t> get{0}, get_bytes{0}, put{0}, put_bytes{0}, head{0}, list{0}, remove{0}, other{0}, retried{0};
};

Counters& counters() {
    static Counters c;
    return c;
}

void print_stats_at_exit() {
    std::string line = request_stats_json(request_stats()) + "\n";
    (void)!::write(2, line.data(), line.size());
}

bool trace_requests = false;  // ZADP_S3_STATS=2: also one line per request

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        const char* stats = std::getenv("ZADP_S3_STATS");
        if (stats && (std::string(stats) == "1" || std::string(stats) == "2")) std::atexit(print_stats_at_exit);
        trace_requests = stats && std::string(stats) == "2";
    });
}

// Counts one attempt of a request by its kind.
void count_attempt(const std::string& method, bool has_key, uint64_t body_length) {
    auto& c = counters();
    if (method == "GET")
        ++(has_key ? c.get : c.list);
    else if (method == "PUT" && has_key) {
        ++c.put;
        c.put_bytes += body_length;
    } else if (method == "HEAD")
        ++c.head;
    else if (method == "DELETE" || method == "POST")  // POST ?delete: DeleteObjects
        ++c.remove;
    else
        ++c.other;
}

struct Upload {
    const unsigned char* data;  // or, with fd >= 0, from the file at `offset`
    uint64_t left;
    int fd = -1;
    uint64_t offset = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
    auto* u = static_cast<Upload*>(user);
    size_t n = static_cast<size_t>(std::min<uint64_t>(size * count, u->left));
    if (u->fd >= 0) {
        ssize_t got;
        do got = ::pread(u->fd, buffer, n, static_cast<off_t>(u->offset));
        while (got < 0 && errno == EINTR);
        if (got <= 0 && n > 0) return CURL_READFUNC_ABORT;  // the attempt fails; the error names the request
        n = static_cast<size_t>(got);
        u->offset += n;
    } else {
        std::memcpy(buffer, u->data, n);
        u->data += n;
    }
    u->left -= n;
    return n;
}

struct Sinks {
    std::string* text;
    std::vector<unsigned char>* data;  // a 2xx GET's body
    int fd = -1;                       // or this file
    unsigned char* buffer = nullptr;   // or this buffer of `capacity` bytes
    size_t capacity = 0;
    long status = 0;
    uint64_t written = 0;
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
    auto* s = static_cast<Sinks*>(user);
    if (s->fd >= 0 && s->status >= 200 && s->status < 300) {
        for (size_t done = 0; done < size * count;) {
            ssize_t n = ::write(s->fd, data + done, size * count - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return 0;  // curl fails the attempt (CURLE_WRITE_ERROR)
            done += static_cast<size_t>(n);
        }
        s->written += size * count;
    } else if (s->buffer && s->status >= 200 && s->status < 300) {
        if (size * count > s->capacity - s->written) return 0;  // more than the range asked for: fails the attempt
        std::memcpy(s->buffer + s->written, data, size * count);
        s->written += size * count;
    } else if (s->data && s->status >= 200 && s->status < 300)
        s->data->insert(s->data->end(), data, data + size * count);
    else
        s->text->append(data, size * count);
    return size * count;
}

size_t read_header(char* data, size_t size, size_t count, void* user) {
    auto* h = static_cast<Sinks*>(user);
    std::string line(data, size * count);
    // The status line comes first: the body sink needs it (errors are text).
    if (line.starts_with("HTTP/")) {
        auto sp = line.find(' ');
        h->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    }
    return size * count;
}

int64_t parse_http_date(const std::string& text) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) return -1;
    return static_cast<int64_t>(timegm(&tm));
}

std::string unquote(std::string s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
}

// What an S3 error code means for the user, and the exit code it earns.
struct Meaning {
    const char* hint;
    ExitCode code;
};

Meaning meaning_of(const std::string& code, long status) {
    if (code == "NoSuchBucket") return {"no such bucket", kExitNotFound};
    if (code == "NoSuchKey") return {"no such object", kExitNotFound};
    if (code == "InvalidAccessKeyId")
        return {"the access key id is not known here (AWS_ACCESS_KEY_ID, AWS_PROFILE)", kExitApi};
    if (code == "SignatureDoesNotMatch")
        return {"the secret access key does not match the access key id (AWS_SECRET_ACCESS_KEY)", kExitApi};
    if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
        code == "IllegalLocationConstraintException" || code == "InvalidLocationConstraint")
        return {"wrong region? (AWS_REGION)", kExitApi};
    if (code == "RequestTimeTooSkewed")
        return {"clock skew: this host's clock is too far from the server's (check NTP)", kExitApi};
    if (code == "AccessDenied") return {"access denied to these credentials", kExitApi};
    if (code == "XAmzContentSHA256Mismatch" || code == "BadDigest")
        return {"the server received other bytes than were sent", kExitIntegrity};
    if (code == "SlowDown" || status == 503) return {"the server is busy (gave up after the retries)", kExitApi};
    if (code == "InvalidBucketName") return {"not a valid bucket name", kExitUsage};
    return {"", kExitApi};
}

}  // namespace

RequestStats request_stats() {
    auto& c = counters();
    return {c.get, c.get_bytes, c.put, c.put_bytes, c.head, c.list, c.remove, c.other, c.retried};
}

std::string request_stats_json(const RequestStats& s) {
    auto field = [](const char* name, uint64_t v) { return "\"" + std::string(name) + "\":" + std::to_string(v); };
    return "{\"s3_stats\":{" + field("get", s.get) + "," + field("get_bytes", s.get_bytes) + "," + field("put", s.put) +
           "," + field("put_bytes", s.put_bytes) + "," + field("head", s.head) + "," + field("list", s.list) + "," +
           field("delete", s.remove) + "," + field("other", s.other) + "," + field("retried", s.retried) + "}}";
}

bool valid_bucket_name(const std::string& name) {
    if (name.size() < 3 || name.size() > 63) return false;
    for (char c : name)
        if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
              c == '-'))
            return false;
    return std::isalnum(static_cast<unsigned char>(name.front())) && std::isalnum(static_cast<unsigned char>(name.back()));
}

Client::Client(std::string bucket, const Options& options, Credentials credentials)
    : bucket_(std::move(bucket)), options_(options), credentials_(std::move(credentials)),
      endpoint_(parse_endpoint(options.endpoint)) {
    if (!valid_bucket_name(bucket_))
        fail(kExitUsage, "bad S3 bucket name '" + quote_input(bucket_) + "' (3-63 of a-z 0-9 . -)");
    if (options_.region.empty()) fail(kExitUsage, "S3: no region (AWS_REGION)");
    global_init_once();
}

Client::~Client() {
    for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

std::string Client::where(const std::string& key) const {
    return "s3://" + bucket_ + (key.empty() ? "" : "/" + key);
}

uint64_t Client::requests_sent() const {
    std::lock_guard<std::mutex> g(mu_);
    return requests_;
}

void* Client::acquire_handle() {
    {
        std::lock_guard<std::mutex> g(mu_);
        ++requests_;
        if (!idle_.empty()) {
            void* h = idle_.back();
            idle_.pop_back();
            curl_easy_reset(static_cast<CURL*>(h));  // keeps its live connection
            return h;
        }
    }
    CURL* h = curl_easy_init();
    if (!h) fail(kExitApi, "cannot initialise libcurl");
    return h;
}

void Client::release_handle(void* h) {
    std::lock_guard<std::mutex> g(mu_);
    idle_.push_back(h);
}

// A request starts no sooner than 1/rate seconds after the one before.
void Client::pace() {
    if (options_.max_requests_per_second <= 0) return;
    double start;
    {
        std::lock_guard<std::mutex> g(mu_);
        start = std::max(steady_seconds(), next_slot_);
        next_slot_ = start + 1.0 / options_.max_requests_per_second;
    }
    double wait = start - steady_seconds();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
}

std::string Client::url_of(const Request& r, std::string* host, std::string* path) const {
    std::string key_path = r.key.empty() ? "" : "/" + uri_encode(r.key, true);
    if (options_.virtual_hosted) {
        *host = bucket_ + "." + endpoint_.authority();
        *path = key_path.empty() ? "/" : key_path;
    } else {
        *host = endpoint_.authority();
        *path = "/" + bucket_ + key_path;
    }
    std::string url = endpoint_.scheme + "://" + *host + *path;
    if (!r.query.empty()) url += "?" + canonical_query(r.query);
    return url;
}

std::string Client::describe(const Request& r) const {
    return "S3 " + r.op + " " + where(r.key) + " at " + endpoint_.url();
}

Client::Response Client::send_once(Request& r) {
    pace();
    std::string host, path;
    const std::string url = url_of(r, &host, &path);

    SignRequest sign;
    sign.method = r.method;
    sign.path = path;
    sign.query = r.query;
    sign.headers = r.headers;
    sign.payload_sha256 = r.payload_sha256;
    sign.headers.emplace_back("host", host);
    SignScope scope{credentials_.access_key_id, credentials_.secret_access_key, options_.region, "s3",
                    amz_date(static_cast<int64_t>(std::time(nullptr)))};
    sign.headers.emplace_back("x-amz-date", scope.amz_date);
    sign.headers.emplace_back("x-amz-content-sha256", r.payload_sha256);
    if (!credentials_.session_token.empty())
        sign.headers.emplace_back("x-amz-security-token", credentials_.session_token);
    const std::string auth = authorization(sign, scope);

    curl_slist* list = nullptr;
    for (const auto& [name, value] : sign.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
    list = curl_slist_append(list, ("Authorization: " + auth).c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip before a PUT
    if (r.body == nullptr && r.method == "POST") list = curl_slist_append(list, "Content-Type:");

    CURL* curl = static_cast<CURL*>(acquire_handle());
    count_attempt(r.method, !r.key.empty(), r.body_length);
    Response response;
    Sinks sinks{&response.body, r.sink, r.sink_fd, r.sink_buffer, r.sink_capacity};
    const off_t fd_start = r.sink_fd >= 0 ? ::lseek(r.sink_fd, 0, SEEK_CUR) : 0;
    if (r.sink_fd >= 0 && ::ftruncate(r.sink_fd, fd_start) != 0) fail(kExitIo, describe(r) + ": " + errno_text(errno));
    Upload upload{r.body, r.body_length, r.body_fd, 0};
    if (r.sink) r.sink->clear();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    if (r.method == "PUT") {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
        curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body_length));
    } else if (r.method == "POST") {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(r.body));
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body_length));
    } else if (r.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET") {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sinks);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sinks);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
    // A stalled server ends the attempt long before the (large) request timeout.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    net::apply_tls(curl, {options_.insecure, options_.cacert});
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);

    CURLcode code = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // `detail` dies with this call
    curl_slist_free_all(list);
    if (r.sink_fd >= 0 && code != CURLE_OK) ::lseek(r.sink_fd, fd_start, SEEK_SET);  // the next attempt starts over
    if (code != CURLE_OK) {
        response.transport_failed = true;
        response.failure = net::classify_failure(curl, code, detail);
        curl_easy_cleanup(curl);  // its connection is suspect: a fresh handle next time
        return response;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    if (trace_requests) {
        std::string range;
        for (const auto& [name, value] : r.headers)
            if (name == "range") range = " " + value;
        std::string line = "s3: " + r.method + " " + quote_input(r.key, 200) + range + " -> " +
                           std::to_string(response.status) + "\n";
        (void)!::write(2, line.data(), line.size());
    }
    if (r.sink && response.status / 100 == 2) counters().get_bytes += r.sink->size();
    if (r.sink_fd >= 0 || r.sink_buffer) counters().get_bytes += sinks.written;
    response.body_written = sinks.written;
    curl_off_t length = -1;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length > 0)
        response.content_length = static_cast<uint64_t>(length);
    curl_header* h = nullptr;
    if (curl_easy_header(curl, "Date", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) response.date = h->value;
    if (curl_easy_header(curl, "ETag", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) response.etag = unquote(h->value);
    if (curl_easy_header(curl, "x-amz-request-id", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) response.request_id = h->value;
    release_handle(curl);
    return response;
}

Client::Response Client::exchange(Request& r) {
    if (r.payload_sha256.empty()) r.payload_sha256 = sha256_hex(r.body, r.body_length);
    const auto start = Clock::now();
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    bool maybe_done = false;
    for (int attempt = 1;; ++attempt) {
        Response resp = send_once(r);
        resp.maybe_done_before = maybe_done;
        AttemptOutcome outcome;
        std::string error;
        if (resp.transport_failed) {
            const auto& f = resp.failure;
            if (f.kind == net::TransportFailure::kTlsRejected)
                fail(kExitApi, describe(r) + ": TLS certificate check failed: " + f.detail +
                                   (options_.cacert.empty() ? " (--cacert for a private CA)" : ""));
            if (attempt == 1 && !f.unresolved) {
                // https:// against a plain port (or the reverse) fails the same
                // way every time: say so now instead of retrying.
                std::string hint = net::protocol_mismatch(endpoint_.url() + "/", options_.connect_timeout_ms);
                if (!hint.empty()) fail(kExitApi, describe(r) + ": " + hint);
            }
            outcome.kind = f.kind == net::TransportFailure::kNotSent ? AttemptOutcome::kNotSent
                                                                     : AttemptOutcome::kTransportError;
            error = describe(r) + ": " + (f.unresolved ? "the host name does not resolve: " : "") + f.detail;
            maybe_done = maybe_done || f.kind == net::TransportFailure::kFailedAfterSend;
        } else {
            outcome.status = static_cast<int>(resp.status);
            outcome.error_code = xml::text(resp.body, "Code").value_or("");
            if (resp.status < 500 && resp.status != 429) return resp;
            maybe_done = maybe_done || (resp.status >= 500 && resp.status != 503);
            error = describe(r) + ": HTTP " + std::to_string(resp.status) + " " + outcome.error_code;
        }
        // Every request here may be repeated: PUTs of whole objects and
        // deletions are idempotent, and a create-only PUT that meets its own
        // object is told apart by the caller (maybe_done_before).
        const long delay = backoff_delay_ms(options_.retry, attempt, jitter(rng));
        const long elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        if (!is_retryable(outcome, CallKind::kQuery) || !may_retry(options_.retry, attempt, elapsed, delay)) {
            if (!resp.transport_failed) return resp;  // the caller names the status
            fail(kExitApi, error + (attempt > 1 ? " (gave up after " + std::to_string(attempt) + " attempts)" : ""));
        }
        log_warning(error + "; retrying in " + std::to_string(delay) + " ms");
        ++counters().retried;
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
}

void Client::throw_http_error(const Request& r, const Response& resp) const {
    std::string code = xml::text(resp.body, "Code").value_or("");
    Meaning m = meaning_of(code, resp.status);
    std::string line = describe(r) + ": HTTP " + std::to_string(resp.status) + (code.empty() ? "" : " " + code);
    if (*m.hint) line += ": " + std::string(m.hint);
    if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || code == "InvalidLocationConstraint") {
        line += " (this host's AWS_REGION is " + quote_input(options_.region, 40) + ")";
        if (auto region = xml::text(resp.body, "Region")) line += " (the server wants " + quote_input(*region, 40) + ")";
    }
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch") line += "; credentials from " + credentials_.source;
    if (code == "RequestTimeTooSkewed")
        line += "; this host's time is " + utc_now("%a, %d %b %Y %H:%M:%S GMT") +
                (resp.date.empty() ? "" : ", the server's " + resp.date);
    if (!resp.request_id.empty()) line += " [request " + quote_input(resp.request_id, 80) + "]";
    fail(m.code, line);
}

bool Client::put(const std::string& key, const void* data, size_t length, bool create_only,
                 const std::string& sha256_hex) {
    Request r;
    r.body = static_cast<const unsigned char*>(data);
    r.body_length = length;
    r.payload_sha256 = sha256_hex;  // empty: hashed when the request is signed
    return put_request(key, r, create_only, [&] { return md5_hex(data, length); });
}

bool Client::put_file(const std::string& key, int fd, uint64_t length, bool create_only, const std::string& sha256_hex) {
    Request r;
    r.body_fd = fd;
    r.body_length = length;
    r.payload_sha256 = sha256_hex.empty() ? file_sha256_hex(fd, length) : sha256_hex;
    return put_request(key, r, create_only, [&] { return file_md5_hex(fd, length); });
}

bool Client::put_request(const std::string& key, Request& r, bool create_only, const std::function<std::string()>& md5) {
    r.op = create_only ? "create-only PUT" : "PUT";
    r.method = "PUT";
    r.key = key;
    if (r.body_length > kMaxPutSize)
        fail(kExitUsage, describe(r) + ": " + std::to_string(r.body_length) + " bytes, more than one PUT takes (" +
                             std::to_string(kMaxPutSize) + ")");
    if (create_only) r.headers.emplace_back("if-none-match", "*");
    Response resp = exchange(r);
    if (resp.status == 200) return true;
    if (create_only && resp.status == 412) {
        if (!resp.maybe_done_before) return false;
        // An earlier attempt may have stored the object before it failed: if
        // the object holds our bytes it is ours (or an identical writer's,
        // which is the same object).
        auto h = head(key);
        return h && h->size == r.body_length && h->etag == md5();
    }
    throw_http_error(r, resp);
}

std::optional<std::vector<unsigned char>> Client::get(const std::string& key, uint64_t offset, uint64_t length) {
    std::vector<unsigned char> data;
    if (!get_into(key, offset, length, data)) return std::nullopt;
    return data;
}

bool Client::get_into(const std::string& key, uint64_t offset, uint64_t length, std::vector<unsigned char>& out) {
    Request r;
    r.op = "GET";
    r.method = "GET";
    r.key = key;
    out.clear();
    if (length > 0 && length <= (64u << 20)) out.reserve(length);  // no regrowth while it arrives
    r.sink = &out;
    if (offset > 0 || length > 0)
        r.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" +
                                            (length > 0 ? std::to_string(offset + length - 1) : ""));
    Response resp = exchange(r);
    if (resp.status == 200 || resp.status == 206) return true;
    if (resp.status == 416) {  // the range starts past the end
        out.clear();
        return true;
    }
    if (resp.status == 404 && xml::text(resp.body, "Code").value_or("") != "NoSuchBucket") return false;
    throw_http_error(r, resp);
}

std::optional<ObjectHead> Client::head(const std::string& key) {
    Request r;
    r.op = "HEAD";
    r.method = "HEAD";
    r.key = key;
    Response resp = exchange(r);
    // A HEAD answer has no body, so a missing bucket looks like a missing
    // key here: the store checks the bucket when it opens.
    if (resp.status == 404) return std::nullopt;
    if (resp.status != 200) {
        // No body to name the error: a ranged GET of the key gets one.
        Request g;
        g.op = "HEAD";
        g.method = "GET";
        g.key = key;
        g.headers = {{"range", "bytes=0-0"}};
        std::vector<unsigned char> ignored;
        g.sink = &ignored;
        Response again = exchange(g);
        throw_http_error(r, again.status >= 300 ? again : resp);
    }
    return ObjectHead{resp.content_length, resp.etag};
}

void Client::list(const std::string& prefix, const std::function<void(const std::string&, uint64_t)>& visit,
                  int page_size) {
    list(prefix, [&](const Listed& e) { visit(e.key, e.size); }, page_size);
}

std::optional<size_t> Client::get_range(const std::string& key, uint64_t offset, size_t length, unsigned char* out) {
    if (length == 0) return 0;
    Request r;
    r.op = "GET";
    r.method = "GET";
    r.key = key;
    r.sink_buffer = out;
    r.sink_capacity = length;
    r.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
    Response resp = exchange(r);
    if (resp.status == 200 || resp.status == 206) return static_cast<size_t>(resp.body_written);
    if (resp.status == 416) return 0;  // the range starts past the end
    if (resp.status == 404 && xml::text(resp.body, "Code").value_or("") != "NoSuchBucket") return std::nullopt;
    throw_http_error(r, resp);
}

std::optional<ObjectHead> Client::get_to_file(const std::string& key, int fd) {
    Request r;
    r.op = "GET";
    r.method = "GET";
    r.key = key;
    r.sink_fd = fd;
    Response resp = exchange(r);
    if (resp.status == 200) return ObjectHead{resp.content_length, resp.etag};
    if (resp.status == 404 && xml::text(resp.body, "Code").value_or("") != "NoSuchBucket") return std::nullopt;
    throw_http_error(r, resp);
}

void Client::list(const std::string& prefix, const std::function<void(const Listed&)>& visit, int page_size) {
    std::string token;
    for (;;) {
        Request r;
        r.op = "ListObjectsV2 of '" + quote_input(prefix, 100) + "' in";
        r.method = "GET";
        r.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(page_size)}};
        if (!token.empty()) r.query.emplace_back("continuation-token", token);
        Response resp = exchange(r);
        if (resp.status != 200) throw_http_error(r, resp);
        for (auto contents : xml::elements(resp.body, "Contents")) {
            auto key = xml::text(contents, "Key");
            auto size = xml::text(contents, "Size");
            if (!key || !size) fail(kExitApi, describe(r) + ": an entry without Key or Size");
            std::string etag = unquote(xml::text(contents, "ETag").value_or(""));
            visit(Listed{*key, std::strtoull(size->c_str(), nullptr, 10), etag});
        }
        if (xml::text(resp.body, "IsTruncated").value_or("false") != "true") return;
        token = xml::text(resp.body, "NextContinuationToken").value_or("");
        if (token.empty()) fail(kExitApi, describe(r) + ": a truncated page without NextContinuationToken");
    }
}

void Client::remove(const std::string& key) {
    Request r;
    r.op = "DELETE";
    r.method = "DELETE";
    r.key = key;
    Response resp = exchange(r);
    if (resp.status == 204 || resp.status == 200 || resp.status == 404) {
        if (resp.status != 404 || xml::text(resp.body, "Code").value_or("") != "NoSuchBucket") return;
    }
    throw_http_error(r, resp);
}

void Client::remove_many(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    if (keys.size() > 1000) fail(kExitUsage, "S3 DeleteObjects takes at most 1000 keys");
    // Quiet: the answer lists only the keys that could not be deleted.
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
    for (const auto& k : keys) body += "<Object><Key>" + xml::escape(k) + "</Key></Object>";
    body += "</Delete>";
    Request r;
    r.op = "DeleteObjects (" + std::to_string(keys.size()) + " keys) in";
    r.method = "POST";
    r.query = {{"delete", ""}};
    r.headers = {{"content-md5", md5_base64(body.data(), body.size())}, {"content-type", "application/xml"}};
    r.body = reinterpret_cast<const unsigned char*>(body.data());
    r.body_length = body.size();
    Response resp = exchange(r);
    if (resp.status != 200) throw_http_error(r, resp);
    for (auto error : xml::elements(resp.body, "Error")) {
        std::string code = xml::text(error, "Code").value_or("");
        if (code == "NoSuchKey") continue;
        fail(kExitApi, describe(r) + ": " + where(xml::text(error, "Key").value_or("?")) + " was not deleted: " +
                           quote_input(code, 60));
    }
}

bool Client::create_bucket() {
    Request r;
    r.op = "CreateBucket";
    r.method = "PUT";
    std::string body;
    // us-east-1 takes no LocationConstraint (and refuses one).
    if (options_.region != "us-east-1")
        body = "<CreateBucketConfiguration><LocationConstraint>" + xml::escape(options_.region) +
               "</LocationConstraint></CreateBucketConfiguration>";
    r.body = reinterpret_cast<const unsigned char*>(body.data());
    r.body_length = body.size();
    Response resp = exchange(r);
    if (resp.status == 200) return true;
    if (resp.status == 409 && xml::text(resp.body, "Code").value_or("") == "BucketAlreadyOwnedByYou") return false;
    throw_http_error(r, resp);
}

bool Client::bucket_exists() {
    Request r;
    r.op = "ListObjectsV2";
    r.method = "GET";
    r.query = {{"list-type", "2"}, {"max-keys", "0"}};
    Response resp = exchange(r);
    if (resp.status == 200) return true;
    if (resp.status == 404 && xml::text(resp.body, "Code").value_or("") == "NoSuchBucket") return false;
    throw_http_error(r, resp);
}

int64_t Client::server_time() {
    Request r;
    r.op = "ListObjectsV2 (for the server's time)";
    r.method = "GET";
    r.query = {{"list-type", "2"}, {"max-keys", "0"}};
    Response resp = exchange(r);
    if (resp.status != 200) throw_http_error(r, resp);
    int64_t t = parse_http_date(resp.date);
    if (t < 0) fail(kExitApi, describe(r) + ": no usable Date header ('" + quote_input(resp.date, 60) + "')");
    return t;
}

}  // namespace hci::s3
