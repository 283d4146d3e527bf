#include "tests/lab/lab.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/errno_status.h"
#include "engine/base/unique_fd.h"

#ifndef ONVIF_LAB_SCRIPT
#error "ONVIF_LAB_SCRIPT must name tests/lab/lab.sh"
#endif

namespace onvif::lab {

bool IsRoot() { return geteuid() == 0; }

std::string LabScript() { return ONVIF_LAB_SCRIPT; }

std::string UniqueLabName(std::string_view stem) {
  static std::atomic<int> counter{0};
  return absl::StrCat(std::string(stem), getpid(), "x", counter.fetch_add(1));
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("RunCommand: empty argv");
  // Built before fork: the child may only call async-signal-safe functions.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return base::LastErrnoError("pipe2", "RunCommand");
  base::UniqueFd read_end(pipe_fds[0]);
  base::UniqueFd write_end(pipe_fds[1]);
  const pid_t pid = fork();
  if (pid < 0) return base::LastErrnoError("fork", argv[0]);
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(write_end.get(), STDOUT_FILENO);
    dup2(write_end.get(), STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  write_end.reset();
  CommandResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(read_end.get(), buf, sizeof(buf));
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return base::LastErrnoError("waitpid", argv[0]);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (result.exit_code == 127 && result.output.empty()) {
    return absl::NotFoundError(absl::StrCat("cannot run ", argv[0]));
  }
  return result;
}

absl::StatusOr<std::string> RunChecked(const std::vector<std::string>& argv) {
  auto result = RunCommand(argv);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("`", absl::StrJoin(argv, " "), "` exited ",
                                            result->exit_code, ": ", result->output));
  }
  return std::move(result->output);
}

namespace {

// Runs `enter` then fn on a fresh thread, so the namespace switch never
// touches the caller's thread.
absl::Status RunOnThread(const std::function<absl::Status()>& enter,
                         const std::function<void()>& fn) {
  absl::Status status;
  std::thread thread([&] {
    status = enter();
    if (status.ok()) fn();
  });
  thread.join();
  return status;
}

absl::Status BringLoopbackUp() {
  base::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return base::LastErrnoError("socket", "lo");
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd.get(), SIOCGIFFLAGS, &req) != 0) return base::LastErrnoError("SIOCGIFFLAGS", "lo");
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (ioctl(fd.get(), SIOCSIFFLAGS, &req) != 0) return base::LastErrnoError("SIOCSIFFLAGS", "lo");
  return absl::OkStatus();
}

// The calling thread's network namespace ("net:[4026531840]"); "" when
// unreadable.
std::string NetnsId() {
  char target[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/thread-self/ns/net", target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

}  // namespace

absl::Status RunInNetns(const std::string& netns, const std::function<void()>& fn) {
  return RunOnThread(
      [&]() -> absl::Status {
        const std::string path = absl::StrCat("/run/netns/", netns);
        base::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return base::LastErrnoError("open", path);
        if (setns(fd.get(), CLONE_NEWNET) != 0) return base::LastErrnoError("setns", netns);
        return absl::OkStatus();
      },
      fn);
}

absl::Status EnterPrivateNetns() {
  const std::string before = NetnsId();
  if (unshare(CLONE_NEWNET) != 0) {
    return base::LastErrnoError("unshare(CLONE_NEWNET)", "test thread");
  }
  const std::string after = NetnsId();
  if (before.empty() || after.empty() || before == after) {
    return absl::InternalError(absl::StrCat("could not verify a private network namespace (", before,
                                            " vs ", after, ")"));
  }
  if (absl::Status up = BringLoopbackUp(); !up.ok()) return up;
  // Belt and braces: only lo may exist here.
  struct if_nameindex* names = if_nameindex();
  if (names == nullptr) return base::LastErrnoError("if_nameindex", "private namespace");
  std::string others;
  for (struct if_nameindex* i = names; i->if_index != 0; ++i) {
    if (std::string_view(i->if_name) != "lo") absl::StrAppend(&others, " ", i->if_name);
  }
  if_freenameindex(names);
  if (!others.empty()) {
    return absl::InternalError(absl::StrCat("private network namespace unexpectedly has interfaces:", others));
  }
  return absl::OkStatus();
}

absl::Status RunInPrivateNetns(const std::function<void()>& fn) {
  return RunOnThread(EnterPrivateNetns, fn);
}

absl::StatusOr<Lab> Lab::Up(LabOptions options) {
  if (options.name.empty()) options.name = UniqueLabName("lab");
  std::vector<std::string> argv = {LabScript(), "up", "--name", options.name,
                                   "--nics", std::to_string(options.nics)};
  if (options.bridge) argv.push_back("--bridge");
  argv.insert(argv.end(), {"--family", options.family});
  if (options.addresses_per_nic > 0) {
    argv.insert(argv.end(), {"--addresses-per-nic", std::to_string(options.addresses_per_nic)});
  }
  if (options.loss_percent > 0) {
    argv.insert(argv.end(), {"--loss", std::to_string(options.loss_percent)});
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  auto output = RunChecked(argv);
  if (!output.ok()) return output.status();  // lab.sh has removed what it made
  return Lab(std::move(options), *std::move(output));
}

Lab::Lab(Lab&& other) noexcept
    : options_(std::move(other.options_)),
      up_output_(std::move(other.up_output_)),
      live_(std::exchange(other.live_, false)) {}

Lab& Lab::operator=(Lab&& other) noexcept {
  if (this != &other) {
    (void)Down();
    options_ = std::move(other.options_);
    up_output_ = std::move(other.up_output_);
    live_ = std::exchange(other.live_, false);
  }
  return *this;
}

Lab::~Lab() { (void)Down(); }

absl::Status Lab::Down() {
  if (!live_) return absl::OkStatus();
  live_ = false;
  auto output = RunChecked({LabScript(), "down", "--name", options_.name});
  return output.ok() ? absl::OkStatus() : output.status();
}

std::string Lab::HostNamespace() const { return absl::StrCat(options_.name, "-host"); }

std::string Lab::HostNic(int nic) { return absl::StrCat("n", nic); }

std::string Lab::CamNamespace(int nic) const {
  return absl::StrCat(options_.name, "-cam", options_.bridge ? 0 : nic);
}

std::string Lab::CamNic(int nic) const {
  return options_.bridge ? std::string("br0") : absl::StrCat("c", nic);
}

std::string Lab::HostAddress(int nic) { return absl::StrCat("10.77.", nic, ".1"); }
std::string Lab::CamAddress(int nic) { return absl::StrCat("10.77.", nic, ".2"); }

namespace {
// lab.sh writes fd77:<i>::<host>; inet_ntop drops the zero group of NIC 0.
std::string UlaAddress(int nic, int host) {
  return nic == 0 ? absl::StrCat("fd77::", host) : absl::StrCat("fd77:", nic, "::", host);
}
}  // namespace

std::string Lab::HostAddress6(int nic) { return UlaAddress(nic, 1); }
std::string Lab::CamAddress6(int nic) { return UlaAddress(nic, 2); }

std::string Lab::ExtraAddress(int cam_namespace, int k) {
  return absl::StrCat("10.", 100 + cam_namespace, ".", (k >> 8) & 255, ".", k & 255);
}

std::vector<std::string> Lab::HostExec(std::vector<std::string> argv) const {
  std::vector<std::string> out = {"ip", "netns", "exec", HostNamespace()};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

std::vector<std::string> Lab::CamExec(int nic, std::vector<std::string> argv) const {
  std::vector<std::string> out = {"ip", "netns", "exec", CamNamespace(nic)};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

}  // namespace onvif::lab
