// Watcher: onvif-sweep --watch. Keeps a live device list over time from the
// devices' own announcements (Hello, Bye) and periodic re-probes, and reports
// each change as it happens.
//
// Design note
// -----------
// Create: the interfaces as for a sweep (net::ListInterfaces); per interface
// and IP family (--family; FF02::C with the interface's zone for IPv6) a probe
// socket (net::OpenProbeSocket: Probes and Resolves go out, their
// unicast answers come back) and a listener (net::OpenListenerSocket:
// *:3702 joined to 239.255.255.250 on that interface only, where Hello and
// Bye arrive, and the ProbeMatches of cameras that wrongly multicast them).
// An interface whose probe socket fails is skipped with a warning; one whose
// listener fails (3702 held by a process without SO_REUSEADDR) is still
// probed, with a warning.
// Run: one thread, one event loop for every socket. Announcements are few
// and a re-probe storm is one sweep's worth, so one thread keeps up, and the
// device state (DeviceTracker) needs no lock.
//   - Probe rounds: at the start and then every `reprobe` (+-10% jitter, so
//     watchers started together do not probe in step), each a fresh Probe per
//     interface and variant (a responder answers a MessageID once) sent on the
//     SOAP-over-UDP schedule. Answers to this round and the previous one are
//     accepted; older MessageIDs are forgotten.
//   - A Hello counts only when the device would answer one of our Probes
//     (Types of some variant, and the Scopes), so `--types` means the same
//     as in a sweep; other devices' Hellos are counted `filtered`.
//   - Every message goes through DeviceTracker (AppSequence and
//     MetadataVersion rules, device_tracker.h), which says what is news.
//   - A device found or updated without XAddrs is Resolved on the interface it
//     was heard on (a Resolve and one retransmission); the ResolveMatch fills
//     it in ("updated" via "resolve").
//   - Every second (or a quarter of `expire`, if shorter), devices not heard
//     from for `expire` are reported "gone" via "expired". The default expiry
//     is three re-probe periods: a present device answers every round.
// Ends at `duration` or on Stop(); stats() then has the totals.

#ifndef ONVIF_ENGINE_SWEEP_WATCHER_H_
#define ONVIF_ENGINE_SWEEP_WATCHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/sweep/device_tracker.h"
#include "engine/sweep/result.h"
#include "engine/sweep/sweeper.h"

namespace onvif::sweep {

inline constexpr absl::Duration kDefaultReprobe = absl::Seconds(60);

struct WatchOptions {
  // Interfaces, Probe variants and Scopes, repeat (sends per round), rcvbuf,
  // backend, max_devices, seed and sys as for a sweep. A watch has no
  // timeout, quiet period, targets, threads or callbacks of a sweep: Create
  // rejects targets; the rest is ignored.
  SweepOptions sweep;
  // Between Probe rounds (jittered +-10%); InfiniteDuration: one round at the
  // start only.
  absl::Duration reprobe = kDefaultReprobe;
  // A present device not heard from for this long is gone. Zero: three
  // reprobe periods (never when reprobe is infinite); InfiniteDuration: never.
  absl::Duration expire = absl::ZeroDuration();
  // How long Run watches; InfiniteDuration: until Stop().
  absl::Duration duration = absl::InfiniteDuration();
  // Every change, on the watch's thread, as it happens: keep it short.
  std::function<void(Change, Via, const DeviceInfo&)> on_event;
};

struct WatchStats {
  std::int64_t elapsed_ms = 0;
  std::string backend;
  std::uint64_t rounds = 0;        // Probe rounds started
  std::uint64_t hellos = 0;        // Hello messages received
  std::uint64_t byes = 0;          // Bye messages received
  std::size_t present = 0;         // devices present at the end
  TrackerCounters tracker;         // found / updated / gone / stale / duplicates ...
  std::vector<InterfaceStats> interfaces;  // probe and listener counters together
};

class Watcher {
 public:
  // Errors as Sweeper::Create; InvalidArgument for targets, a non-positive
  // reprobe, expire or duration.
  static absl::StatusOr<std::unique_ptr<Watcher>> Create(WatchOptions options);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  const std::vector<std::string>& warnings() const { return warnings_; }
  std::vector<std::string> interface_names() const;

  // Watches until `duration` or Stop(). Once.
  absl::StatusOr<WatchStats> Run();
  // Ends Run soon; thread-safe (e.g. from a signal thread), also before Run.
  void Stop();
  // Present devices right now (thread-safe).
  std::size_t present() const { return present_.load(std::memory_order_relaxed); }

 private:
  struct Interface;
  struct Impl;
  explicit Watcher(WatchOptions options);

  WatchOptions options_;
  std::vector<std::string> warnings_;
  std::vector<std::unique_ptr<Interface>> interfaces_;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::size_t> present_{0};
  bool ran_ = false;
};

}  // namespace onvif::sweep

#endif  // ONVIF_ENGINE_SWEEP_WATCHER_H_
