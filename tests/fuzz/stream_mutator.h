#pragma once
// Seeded, structure-aware mutations of zadp block streams, each with the
// verdict a correct decoder must reach: bit flips, truncations, appended
// bytes, splices of two streams, reordered, dropped and repeated records,
// and field overwrites whose checksums are recomputed (so the check behind
// the checksum is what gets tested). Some mutations keep the stream valid
// (a record cut in two, another identity, a smaller block size that still
// fits every record): the decoder must then accept it with the same image.
//
// Byte layout from zadp-stream(5); checksums with libxxhash directly, not
// with the codec under test.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace hci::fuzz {

// A valid stream and the image it carries.
struct Sample {
    std::string bytes;
    std::string image;
};

struct Expected {
    enum Kind {
        kReject,        // the decoder must reject it (integrity error)
        kAccept,        // the decoder must accept it, with `image`
        kRejectOrSame,  // either, but accepted only with `image`
    } kind = kReject;
    std::string image;
};

struct Case {
    std::string bytes;
    Expected expected;
    const char* mutation = "";
};

inline uint64_t get_le(const std::string& s, size_t at, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

inline void put_le(std::string& s, size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

// Where the pieces of a valid stream are.
struct Piece {
    size_t start = 0, end = 0;
    std::string tag;  // "DATA", "ZERO", "TRLR"
};

struct Layout {
    size_t header_end = 0;  // header including its checksum
    std::vector<Piece> records;  // the last is the trailer
};

inline Layout layout_of(const std::string& s) {
    Layout l;
    l.header_end = 32 + get_le(s, 28, 4) + 8;
    size_t pos = l.header_end;
    while (pos + 32 <= s.size()) {
        Piece p{pos, 0, s.substr(pos, 4)};
        uint64_t length = get_le(s, pos + 16, 8);
        p.end = pos + 32 + (p.tag == "ZERO" ? 0 : length);
        l.records.push_back(p);
        pos = p.end;
    }
    return l;
}

// Rewrites the checksum of the header, or of the record (or trailer) starting at `start`.
inline void fix_header_checksum(std::string& s) {
    size_t end = 32 + get_le(s, 28, 4);
    put_le(s, end, XXH3_64bits(s.data(), end), 8);
}

inline void fix_record_checksum(std::string& s, size_t start, size_t payload_length) {
    std::string summed = s.substr(start, 24) + s.substr(start + 32, payload_length);
    put_le(s, start + 24, XXH3_64bits(summed.data(), summed.size()), 8);
}

inline std::string make_record(const char* tag, uint64_t offset, uint64_t length, const std::string& payload) {
    std::string r(32, '\0');
    r.replace(0, 4, tag, 4);
    put_le(r, 8, offset, 8);
    put_le(r, 16, length, 8);
    r += payload;
    fix_record_checksum(r, 0, payload.size());
    return r;
}

class StreamMutator {
public:
    explicit StreamMutator(uint64_t seed) : rng_(seed) {}

    // One mutation of `a` (`b` is a second valid stream, for splices).
    Case mutate(const Sample& a, const Sample& b) {
        switch (below(10)) {
            case 0: return flip_bits(a);
            case 1: return truncate(a);
            case 2: return append(a);
            case 3: return splice(a, b);
            case 4: return shuffle_records(a);
            case 5: return overwrite_header_field(a);
            case 6: return overwrite_record_field(a);
            case 7: return overwrite_trailer_field(a);
            case 8: return recut_record(a);
            default: return new_identity(a);
        }
    }

    uint64_t below(uint64_t n) { return n ? std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_) : 0; }

private:
    static Case reject(std::string bytes, const char* what) { return {std::move(bytes), {Expected::kReject, {}}, what}; }
    static Case accept(std::string bytes, const Sample& as, const char* what) {
        return {std::move(bytes), {Expected::kAccept, as.image}, what};
    }

    Case flip_bits(const Sample& a) {
        std::string s = a.bytes;
        for (uint64_t n = 1 + below(4); n > 0; --n) s[below(s.size())] ^= static_cast<char>(1u << below(8));
        // Two flips of one bit cancel out.
        return s == a.bytes ? accept(s, a, "bit flip") : reject(s, "bit flip");
    }

    Case truncate(const Sample& a) { return reject(a.bytes.substr(0, below(a.bytes.size())), "truncation"); }

    Case append(const Sample& a) {
        std::string tail;
        Layout l = layout_of(a.bytes);
        if (below(2)) {
            const Piece& p = l.records[below(l.records.size())];
            tail = a.bytes.substr(p.start, p.end - p.start);
        } else {
            for (uint64_t n = 1 + below(64); n > 0; --n) tail += static_cast<char>(below(256));
        }
        return reject(a.bytes + tail, "appended bytes");
    }

    // a's first part joined to b's last part, often at record boundaries.
    Case splice(const Sample& a, const Sample& b) {
        size_t i = boundary_or_any(a.bytes), j = boundary_or_any(b.bytes);
        std::string s = a.bytes.substr(0, i) + b.bytes.substr(j);
        if (s == a.bytes) return accept(s, a, "splice");
        if (s == b.bytes) return accept(s, b, "splice");
        return reject(s, "splice");
    }

    size_t boundary_or_any(const std::string& s) {
        if (below(2)) return below(s.size() + 1);
        Layout l = layout_of(s);
        std::vector<size_t> cuts{0, l.header_end, s.size()};
        for (const Piece& p : l.records) cuts.push_back(p.start);
        return cuts[below(cuts.size())];
    }

    // Two records swapped, one dropped or one repeated.
    Case shuffle_records(const Sample& a) {
        Layout l = layout_of(a.bytes);
        std::vector<std::string> pieces;
        for (const Piece& p : l.records) pieces.push_back(a.bytes.substr(p.start, p.end - p.start));
        size_t x = below(pieces.size()), y = below(pieces.size());
        switch (below(3)) {
            case 0:
                if (x == y) y = (x + 1) % pieces.size();
                std::swap(pieces[x], pieces[y]);
                break;
            case 1: pieces.erase(pieces.begin() + static_cast<long>(x)); break;
            default: pieces.insert(pieces.begin() + static_cast<long>(x), pieces[x]); break;
        }
        std::string s = a.bytes.substr(0, l.header_end);
        for (const std::string& p : pieces) s += p;
        return s == a.bytes ? accept(s, a, "record shuffle") : reject(s, "record shuffle");
    }

    uint64_t interesting(uint64_t old, uint64_t block) {
        switch (below(10)) {
            case 0: return 0;
            case 1: return old + 1;
            case 2: return old - 1;
            case 3: return old + block;
            case 4: return old - block;
            case 5: return old * 2;
            case 6: return (uint64_t{1} << 63) - 1;
            case 7: return uint64_t{1} << 63;
            case 8: return ~uint64_t{0};
            default: return rng_();
        }
    }

    // version, flags, size or block size, header checksum recomputed.
    Case overwrite_header_field(const Sample& a) {
        std::string s = a.bytes;
        static const struct { size_t at; int width; } fields[] = {{8, 4}, {12, 4}, {16, 8}, {24, 4}};
        auto f = fields[below(4)];
        uint64_t old = get_le(s, f.at, f.width);
        uint64_t value = f.at == 24 && below(2) ? uint64_t{1} << (8 + below(14)) : interesting(old, 4096);
        if (f.width == 4) value &= 0xffffffffu;
        put_le(s, f.at, value, f.width);
        fix_header_checksum(s);
        if (value == old) return accept(s, a, "header field");
        if (f.at == 24 && block_size_fits(a, value)) return accept(s, a, "header block size");
        return reject(s, "header field");
    }

    // A smaller block size is still right when every record is aligned to it.
    static bool block_size_fits(const Sample& a, uint64_t block) {
        if (block < 512 || block > (1u << 20) || (block & (block - 1))) return false;
        uint64_t size = get_le(a.bytes, 16, 8);
        for (const Piece& p : layout_of(a.bytes).records) {
            if (p.tag == "TRLR") continue;
            uint64_t offset = get_le(a.bytes, p.start + 8, 8), end = offset + get_le(a.bytes, p.start + 16, 8);
            if (offset % block || (end % block && end != size)) return false;
        }
        return true;
    }

    // tag, reserved, offset, length or a payload byte of a DATA/ZERO record,
    // its checksum recomputed.
    Case overwrite_record_field(const Sample& a) {
        Layout l = layout_of(a.bytes);
        if (l.records.size() < 2) return truncate(a);
        const Piece& p = l.records[below(l.records.size() - 1)];
        std::string s = a.bytes;
        size_t payload = p.end - p.start - 32;
        switch (below(payload ? 5 : 4)) {
            case 0: s.replace(p.start, 4, below(2) ? (p.tag == "DATA" ? "ZERO" : "DATA") : "TRLR"); break;
            case 1: put_le(s, p.start + 4, 1u << below(32), 4); break;
            case 2: put_le(s, p.start + 8, interesting(get_le(s, p.start + 8, 8), 4096), 8); break;
            case 3: put_le(s, p.start + 16, interesting(get_le(s, p.start + 16, 8), 4096), 8); break;
            default: s[p.start + 32 + below(payload)] ^= static_cast<char>(1 + below(255)); break;
        }
        fix_record_checksum(s, p.start, payload);
        return s == a.bytes ? accept(s, a, "record field") : reject(s, "record field");
    }

    // offset, length, a count or a digest byte of the trailer, checksum recomputed.
    Case overwrite_trailer_field(const Sample& a) {
        Layout l = layout_of(a.bytes);
        const Piece& t = l.records.back();
        std::string s = a.bytes;
        size_t at = below(2) ? t.start + 8 + 8 * below(2) : t.start + 32 + 8 * below(6);
        put_le(s, at, interesting(get_le(s, at, 8), 1), 8);
        fix_record_checksum(s, t.start, 48);
        return s == a.bytes ? accept(s, a, "trailer field") : reject(s, "trailer field");
    }

    // A DATA or ZERO record cut in two at a block boundary, or two adjacent
    // ones of a kind merged; the trailer's counts follow. The image is the same.
    Case recut_record(const Sample& a) {
        Layout l = layout_of(a.bytes);
        uint64_t block = get_le(a.bytes, 24, 4);
        std::string s = a.bytes.substr(0, l.header_end);
        int64_t extra = 0;
        size_t target = below(l.records.size());
        bool merge = below(2);
        std::string kind;
        for (size_t i = 0; i + 1 < l.records.size(); ++i) {
            const Piece& p = l.records[i];
            std::string piece = a.bytes.substr(p.start, p.end - p.start);
            uint64_t offset = get_le(piece, 8, 8), length = get_le(piece, 16, 8);
            std::string payload = piece.substr(32);
            const Piece* n = i + 2 < l.records.size() ? &l.records[i + 1] : nullptr;
            if (i == target && merge && n && n->tag == p.tag &&
                (p.tag == "ZERO" || length + (n->end - n->start - 32) <= (16u << 20))) {
                std::string next = a.bytes.substr(n->start, n->end - n->start);
                s += make_record(p.tag.c_str(), offset, length + get_le(next, 16, 8), payload + next.substr(32));
                extra = -1, kind = p.tag, ++i;
            } else if (i == target && !merge && length > block) {
                uint64_t cut = block * (1 + below((length - 1) / block));
                std::string first = p.tag == "DATA" ? payload.substr(0, cut) : "";
                std::string second = p.tag == "DATA" ? payload.substr(cut) : "";
                s += make_record(p.tag.c_str(), offset, cut, first) +
                     make_record(p.tag.c_str(), offset + cut, length - cut, second);
                extra = 1, kind = p.tag;
            } else {
                s += piece;
            }
        }
        std::string trailer = a.bytes.substr(l.records.back().start);
        if (extra) {
            size_t count_at = 32 + (kind == "DATA" ? 0 : 8);
            put_le(trailer, count_at, get_le(trailer, count_at, 8) + static_cast<uint64_t>(extra), 8);
            fix_record_checksum(trailer, 0, 48);
        }
        return accept(s + trailer, a, "record recut");
    }

    // Another identity: a valid JSON object is fine, anything else is not.
    Case new_identity(const Sample& a) {
        static const char* identities[] = {"{}", R"({"vm":{"id":"v1"},"disk":null})", "{\"x\":\"\xc3\xa9\"}",
                                           "[]", "{", "null", "{\"x\":\"\xff\"}", "{}{}"};
        size_t pick = below(8);
        std::string id = identities[pick];
        Layout l = layout_of(a.bytes);
        std::string s = a.bytes.substr(0, 28) + std::string(4, '\0') + id + std::string(8, '\0');
        put_le(s, 28, id.size(), 4);
        fix_header_checksum(s);
        s += a.bytes.substr(l.header_end);
        return pick < 3 ? accept(s, a, "identity") : reject(s, "identity");
    }

    std::mt19937_64 rng_;
};

}  // namespace hci::fuzz
