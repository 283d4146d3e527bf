#include "engine/io/event_loop.h"

#include "absl/status/status.h"
#include "engine/io/epoll_loop.h"
#include "engine/io/uring_loop.h"

namespace onvif::io {

std::string_view BackendName(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kEpoll:
      return "epoll";
    case Backend::kUring:
      return "uring";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<EventLoop>> CreateEventLoop(Backend backend, DatagramHandler& handler,
                                                           const EventLoopOptions& options) {
  switch (backend) {
    case Backend::kAuto: {
      // The probe is building the loop: whatever keeps this kernel (or its
      // policy) from running the uring backend leaves epoll, which needs
      // nothing newer than 2.6. Bad options fail the same way on both.
      absl::StatusOr<std::unique_ptr<UringLoop>> uring = UringLoop::Create(handler, options);
      if (uring.ok()) return std::unique_ptr<EventLoop>(std::move(*uring));
      if (uring.status().code() == absl::StatusCode::kInvalidArgument) return uring.status();
      [[fallthrough]];
    }
    case Backend::kEpoll: {
      absl::StatusOr<std::unique_ptr<EpollLoop>> loop = EpollLoop::Create(handler, options);
      if (!loop.ok()) return loop.status();
      return std::unique_ptr<EventLoop>(std::move(*loop));
    }
    case Backend::kUring: {
      absl::StatusOr<std::unique_ptr<UringLoop>> loop = UringLoop::Create(handler, options);
      if (!loop.ok()) return loop.status();
      return std::unique_ptr<EventLoop>(std::move(*loop));
    }
  }
  return absl::InvalidArgumentError("unknown event loop backend");
}

}  // namespace onvif::io
