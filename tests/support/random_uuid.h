// Random "urn:uuid:" endpoint addresses shaped like real ones (version 4,
// RFC 4122 variant), for tests and benchmarks of the seen-table.

#ifndef ONVIF_TESTS_SUPPORT_RANDOM_UUID_H_
#define ONVIF_TESTS_SUPPORT_RANDOM_UUID_H_

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace onvif::testing {

inline std::string RandomUrnUuid(std::mt19937_64& rng) {
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "urn:uuid:%08x-%04x-4%03x-a%03x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>(a >> 16) & 0xffffu,
                static_cast<unsigned>(a) & 0xfffu, static_cast<unsigned>(b >> 48) & 0xfffu,
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buffer;
}

}  // namespace onvif::testing

#endif  // ONVIF_TESTS_SUPPORT_RANDOM_UUID_H_
