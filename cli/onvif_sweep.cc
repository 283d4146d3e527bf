// onvif-sweep: finds the ONVIF cameras (WS-Discovery Target Services) on
// every interface of this host at once and prints one deduplicated list.
//
// Thin by design (STYLE.md): flags in, engine/sweep does the work, printing
// out. Flags are absl flags, parsed here with absl's flag reflection so that
// every usage error exits 2 (absl::ParseCommandLine exits 1) and --iface,
// --exclude and --scopes can be repeated (absl keeps only the last value).
//
// Exit status: 0 after a sweep; 2 on bad flags or when no interface can be
// used; 3 when --expect N was given and fewer devices were found; 1 when the
// sweep itself failed.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "engine/net/interfaces.h"
#include "engine/sweep/output.h"
#include "engine/sweep/probe_variants.h"
#include "engine/sweep/sweeper.h"
#include "engine/sweep/targets.h"
#include "engine/sweep/watcher.h"

ABSL_FLAG(std::vector<std::string>, iface, {},
          "Interface to sweep (repeatable, or comma-separated). Default: every interface "
          "that is up, has carrier, is multicast-capable and has an address of a --family; "
          "loopback only when named.");
ABSL_FLAG(std::string, family, "both",
          "v4, v6 or both: the IP families to probe in. Each interface is probed in each "
          "family it has an address for, IPv4 on 239.255.255.250, IPv6 on [ff02::c] from its "
          "link-local address; a device reached over both is listed once. IPv6 link-local "
          "XAddrs come out with this host's zone (http://[fe80::1%25eth0]/...).");
ABSL_FLAG(std::vector<std::string>, exclude, {},
          "Interface not to sweep (repeatable, or comma-separated).");
ABSL_FLAG(std::string, target, "",
          "Directed Probes: an IPv4 or IPv6 address or CIDR (repeatable, or comma-separated; "
          "a link-local IPv6 one with its zone, fe80::5%eth0), probed unicast on port 3702, "
          "for subnets multicast does not reach. Each is sent twice "
          "(SOAP-over-UDP) unless it answered the first. With --target and no --iface no "
          "multicast is sent.");
ABSL_FLAG(int32_t, rate, 1000,
          "Directed Probes per second, all targets together, 1..1000000; --timeout grows to "
          "fit them unless given.");
ABSL_FLAG(std::string, types, "",
          "One Probe per --types (repeatable), with every QName it lists (comma-separated): "
          "dn:NetworkVideoTransmitter, tds:Device, wsdp:Device or {namespace}Local; 'any' "
          "sends no Types (every device answers). Default: two Probes, "
          "dn:NetworkVideoTransmitter and tds:Device, since cameras answer one or the other; "
          "each device lists the ones it answered.");
ABSL_FLAG(std::vector<std::string>, scopes, {},
          "Probe Scopes (URIs, MatchBy rfc3986; repeatable or comma-separated): only "
          "devices with a matching scope answer.");
