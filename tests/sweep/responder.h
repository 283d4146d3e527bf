// A tiny WS-Discovery responder for the sweep's end-to-end tests: a thread
// that enters a lab camera namespace (lab::RunInNetns), joins
// 239.255.255.250:3702 on one interface and answers every Probe with N
// ProbeMatches built by engine/wsd's builder. Bounded: it stops when
// destroyed or after 15 s.

#ifndef ONVIF_TESTS_SWEEP_RESPONDER_H_
#define ONVIF_TESTS_SWEEP_RESPONDER_H_

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/unique_fd.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/scanner.h"
#include "tests/lab/lab.h"

namespace onvif::sweep::testing {

inline std::string CameraEndpoint(int nic, int k) {
  return absl::StrCat("urn:uuid:00000000-0000-4000-8000-", 100000000000 + nic * 1000 + k);
}

// A tiny WS-Discovery responder: on `ifname` in the current namespace, joins
// 239.255.255.250:3702, and answers every Probe it receives with `cameras`
// ProbeMatches datagrams (one camera each), unicast to the prober. With
// `wrong_relates_to` the RelatesTo names another message. Runs until `stop`
// or 15 s, whichever is first.
struct ResponderConfig {
  int nic = 0;
  std::string ifname;
  int cameras = 1;
  bool wrong_relates_to = false;
};

class Responder {
 public:
  Responder(std::string netns, ResponderConfig config)
      : netns_(std::move(netns)), config_(std::move(config)) {
    thread_ = std::thread([this] {
      absl::Status status = lab::RunInNetns(netns_, [this] { Serve(); });
      if (!status.ok()) error_ = std::string(status.message());
      ready_ = true;  // unblock a waiter even on failure
    });
  }
  ~Responder() {
    stop_ = true;
    thread_.join();
  }
  // Waits until the socket is bound and joined.
  bool WaitReady() {
    for (int i = 0; i < 500 && !ready_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ready_ && error_.empty();
  }
  const std::string& error() const { return error_; }
  int probes() const { return probes_; }

 private:
  void Serve() {
    base::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in bind_address{};
    bind_address.sin_family = AF_INET;
    bind_address.sin_port = htons(3702);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&bind_address), sizeof bind_address) != 0) {
      error_ = absl::StrCat("bind: ", strerror(errno));
      return;
    }
    ip_mreqn membership{};
    inet_pton(AF_INET, "239.255.255.250", &membership.imr_multiaddr);
    membership.imr_ifindex = static_cast<int>(if_nametoindex(config_.ifname.c_str()));
    if (setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
      error_ = absl::StrCat("IP_ADD_MEMBERSHIP on ", config_.ifname, ": ", strerror(errno));
      return;
    }
    std::vector<wsd::DeviceDescription> cams;
    for (int k = 0; k < config_.cameras; ++k) {
      wsd::DeviceDescription d;
      d.endpoint = CameraEndpoint(config_.nic, k);
      d.types = {{"http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter"}};
      d.scopes = {absl::StrCat("onvif://www.onvif.org/name/cam%20", config_.nic, "-", k),
                  "onvif://www.onvif.org/hardware/LabCam"};
      d.xaddrs = {absl::StrCat("http://10.77.", config_.nic, ".2/onvif/device_service")};
      d.metadata_version = 1;
      cams.push_back(std::move(d));
    }
    ready_ = true;
    wsd::Scanner scanner;
    std::string buffer(65536, '\0');
    std::uint64_t message_number = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd.get(), POLLIN, 0};
      if (poll(&pfd, 1, 50) <= 0) continue;
      sockaddr_in peer{};
      socklen_t peer_length = sizeof peer;
      const ssize_t n = recvfrom(fd.get(), buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&peer), &peer_length);
      if (n <= 0) continue;
      if (!scanner.Scan(std::string_view(buffer.data(), n)).ok()) continue;
      const wsd::Envelope& envelope = scanner.envelope();
      if (envelope.kind != wsd::MessageKind::kProbe || envelope.message_id.needs_decoding) continue;
      ++probes_;
      const std::string relates_to = config_.wrong_relates_to
                                         ? std::string("urn:uuid:99999999-9999-4999-8999-999999999999")
                                         : std::string(envelope.message_id.raw);
      for (const wsd::DeviceDescription& cam : cams) {
        // Own MessageIDs: wsd::NewMessageId's pool-seeded BitGen lives in the
        // prebuilt (not TSan-instrumented) abseil, which TSan runs misreport.
        ++message_number;
        const std::string message_id = absl::StrCat(
            "urn:uuid:", 10000000 + config_.nic, "-0000-4000-8000-", 100000000000 + message_number);
        const std::string reply = wsd::BuildProbeMatches(
            message_id, relates_to, {.instance_id = 1, .message_number = message_number}, {&cam, 1});
        sendto(fd.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer),
               peer_length);
      }
    }
  }

  std::string netns_;
  ResponderConfig config_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> probes_{0};
  std::string error_;
  std::thread thread_;
};

}  // namespace onvif::sweep::testing

#endif  // ONVIF_TESTS_SWEEP_RESPONDER_H_
