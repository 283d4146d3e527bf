#include "engine/swarm/identity.h"

#include <utility>

#include <array>
#include <cstdio>

#include "engine/wsd/constants.h"

namespace onvif::swarm {
namespace {

constexpr std::array<std::string_view, 4> kModels = {"SW-1000", "SW-2000", "SW-2000-IR", "SW-4K"};
constexpr std::array<std::string_view, 4> kSites = {"lab", "warehouse", "lobby", "parking"};
constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

}  // namespace

std::uint64_t Mix64(std::uint64_t x) {
  x += kGolden;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

CameraIdentity MakeIdentity(std::uint64_t seed, std::uint32_t index) {
  const std::uint64_t base = Mix64(seed);
  std::uint64_t hi = Mix64(base ^ (static_cast<std::uint64_t>(index) * 2));
  std::uint64_t lo = Mix64(base ^ (static_cast<std::uint64_t>(index) * 2 + 1) ^ hi);
  // RFC 4122 section 4.4: version 4 in bits 12-15 of time_hi, variant 10.
  hi = (hi & ~0xf000ULL) | 0x4000ULL;
  lo = (lo & ~(3ULL << 62)) | (2ULL << 62);
  char uuid[64];
  std::snprintf(uuid, sizeof(uuid), "urn:uuid:%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));

  CameraIdentity camera;
  camera.endpoint = uuid;
  camera.name = "cam-" + std::to_string(index);
  const std::uint64_t pick = Mix64(lo);
  camera.hardware = std::string(kModels[pick % kModels.size()]);
  camera.location = std::string(kSites[(pick >> 8) % kSites.size()]) + "/rack-" + std::to_string(index / 64);
  camera.scopes = {
      "onvif://www.onvif.org/Profile/Streaming",     "onvif://www.onvif.org/type/video_encoder",
      std::string(kScopeName) + camera.name,         std::string(kScopeHardware) + camera.hardware,
      std::string(kScopeLocation) + camera.location,
  };
  return camera;
}

std::vector<wsd::QNameSpec> CameraTypes() {
  return {{std::string(wsd::kNsOnvifNetwork), std::string(wsd::kTypeNetworkVideoTransmitter)},
          {std::string(wsd::kNsOnvifDevice), std::string(wsd::kTypeDevice)}};
}

std::string DeviceServiceXAddr(std::string_view host_port) {
  std::string out = "http://";
  out.append(host_port);
  out.append(kDeviceServicePath);
  return out;
}

wsd::DeviceDescription Describe(const CameraIdentity& camera, std::string_view host_port) {
  return Describe(camera, host_port, CameraTypes());
}

wsd::DeviceDescription Describe(const CameraIdentity& camera, std::string_view host_port,
                                std::vector<wsd::QNameSpec> types) {
  return wsd::DeviceDescription{.endpoint = camera.endpoint,
                                .types = std::move(types),
                                .scopes = camera.scopes,
                                .xaddrs = {DeviceServiceXAddr(host_port)},
                                .metadata_version = 1};
}

}  // namespace onvif::swarm