ABSL_FLAG(bool, filter, false,
          "Also drop replies whose Types/Scopes do not match --types/--scopes "
          "(for devices that ignore the Probe's filter).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "Hard cap on the sweep's duration (e.g. 5s, 1500ms).");
ABSL_FLAG(absl::Duration, quiet, absl::Milliseconds(200),
          "Adaptive end: stop this long after the later of (last Probe + 500 ms APP_MAX_DELAY) "
          "and the last new device; --timeout still caps the sweep.");
ABSL_FLAG(int32_t, repeat, 4,
          "Probe sends per interface in total (SOAP-over-UDP retransmission: same bytes, "
          "rand[50,250] ms apart, doubling to 500 ms), 1..16.");
ABSL_FLAG(int64_t, rcvbuf, onvif::net::kDefaultRcvbufBytes,
          "Receive buffer per probe socket in bytes (SO_RCVBUFFORCE when root), sized to "
          "hold a 100,000-camera reply storm on one NIC (a limit: memory is used only while "
          "replies wait); 0 keeps the kernel default.");
ABSL_FLAG(int32_t, threads, 0,
          "Worker threads; interfaces are split among them. 0: min(cores, interfaces).");
ABSL_FLAG(std::string, backend, "auto",
          "Event loop backend: auto (io_uring when the kernel allows it, else epoll), "
          "epoll or uring (io_uring, Linux >= 6.0).");
ABSL_FLAG(std::string, format, "table",
          "Output: table (for people), json (one document), ndjson (a line per device as "
          "it is found, an \"updated\" line when a Resolve fills in its XAddrs, flushed at "
          "least every 100 ms, then a summary line).");
ABSL_FLAG(int64_t, expect, -1,
          "Exit 3 when fewer than this many devices are found (load tests). -1: off.");
ABSL_FLAG(uint64_t, seed, 0, "Seed for the schedule and MessageIDs (0: random).");
ABSL_FLAG(bool, listen, true,
          "Also listen on port 3702 of every swept interface for the ProbeMatches some cameras "
          "wrongly multicast to the group instead of answering the prober (--listen=false: "
          "only the probe sockets).");
ABSL_FLAG(bool, watch, false,
          "Watch instead of sweeping once: listen for Hello/Bye on port 3702 of every chosen "
          "interface, re-probe every --reprobe, and stream NDJSON events as devices come, "
          "change and go: {\"event\":\"found\"|\"updated\"|\"gone\",\"via\":\"hello\"|\"probe\"|"
          "\"resolve\"|\"bye\"|\"expired\",<device>}. Stale and repeated announcements "
          "(AppSequence) are counted, not reported. Ends on SIGINT/SIGTERM or after --duration "
          "with a summary line.");
ABSL_FLAG(absl::Duration, duration, absl::InfiniteDuration(),
          "With --watch: stop after this long (default: until SIGINT/SIGTERM).");
ABSL_FLAG(absl::Duration, reprobe, onvif::sweep::kDefaultReprobe,
          "With --watch: Probe again this often (+-10% jitter); 'inf' probes only at the start.");
ABSL_FLAG(absl::Duration, expire, absl::ZeroDuration(),
          "With --watch: a device not heard from for this long is gone (via expired). "
          "0: three --reprobe periods; 'inf': never.");

namespace onvif {
namespace {

constexpr int kExitBadUsage = 2;
constexpr int kExitShortfall = 3;

constexpr const char* kFlagNames[] = {
    "iface",  "exclude", "family", "target", "rate",  "types",    "scopes",  "filter", "timeout",
    "quiet",  "repeat",  "rcvbuf", "threads", "backend", "format", "expect", "seed", "listen",
    "watch",  "duration", "reprobe", "expire"};

std::string Usage() {
  std::string out =
      "Usage: onvif-sweep [FLAGS]\n"
      "Sends WS-Discovery Probes on every chosen interface at once and prints each ONVIF\n"
      "device once, with the interfaces it answered on; with --watch, keeps listening and\n"
      "reports devices as they come, change and go.\n\nFlags:\n";
  for (const char* name : kFlagNames) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    // An empty default (lists) is explained in the help text.
    const std::string value = flag->DefaultValue();
    absl::StrAppend(&out, "  --", name, value.empty() ? "" : absl::StrCat(" (default: ", value, ")"), "\n      ",
                    flag->Help(), "\n");
  }
  absl::StrAppend(&out,
                  "  --help\n      This text.\n\n"
                  "Exit status: 0 after a sweep or a watch; 2 on bad flags or no usable interface;\n"
                  "3 when --expect N was given and fewer were found; 1 if the sweep failed.\n");
  return out;
}

[[noreturn]] void UsageError(std::string_view message) {
  std::fprintf(stderr, "onvif-sweep: %.*s\nRun 'onvif-sweep --help' for the flags.\n",
               static_cast<int>(message.size()), message.data());
  std::exit(kExitBadUsage);
}

bool IsRepeatable(absl::string_view name) {
  return name == "iface" || name == "exclude" || name == "scopes" || name == "target";
}

// Parses argv into the absl flags; repeatable flags accumulate into *lists
// (split at commas), each --types into *types (whole: one Probe each).
void ParseFlags(int argc, char** argv, std::vector<std::string>* ifaces,
                std::vector<std::string>* excludes, std::vector<std::string>* scopes,
                std::vector<std::string>* types, std::vector<std::string>* targets,
                std::vector<std::string>* given) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') UsageError(absl::StrCat("unexpected argument '", arg, "'"));
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    absl::string_view name = arg;
    std::optional<absl::string_view> value;
    if (const std::size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "help" || name == "h") {
      std::fputs(Usage().c_str(), stdout);
      std::exit(0);
    }
    const absl::CommandLineFlag* flag = nullptr;
    for (const char* known : kFlagNames) {
      if (name == known) flag = absl::FindCommandLineFlag(known);
    }
    if (flag == nullptr) UsageError(absl::StrCat("unknown flag --", name));
    given->emplace_back(name);
    if (!value.has_value()) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        UsageError(absl::StrCat("--", name, " needs a value"));
      }
    }
    if (name == "types") {
      if (value->empty()) UsageError("--types needs a value");
      types->emplace_back(*value);
      continue;
    }
    if (IsRepeatable(name)) {
      std::vector<std::string>* list = name == "iface"     ? ifaces
                                       : name == "exclude" ? excludes
                                       : name == "target"  ? targets
                                                           : scopes;
      for (absl::string_view item :
           absl::StrSplit(*value, ',', absl::SkipEmpty())) {
        list->emplace_back(item);
      }
      if (list->empty() || value->empty()) UsageError(absl::StrCat("--", name, " needs a value"));
      continue;
    }
    std::string error;
    if (!const_cast<absl::CommandLineFlag*>(flag)->ParseFrom(*value, &error)) {
      UsageError(absl::StrCat("--", name, "=", *value, ": ", error));
    }
  }
}

