#include "libsim/ids.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace sim {
namespace {

std::mt19937_64& rng() {
    static std::mt19937_64 gen{std::random_device{}()};
    return gen;
}

std::string base36(std::uint64_t v, std::size_t width) {
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s(width, '0');
    for (std::size_t i = width; i-- > 0;) {
        s[i] = digits[v % 36];
        v /= 36;
    }
    return s;
}

}  // namespace

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string new_cuid() {
    static std::uint64_t counter = 0;
    static std::int64_t last_ms = 0;
    std::int64_t ms = now_ms();
    if (ms < last_ms) ms = last_ms;  // keep ids monotonic across clock steps
    last_ms = ms;
    return "cl" + base36(static_cast<std::uint64_t>(ms), 9) + base36(counter++ % (36ull * 36 * 36 * 36), 4) +
           base36(rng()() % (36ull * 36 * 36 * 36 * 36 * 36 * 36 * 36), 8);
}

std::string new_uuid() {
    std::uint64_t a = rng()(), b = rng()();
    a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;
    b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", unsigned(a >> 32), unsigned((a >> 16) & 0xffff),
                  unsigned(a & 0xffff), unsigned(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffull));
    return buf;
}

std::string iso_time(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
    return buf;
}

}  // namespace sim
