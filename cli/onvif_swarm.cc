// onvif-swarm: plays N ONVIF cameras answering WS-Discovery on the chosen
// interfaces of the network namespace it runs in (engine/swarm/swarm.h).
// Meant for sandboxes (tests/lab/lab.sh): run it with `ip netns exec`.
//
// Exit status: 0 after a run, 1 on a runtime failure, 2 on bad flags or when
// no interface (or no configured address) can be used.
//
// Flags are absl flags, parsed here one by one (rather than with
// absl::ParseCommandLine, which exits 1 on errors) so that bad flags exit 2,
// and so that --iface / --exclude can be repeated.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/time/time.h"
#include "engine/net/interfaces.h"
#include "engine/swarm/swarm.h"
#include "engine/wsd/type_names.h"

ABSL_FLAG(int64_t, cameras, 1, "Number of cameras, 1..100000.");
ABSL_FLAG(std::vector<std::string>, iface, {},
          "Interface to serve on; repeatable (or comma-separated). Default: every eligible "
          "interface of this network namespace (up, carrier, multicast; lo only when named).");
ABSL_FLAG(std::vector<std::string>, exclude, {}, "Interface never to serve on; repeatable.");
ABSL_FLAG(std::string, family, "both",
          "v4, v6 or both: a listener per interface per family it has an address of (IPv6: "
          "[::]:3702 joined to ff02::c; not on lo). A Probe is answered in its own family; "
          "IPv6 XAddrs are http://[addr]:port/onvif/device_service with the interface's first "
          "global or ULA address, else its link-local one (no zone). Hello and Bye go to "
          "239.255.255.250 and ff02::c.");
ABSL_FLAG(std::string, mode, "storm",
          "storm: every camera answers a Probe at once; spec: each camera after its own "
          "rand[0, --max-delay] (WS-Discovery APP_MAX_DELAY).");
ABSL_FLAG(absl::Duration, max_delay, absl::Milliseconds(500), "Largest reply delay in spec mode.");
ABSL_FLAG(uint64_t, seed, 1, "Identity seed: camera i is a pure function of (seed, i).");
ABSL_FLAG(std::string, addresses, "",
          "IPv4 CIDR, e.g. 10.100.0.0/16: camera i replies from, and advertises in its XAddr, "
          "the i-th host address of the range (network+1+i). The addresses must already be "
          "assigned to each chosen interface. Default: the interface's own address. IPv4 only: "
          "over IPv6 every camera uses the interface's address.");
ABSL_FLAG(int32_t, http_port, 80, "Port in the cameras' XAddrs, 1..65535.");
ABSL_FLAG(absl::Duration, exit_after, absl::InfiniteDuration(),
          "Exit after this long, with Bye for every present camera unless --nobye (default: run "
          "until SIGINT/SIGTERM).");
ABSL_FLAG(int64_t, rate_limit, 10,
          "Probes answered per source address per second; 0 = unlimited. Keeps the swarm "
          "from being an amplifier.");
ABSL_FLAG(std::string, types, "dn:NetworkVideoTransmitter,tds:Device",
          "The device types every camera has, advertises and answers Probes for (a Probe's "
          "Types must all be among them): QNames dn:, tds:, wsdp: or {namespace}Local, "
          "comma-separated. E.g. tds:Device plays cameras that ignore a "
          "dn:NetworkVideoTransmitter Probe.");
ABSL_FLAG(std::string, quirks, "",
          "Imitate real devices, comma-separated:\n"
          "        soap11: SOAP 1.1 envelopes instead of SOAP 1.2;\n"
          "        prefixes: SOAP-ENV: and wsa: prefixes, the discovery namespace as the default one;\n"
          "        echo-message-id: each reply reuses the Probe's MessageID as its own;\n"
          "        multi-xaddr: a 169.254.x.x XAddr and an https one on a DNS name before the routable one;\n"
          "        no-xaddrs: ProbeMatches and Hello without XAddrs (a client must Resolve);\n"
          "        oversize: replies over 8 KB (many long scopes);\n"
          "        duplicate-epr: cameras 2k and 2k+1 share one EndpointReference;\n"
          "        multicast-reply: ProbeMatches go to 239.255.255.250:3702 instead of to the prober.");
ABSL_FLAG(std::string, retransmissions, "ignore",
          "What a camera does with a retransmitted Probe (same MessageID from the same "
          "socket): ignore (WS-Discovery: answer a Probe once) or answer (answer every copy, "
          "as many deployed cameras do; with it a prober's retransmissions recover lost "
          "replies).");
ABSL_FLAG(bool, stats, false, "Print the counters as one JSON object on stdout at exit.");
ABSL_FLAG(bool, hello, true,
          "Send Hello for every camera at start (staggered). --nohello starts silently (churn "
          "announcements are sent either way).");
