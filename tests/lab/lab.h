// C++ side of the network sandbox (tests/lab/lab.sh) for gtest integration
// tests and benches.
//
// Lab::Up runs `lab.sh up` and returns an owner whose destructor runs
// `lab.sh down`, so a failing test still removes its namespaces. Names are
// unique per process and call (UniqueLabName) so parallel ctest runs do not
// collide. HostExec/CamExec build argv vectors that run a command inside the
// lab's namespaces (`ip netns exec NS ...`); RunCommand runs them.
// RunInNetns runs code on a thread that entered a namespace: setns(2) with
// CLONE_NEWNET moves only the calling thread, and a socket stays in the
// namespace it was created in, so it can be used from any thread afterwards.
// EnterPrivateNetns / RunInPrivateNetns give a fresh namespace with only lo.
//
// Everything here needs root; tests say so with LAB_SKIP_UNLESS_ROOT first.

#ifndef ONVIF_TESTS_LAB_LAB_H_
#define ONVIF_TESTS_LAB_LAB_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace onvif::lab {

struct LabOptions {
  std::string name;  // empty: UniqueLabName("lab")
  int nics = 1;
  bool bridge = false;
  // lab.sh --family: "both" (IPv4 and IPv6 on every lab link), "v6" (an
  // IPv6-only segment: no IPv4 address) or "v4" (an IPv4-only segment: IPv6
  // disabled on the lab links, not even link-local).
  std::string family = "both";
  int addresses_per_nic = 0;
  int loss_percent = 0;
  std::vector<std::string> extra_args;  // appended to `lab.sh up` (e.g. --fail-at links)
};

struct CommandResult {
  int exit_code = 0;   // -1 when killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

bool IsRoot();

// In a gtest test body or SetUp: skips the test unless this process is root,
// with "needs root: <why>". (This header does not include gtest: the macro
// expands only in tests.)
#define LAB_SKIP_UNLESS_ROOT(why)                                          \
  do {                                                                     \
    if (!::onvif::lab::IsRoot()) GTEST_SKIP() << "needs root: " << (why); \
  } while (0)

// Path of lab.sh (compiled in).
std::string LabScript();

// "<stem><pid>x<n>": unique per process and call, short enough for lab.sh.
std::string UniqueLabName(std::string_view stem);

// Runs argv (no shell) and captures its output. Errors only when it cannot
// be started; a non-zero exit is in the result.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv);

// RunCommand that also fails on a non-zero exit, with the output in the message.
absl::StatusOr<std::string> RunChecked(const std::vector<std::string>& argv);

// Runs fn on a new thread that entered the named namespace (/run/netns/NAME)
// and waits for it.
absl::Status RunInNetns(const std::string& netns, const std::function<void()>& fn);

// The one way tests get a private network namespace (tests/io and tests/net
// both use it). Moves the CALLING THREAD into a fresh, empty network
// namespace (unshare(CLONE_NEWNET)), brings its lo up, and verifies that it
// worked: the namespace id changed and lo is the only interface. So the
// host's interfaces are never used and nothing on the host is changed; the
// namespace vanishes with the last thread and socket in it. Threads created
// afterwards by this thread start in the same namespace.
// Errors: PERMISSION_DENIED and the like from unshare (not root, a container
// without CAP_SYS_ADMIN), or a failed check, naming what went wrong.
absl::Status EnterPrivateNetns();

// Runs fn on a new thread that called EnterPrivateNetns(), and waits for it;
// fn is not run when entering failed. The caller's thread never moves.
absl::Status RunInPrivateNetns(const std::function<void()>& fn);

class Lab {
 public:
  static absl::StatusOr<Lab> Up(LabOptions options);

  Lab(Lab&& other) noexcept;
  Lab& operator=(Lab&& other) noexcept;
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;
  ~Lab();

  // Runs `lab.sh down` now (idempotent; the destructor then does nothing).
  absl::Status Down();

  const std::string& name() const { return options_.name; }
  int nics() const { return options_.nics; }
  const std::string& up_output() const { return up_output_; }

  std::string HostNamespace() const;
  // The namespace behind NIC i (cam0 for every NIC when bridged).
  std::string CamNamespace(int nic) const;
  static std::string HostNic(int nic);  // n<i>
  std::string CamNic(int nic) const;  // c<i>, or br0 when bridged (the addressed device)
  static std::string HostAddress(int nic);  // 10.77.<i>.1
  static std::string CamAddress(int nic);   // 10.77.<i>.2
  // The ULA addresses (families "both" and "v6"), in the kernel's canonical
  // text (inet_ntop): fd77:<i>::1 and fd77:<i>::2 ("fd77::1" for NIC 0).
  static std::string HostAddress6(int nic);
  static std::string CamAddress6(int nic);
  // The k-th (1-based) extra address of camera namespace j (lab.sh --addresses-per-nic).
  static std::string ExtraAddress(int cam_namespace, int k);

  std::vector<std::string> HostExec(std::vector<std::string> argv) const;
  std::vector<std::string> CamExec(int nic, std::vector<std::string> argv) const;

 private:
  Lab(LabOptions options, std::string up_output)
      : options_(std::move(options)), up_output_(std::move(up_output)) {}

  LabOptions options_;
  std::string up_output_;
  bool live_ = true;
};

}  // namespace onvif::lab

#endif  // ONVIF_TESTS_LAB_LAB_H_
