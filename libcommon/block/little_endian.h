#pragma once
// Field access for the little-endian on-disk formats (zadp-stream(5),
// zadp-repo(5)): one spelling for the stream codec and the repository's.
#include <boost/endian/conversion.hpp>
#include <cstdint>

namespace hci::little_endian {

inline void put32(unsigned char* p, uint32_t v) { boost::endian::store_little_u32(p, v); }
inline void put64(unsigned char* p, uint64_t v) { boost::endian::store_little_u64(p, v); }
inline uint32_t get32(const unsigned char* p) { return boost::endian::load_little_u32(p); }
inline uint64_t get64(const unsigned char* p) { return boost::endian::load_little_u64(p); }

}  // namespace hci::little_endian