// Prints the progress line (only when stderr is a terminal), flushes
// streamed output, and turns SIGINT / SIGTERM into `stop`, until `done`.
void Supervise(const std::function<void()>& stop, const std::function<std::string()>& progress_text,
               const std::atomic<bool>& done, bool progress, bool flush) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  const timespec tick = {0, 100'000'000};
  bool printed = false;
  while (!done.load()) {
    if (sigtimedwait(&signals, nullptr, &tick) > 0) stop();
    if (flush) std::fflush(stdout);
    if (progress && !done.load()) {
      std::fprintf(stderr, "\r\033[K%s", progress_text().c_str());
      printed = true;
    }
  }
  if (printed) std::fputs("\r\033[K", stderr);
}

// Signals are taken by the supervisor thread; block them before any worker
// exists so every thread inherits the mask.
void BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Create's error: exit 2 for no usable interface or bad flags, else 1.
int ReportCreateError(const absl::Status& status) {
  // Interface selection and socket setup fail with NotFound /
  // FailedPrecondition; InvalidArgument is a bad combination of flags.
  const absl::StatusCode code = status.code();
  const bool no_interface = code == absl::StatusCode::kNotFound || code == absl::StatusCode::kFailedPrecondition;
  std::fprintf(stderr, "onvif-sweep: %s%s\n", no_interface ? "no usable interface: " : "",
               std::string(status.message()).c_str());
  return no_interface || code == absl::StatusCode::kInvalidArgument ? kExitBadUsage : 1;
}

bool Given(const std::vector<std::string>& given, std::string_view name) {
  return std::find(given.begin(), given.end(), name) != given.end();
}