ABSL_FLAG(bool, bye, true,
          "Send Bye for every present camera at exit (SIGINT/SIGTERM or --exit-after). --nobye "
          "exits silently, as a crashed or unplugged device does.");
ABSL_FLAG(double, churn, 0,
          "Churn events per second across the swarm, 0..10000 (0: none). Each event picks a "
          "camera from --seed: an absent camera rejoins (Hello with a higher InstanceId, "
          "MessageNumber from 1: a restart); a present one leaves (Bye; it then answers no "
          "Probe or Resolve) or bumps its MetadataVersion (Hello, same InstanceId, next "
          "MessageNumber; later ProbeMatches carry it), even odds. About a third of the "
          "cameras are away in the long run. Starts once the start Hellos are out.");
ABSL_FLAG(std::optional<uint64_t>, instance_id, std::nullopt,
          "The AppSequence InstanceId every camera starts with (Hello, ProbeMatches, "
          "ResolveMatches, Bye). Default: the start time in seconds, so a restarted swarm's is "
          "higher; restarting with a lower one replays stale announcements. A churn restart "
          "takes max(this + seconds since start, the camera's last + 1).");

namespace onvif {
namespace {

constexpr int kExitBadUsage = 2;

std::atomic<swarm::Swarm*> g_swarm{nullptr};

void OnSignal(int) {
  if (swarm::Swarm* s = g_swarm.load()) s->RequestStop();
}

void PrintHelp() {
  std::printf(
      "Usage: onvif-swarm [FLAGS]\n"
      "Plays N ONVIF cameras answering WS-Discovery Probes on the interfaces of the\n"
      "network namespace it runs in (use `ip netns exec NS onvif-swarm ...`).\n"
      "Exit status: 0 after a run, 1 on a runtime failure, 2 on bad flags or when no\n"
      "interface or address can be used.\n\nFlags:\n");
  std::vector<std::pair<std::string, absl::CommandLineFlag*>> mine;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string file = flag->Filename();
    if (file.size() >= 14 && file.compare(file.size() - 14, 14, "onvif_swarm.cc") == 0) {
      mine.emplace_back(std::string(name), flag);
    }
  }
  std::sort(mine.begin(), mine.end());
  for (auto& [name, flag] : mine) {
    std::replace(name.begin(), name.end(), '_', '-');  // accepted either way
    // An empty default (lists, computed values) is explained in the help text.
    const std::string value = flag->DefaultValue();
    std::printf("  --%s%s\n      %s\n", name.c_str(), value.empty() ? "" : (" (default: " + value + ")").c_str(),
                flag->Help().c_str());
  }
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "onvif-swarm: %s (see --help)\n", message.c_str());
  return kExitBadUsage;
}

// Parses argv into the flags. Returns -1 to continue, else an exit code.
int ParseFlags(int argc, char** argv, std::vector<std::string>* ifaces, std::vector<std::string>* excludes) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      PrintHelp();
      return 0;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) return Usage("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    std::replace(name.begin(), name.end(), '-', '_');
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && name.rfind("no", 0) == 0) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    const std::string file = flag == nullptr ? "" : flag->Filename();
    if (flag == nullptr || file.find("onvif_swarm.cc") == std::string::npos) {
      return Usage("unknown flag '--" + name + "'");
    }
    if (negated) {
      if (has_value) return Usage("--" + name + " takes no value");
      value = "false";
    } else if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else {
        if (i + 1 >= argc) return Usage("--" + name + " needs a value");
        value = argv[++i];
      }
    }
    if (name == "iface" || name == "exclude") {  // repeatable: accumulate
      std::vector<std::string>* list = name == "iface" ? ifaces : excludes;
      std::string item;
      for (std::size_t start = 0; start <= value.size();) {
        const std::size_t comma = std::min(value.find(',', start), value.size());
        item = value.substr(start, comma - start);
        if (item.empty()) return Usage("--" + name + " needs an interface name");
        list->push_back(item);
        start = comma + 1;
      }
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return Usage("bad value '" + value + "' for --" + name + ": " + error);
    }
  }
  return -1;
}

