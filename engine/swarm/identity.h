// Deterministic camera identities for the simulated swarm.
//
// Camera i of a swarm with seed S is a pure function of (S, i): the same
// flags give the same cameras on every run and every machine, so a sweep's
// output can be compared across runs, and two swarms with different seeds
// never share an endpoint (checked over 100,000 cameras in
// tests/swarm/identity_test.cc).
//
// The endpoint is a "urn:uuid:" in RFC 4122 version-4 shape (version nibble 4,
// variant bits 10) built from two splitmix64 mixes of (seed, index); it only
// looks random. Scopes are the ONVIF Core "Device discovery" set a typical
// camera advertises: Profile, type, name (cam-<index>), hardware (one of a few
// models, two of which differ only by a suffix so rfc3986 segment matching is
// exercised), location.

#ifndef ONVIF_ENGINE_SWARM_IDENTITY_H_
#define ONVIF_ENGINE_SWARM_IDENTITY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wsd/builder.h"

namespace onvif::swarm {

inline constexpr std::string_view kScopeName = "onvif://www.onvif.org/name/";
inline constexpr std::string_view kScopeHardware = "onvif://www.onvif.org/hardware/";
inline constexpr std::string_view kScopeLocation = "onvif://www.onvif.org/location/";
// The XAddr path every camera serves its device service on.
inline constexpr std::string_view kDeviceServicePath = "/onvif/device_service";

struct CameraIdentity {
  std::string endpoint;             // "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  std::string name;                 // "cam-<index>"
  std::string hardware;             // model, e.g. "SW-2000-IR"
  std::string location;             // e.g. "lab/rack-3"
  std::vector<std::string> scopes;  // full scope URIs, name/hardware/location included
};

// splitmix64's finalizer: a bijection on 64 bits with good avalanche.
std::uint64_t Mix64(std::uint64_t x);

CameraIdentity MakeIdentity(std::uint64_t seed, std::uint32_t index);

// The ONVIF device types every camera has: dn:NetworkVideoTransmitter, tds:Device.
std::vector<wsd::QNameSpec> CameraTypes();

// "http://<host_port>/onvif/device_service"; host_port is "10.0.0.5:80".
std::string DeviceServiceXAddr(std::string_view host_port);

// The description the camera puts into Hello and ProbeMatch, with one XAddr
// on host_port. metadata_version is 1 for every camera.
wsd::DeviceDescription Describe(const CameraIdentity& camera, std::string_view host_port);
// The same with the device types given (onvif-swarm --types).
wsd::DeviceDescription Describe(const CameraIdentity& camera, std::string_view host_port,
                                std::vector<wsd::QNameSpec> types);

}  // namespace onvif::swarm

#endif  // ONVIF_ENGINE_SWARM_IDENTITY_H_