// --watch: events as they happen, a summary at the end.
int Watch(sweep::SweepOptions sweep_options, const std::vector<std::string>& given) {
  for (const char* name : {"timeout", "quiet", "expect", "threads", "target", "rate", "listen"}) {
    if (Given(given, name)) UsageError(absl::StrCat("--", name, " applies to a one-time sweep, not to --watch"));
  }
  if (Given(given, "format") && absl::GetFlag(FLAGS_format) != "ndjson") {
    UsageError("--watch streams NDJSON events: --format must be ndjson (or left out)");
  }
  sweep::WatchOptions options;
  options.sweep = std::move(sweep_options);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.reprobe = absl::GetFlag(FLAGS_reprobe);
  options.expire = absl::GetFlag(FLAGS_expire);
  if (options.duration <= absl::ZeroDuration()) UsageError("--duration must be positive");
  if (options.reprobe < absl::Seconds(1)) UsageError("--reprobe must be at least 1s (or inf)");
  if (options.expire < absl::ZeroDuration()) UsageError("--expire must not be negative");
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 20);  // flushed by the supervisor, as for ndjson
  options.on_event = [](sweep::Change change, sweep::Via via, const sweep::DeviceInfo& device) {
    const std::string line = sweep::FormatDeviceEvent(sweep::ChangeName(change), sweep::ViaName(via), device);
    std::fwrite(line.data(), 1, line.size(), stdout);
  };
  BlockStopSignals();
  auto watcher = sweep::Watcher::Create(std::move(options));
  if (!watcher.ok()) return ReportCreateError(watcher.status());
  for (const std::string& warning : (*watcher)->warnings()) {
    std::fprintf(stderr, "onvif-sweep: %s\n", warning.c_str());
  }
  // Sockets are bound and joined: announcements from now on are seen.
  std::fprintf(stderr, "onvif-sweep: ready: watching %s\n", absl::StrJoin((*watcher)->interface_names(), ", ").c_str());
  std::atomic<bool> done{false};
  sweep::Watcher& w = **watcher;
  const absl::Time start = absl::Now();
  std::thread supervisor(
      Supervise, [&w] { w.Stop(); },
      [&w, start] {
        return absl::StrCat("watching: ", w.present(), " devices present, ",
                            absl::ToInt64Seconds(absl::Now() - start), " s");
      },
      std::cref(done), isatty(STDERR_FILENO) == 1, true);
  absl::StatusOr<sweep::WatchStats> stats = w.Run();
  done = true;
  supervisor.join();
  if (!stats.ok()) {
    std::fprintf(stderr, "onvif-sweep: %s\n", std::string(stats.status().message()).c_str());
    return 1;
  }
  const std::string summary = sweep::FormatWatchSummary(*stats);
  std::fwrite(summary.data(), 1, summary.size(), stdout);
  std::fflush(stdout);
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> ifaces, excludes, scopes, types, targets, given;
  ParseFlags(argc, argv, &ifaces, &excludes, &scopes, &types, &targets, &given);

  sweep::SweepOptions options;
  options.interfaces.include = ifaces;
  options.interfaces.exclude = excludes;
  absl::StatusOr<std::vector<net::Family>> families = net::ParseFamilies(absl::GetFlag(FLAGS_family));
  if (!families.ok()) UsageError(absl::StrCat("--family: ", families.status().message()));
  options.families = *families;
  if (!types.empty()) {
    if (types.size() > sweep::kMaxProbeVariants) {
      UsageError(absl::StrCat("at most ", sweep::kMaxProbeVariants, " --types (one Probe each)"));
    }
    options.probes.clear();
    for (const std::string& text : types) {
      absl::StatusOr<sweep::ProbeVariant> variant = sweep::ParseProbeVariant(text);
      if (!variant.ok()) UsageError(absl::StrCat("--types: ", variant.status().message()));
      options.probes.push_back(*std::move(variant));
    }
  }
  options.scopes = scopes;
  options.filter_replies = absl::GetFlag(FLAGS_filter);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  const std::int32_t rate = absl::GetFlag(FLAGS_rate);
  if (rate < 1 || rate > 1'000'000) UsageError("--rate must be 1..1000000");
  options.target_rate = rate;
  if (!targets.empty()) {
    absl::StatusOr<std::vector<net::IpAddress>> parsed = sweep::ParseTargets(targets);
    if (!parsed.ok()) UsageError(std::string(parsed.status().message()));
    options.targets = *std::move(parsed);
    options.multicast = !ifaces.empty();
    for (const net::IpAddress& target : options.targets) {
      if (std::find(options.families.begin(), options.families.end(), target.family()) == options.families.end()) {
        UsageError(absl::StrCat("--target ", net::DisplayString(target), " is ", net::FamilyName(target.family()),
                                " but --family is ", absl::GetFlag(FLAGS_family)));
      }
    }
  }
  // After --timeout, --rate and --target are read: it needs all three.
  if (!options.targets.empty() && !Given(given, "timeout")) {
    // Room for every directed Probe twice at --rate, then the replies.
    const double seconds = 2.0 * static_cast<double>(options.targets.size() * options.probes.size()) /
                           static_cast<double>(options.target_rate);
    options.timeout = std::max(options.timeout, absl::Seconds(seconds) + absl::Seconds(2));
  }
  options.quiet = absl::GetFlag(FLAGS_quiet);
  if (options.timeout <= absl::ZeroDuration()) UsageError("--timeout must be positive");
  if (options.quiet < absl::ZeroDuration()) UsageError("--quiet must not be negative");
  options.repeat = absl::GetFlag(FLAGS_repeat);
  if (options.repeat < 1 || options.repeat > sweep::kMaxRepeat) {
    UsageError(absl::StrCat("--repeat must be 1..", sweep::kMaxRepeat));
  }
  const int64_t rcvbuf = absl::GetFlag(FLAGS_rcvbuf);
  if (rcvbuf < 0 || rcvbuf > (int64_t{1} << 30)) UsageError("--rcvbuf must be 0..1073741824");
  options.rcvbuf_bytes = static_cast<int>(rcvbuf);
  options.threads = absl::GetFlag(FLAGS_threads);
  if (options.threads < 0 || options.threads > 64) UsageError("--threads must be 0..64");
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend == "auto") {
    options.backend = io::Backend::kAuto;
  } else if (backend == "epoll") {
    options.backend = io::Backend::kEpoll;
  } else if (backend == "uring") {
    options.backend = io::Backend::kUring;
  } else {
    UsageError(absl::StrCat("--backend must be auto, epoll or uring (got '", backend, "')"));
  }
  auto format = sweep::ParseFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) UsageError(absl::StrCat("--format: ", format.status().message()));
  const int64_t expect = absl::GetFlag(FLAGS_expect);
  if (expect < -1) UsageError("--expect must be >= 0 (or -1 for off)");
  options.seed = absl::GetFlag(FLAGS_seed);
  options.listen = absl::GetFlag(FLAGS_listen);
  if (absl::GetFlag(FLAGS_watch)) return Watch(std::move(options), given);
  for (const char* name : {"duration", "reprobe", "expire"}) {
    if (Given(given, name)) UsageError(absl::StrCat("--", name, " needs --watch"));
  }
  if (*format == sweep::Format::kNdjson) {
    // Buffered: a write(2) per device would cost the worker more than the
    // device itself and make a storm overflow the receive buffer. The
    // supervisor flushes every 100 ms, so lines still appear as found.
    std::setvbuf(stdout, nullptr, _IOFBF, 1 << 20);
    options.on_found = [line = std::string()](const sweep::DeviceInfo& device) mutable {
      line.clear();  // one buffer for every line (on_found calls are serialized)
      sweep::AppendDeviceEvent("found", "probe", device, &line);
      std::fwrite(line.data(), 1, line.size(), stdout);
    };
    options.on_resolved = [](const sweep::DeviceInfo& device) {
      const std::string line = sweep::FormatDeviceEvent("updated", "resolve", device);
      std::fwrite(line.data(), 1, line.size(), stdout);
    };
    // Every device is out as it is found; the summary needs only the count.
    options.collect_devices = false;
  }

  BlockStopSignals();
  auto sweeper = sweep::Sweeper::Create(std::move(options));
  if (!sweeper.ok()) return ReportCreateError(sweeper.status());
  for (const std::string& warning : (*sweeper)->warnings()) {
    std::fprintf(stderr, "onvif-sweep: skipping %s\n", warning.c_str());
  }

  std::atomic<bool> done{false};
  sweep::Sweeper& s = **sweeper;
  std::thread supervisor(
      Supervise, [&s] { s.Stop(); },
      [&s] {
        const sweep::Progress p = s.GetProgress();
        return absl::StrCat("sweeping: ", p.devices, " devices, ", p.datagrams, " datagrams, ",
                            absl::ToInt64Milliseconds(p.elapsed), " ms");
      },
      std::cref(done), isatty(STDERR_FILENO) == 1, *format == sweep::Format::kNdjson);
  absl::StatusOr<sweep::SweepResult> result = (*sweeper)->Run();
  done = true;
  supervisor.join();
  if (!result.ok()) {
    std::fprintf(stderr, "onvif-sweep: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  std::string out;
  switch (*format) {
    case sweep::Format::kTable:
      out = sweep::FormatTable(*result);
      break;
    case sweep::Format::kJson:
      out = sweep::FormatJson(*result);
      break;
    case sweep::Format::kNdjson:
      out = sweep::FormatSummaryEvent(result->device_count, result->stats);
      break;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (expect >= 0 && result->device_count < static_cast<std::size_t>(expect)) {
    std::fprintf(stderr, "onvif-sweep: found %zu devices, expected at least %lld\n",
                 result->device_count, static_cast<long long>(expect));
    return kExitShortfall;
  }
  return 0;
}

}  // namespace
}  // namespace onvif

int main(int argc, char** argv) { return onvif::Main(argc, argv); }
