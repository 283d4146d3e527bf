// UniqueFd: sole owner of a file descriptor; closes it when destroyed.
//
// Move-only. A default-constructed or moved-from UniqueFd holds -1. close(2)
// errors are ignored: on Linux the descriptor is released even when close
// fails (EINTR included), so retrying could close someone else's descriptor.

#ifndef ONVIF_ENGINE_BASE_UNIQUE_FD_H_
#define ONVIF_ENGINE_BASE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace onvif::base {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership: the caller must close the returned descriptor.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  // Closes the held descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1) {
    const int old = std::exchange(fd_, fd);
    if (old >= 0) ::close(old);
  }

 private:
  int fd_ = -1;
};

}  // namespace onvif::base

#endif  // ONVIF_ENGINE_BASE_UNIQUE_FD_H_
