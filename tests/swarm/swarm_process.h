// Runs the real onvif-swarm binary as a child process (inside a lab
// namespace via `ip netns exec`), waits for its "ready" line on stderr, and
// collects its stdout and exit status. The destructor kills and reaps a child
// still running, so a failing test leaves no process behind.

#ifndef ONVIF_TESTS_SWARM_SWARM_PROCESS_H_
#define ONVIF_TESTS_SWARM_SWARM_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace onvif::swarm::testing {

class SwarmProcess {
 public:
  SwarmProcess() = default;
  SwarmProcess(const SwarmProcess&) = delete;
  SwarmProcess& operator=(const SwarmProcess&) = delete;
  ~SwarmProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }

  // stderr_terminal: the child's stderr is a pseudo-terminal (isatty is
  // true), for output that only appears on terminals; err() then holds what
  // the terminal received.
  absl::Status Start(const std::vector<std::string>& argv, bool stderr_terminal = false) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe");
    if (stderr_terminal) {
      if (::openpty(&err[0], &err[1], nullptr, nullptr, nullptr) != 0) return absl::InternalError("openpty");
      ::fcntl(err[0], F_SETFD, FD_CLOEXEC);
      ::fcntl(err[1], F_SETFD, FD_CLOEXEC);
    } else if (::pipe2(err, O_CLOEXEC) != 0) {
      return absl::InternalError("pipe");
    }
    pid_ = ::fork();
    if (pid_ < 0) return absl::InternalError("fork");
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
    return absl::OkStatus();
  }

  // Reads stderr until a line containing "ready" (or the child exits / the
  // timeout passes).
  absl::Status WaitReady(int timeout_ms = 10'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (stderr_.find("ready") == std::string::npos) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      if (left <= 0) return absl::DeadlineExceededError("no ready line; stderr: " + stderr_);
      pollfd p = {err_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(err_, buf, sizeof(buf));
      if (n <= 0) return absl::FailedPreconditionError("swarm exited before ready; stderr: " + stderr_);
      stderr_.append(buf, static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Reads whatever the child writes for `ms` milliseconds, so a child that
  // streams output never blocks on a full pipe while a test waits.
  void Drain(int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      if (left <= 0) return;
      pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      if (::poll(p, 2, left) <= 0) continue;
      char buf[4096];
      if (p[0].revents & POLLIN) {
        const ssize_t n = ::read(out_, buf, sizeof(buf));
        if (n > 0) stdout_.append(buf, static_cast<size_t>(n));
      }
      if (p[1].revents & POLLIN) {
        const ssize_t n = ::read(err_, buf, sizeof(buf));
        if (n > 0) stderr_.append(buf, static_cast<size_t>(n));
      }
      if ((p[0].revents | p[1].revents) & (POLLHUP | POLLERR)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, 10)));
      }
    }
  }

  // Sends `signal` (0: none), then reads stdout/stderr to EOF and reaps.
  // Returns the exit code (-1 when killed by a signal).
  absl::StatusOr<int> Finish(int signal, int timeout_ms = 15'000) {
    if (pid_ <= 0) return absl::FailedPreconditionError("no child to finish");
    if (signal != 0) ::kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool out_open = true;
    bool err_open = true;
    while (out_open || err_open) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      if (left <= 0) return absl::DeadlineExceededError("swarm did not exit; stderr: " + stderr_);
      pollfd p[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
      if (::poll(p, 2, left) <= 0) continue;
      char buf[4096];
      if (out_open && (p[0].revents & (POLLIN | POLLHUP))) {
        const ssize_t n = ::read(out_, buf, sizeof(buf));
        if (n <= 0)
          out_open = false;
        else
          stdout_.append(buf, static_cast<size_t>(n));
      }
      // A terminal's master side reports POLLERR, then EIO, once the child is gone.
      if (err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = ::read(err_, buf, sizeof(buf));
        if (n <= 0)
          err_open = false;
        else
          stderr_.append(buf, static_cast<size_t>(n));
      }
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& out() const { return stdout_; }
  const std::string& err() const { return stderr_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace onvif::swarm::testing

#endif  // ONVIF_TESTS_SWARM_SWARM_PROCESS_H_