int Main(int argc, char** argv) {
  std::vector<std::string> ifaces;
  std::vector<std::string> excludes;
  if (const int code = ParseFlags(argc, argv, &ifaces, &excludes); code >= 0) return code;

  swarm::SwarmOptions options;
  const std::int64_t cameras = absl::GetFlag(FLAGS_cameras);
  if (cameras < 1 || cameras > swarm::kMaxCameras) {
    return Usage("--cameras must be 1.." + std::to_string(swarm::kMaxCameras) + " (got " +
                 std::to_string(cameras) + ")");
  }
  options.cameras = static_cast<std::uint32_t>(cameras);
  options.interfaces.include = ifaces;
  options.interfaces.exclude = excludes;
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "storm") {
    options.mode = swarm::ReplyMode::kStorm;
  } else if (mode == "spec") {
    options.mode = swarm::ReplyMode::kSpec;
  } else {
    return Usage("--mode must be storm or spec (got '" + mode + "')");
  }
  options.max_delay = absl::GetFlag(FLAGS_max_delay);
  if (options.max_delay < absl::ZeroDuration() || options.max_delay > absl::Seconds(60)) {
    return Usage("--max-delay must be 0..60s");
  }
  options.seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<std::vector<net::Family>> families = net::ParseFamilies(absl::GetFlag(FLAGS_family));
  if (!families.ok()) return Usage("--family: " + std::string(families.status().message()));
  options.families = *families;
  if (const std::string cidr = absl::GetFlag(FLAGS_addresses); !cidr.empty()) {
    absl::StatusOr<swarm::Ipv4Range> range = swarm::Ipv4Range::Parse(cidr);
    if (!range.ok()) return Usage("--addresses: " + std::string(range.status().message()));
    if (range->HostCount() < options.cameras) {
      return Usage("--addresses " + cidr + " has " + std::to_string(range->HostCount()) +
                   " host addresses, fewer than --cameras " + std::to_string(options.cameras));
    }
    options.addresses = *range;
    if (options.families == std::vector<net::Family>{net::Family::kIPv6}) {
      return Usage("--addresses gives IPv4 addresses: it needs --family v4 or both");
    }
  }
  const std::int32_t http_port = absl::GetFlag(FLAGS_http_port);
  if (http_port < 1 || http_port > 65535) return Usage("--http-port must be 1..65535");
  options.http_port = static_cast<std::uint16_t>(http_port);
  options.exit_after = absl::GetFlag(FLAGS_exit_after);
  if (options.exit_after <= absl::ZeroDuration()) return Usage("--exit-after must be positive");
  const std::int64_t rate_limit = absl::GetFlag(FLAGS_rate_limit);
  if (rate_limit < 0 || rate_limit > 1'000'000) return Usage("--rate-limit must be 0..1000000");
  options.rate_limit = static_cast<std::uint32_t>(rate_limit);
  absl::StatusOr<std::vector<wsd::QNameSpec>> types = wsd::ParseTypeNames(absl::GetFlag(FLAGS_types));
  if (!types.ok()) return Usage("--types: " + std::string(types.status().message()));
  if (types->empty()) return Usage("--types: a camera has at least one type ('any' is for Probes)");
  options.types = *std::move(types);
  absl::StatusOr<swarm::Quirks> quirks = swarm::ParseQuirks(absl::GetFlag(FLAGS_quirks));
  if (!quirks.ok()) return Usage("--quirks: " + std::string(quirks.status().message()));
  options.quirks = *quirks;
  const std::string retransmissions = absl::GetFlag(FLAGS_retransmissions);
  if (retransmissions != "ignore" && retransmissions != "answer") {
    return Usage("--retransmissions must be ignore or answer (got '" + retransmissions + "')");
  }
  options.answer_retransmissions = retransmissions == "answer";
  options.send_hello = absl::GetFlag(FLAGS_hello);
  options.send_bye = absl::GetFlag(FLAGS_bye);
  options.churn = absl::GetFlag(FLAGS_churn);
  // !(x >= 0) also catches NaN.
  if (!(options.churn >= 0) || options.churn > 10'000) return Usage("--churn must be 0..10000 events per second");
  options.instance_id = absl::GetFlag(FLAGS_instance_id);

  absl::StatusOr<std::unique_ptr<swarm::Swarm>> created = swarm::Swarm::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "onvif-swarm: %s\n", std::string(created.status().message()).c_str());
    // Setup problems (no interface, missing addresses, bad names) are the
    // operator's to fix, as bad flags are.
    return kExitBadUsage;
  }
  swarm::Swarm& s = **created;
  std::string names;
  for (const std::string& name : s.interface_names()) names += (names.empty() ? "" : ",") + name;
  std::fprintf(stderr, "onvif-swarm: ready: %u cameras on %s (%s mode)\n", options.cameras, names.c_str(),
               mode.c_str());

  g_swarm.store(&s);
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const absl::Status run = s.Run();
  g_swarm.store(nullptr);
  if (absl::GetFlag(FLAGS_stats)) {
    std::printf("%s\n", swarm::CountersJson(s.counters(), options.cameras, s.interface_names()).c_str());
    std::fflush(stdout);
  }
  if (!run.ok()) {
    std::fprintf(stderr, "onvif-swarm: %s\n", std::string(run.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace onvif

int main(int argc, char** argv) { return onvif::Main(argc, argv); }
