#include "engine/io/event_loop.h"

#include "absl/status/status.h"
#include "engine/io/epoll_loop.h"

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
    case Backend::kAuto:  // epoll until the io_uring backend lands (issue 4)
    case Backend::kEpoll: {
      absl::StatusOr<std::unique_ptr<EpollLoop>> loop = EpollLoop::Create(handler, options);
      if (!loop.ok()) return loop.status();
      return std::unique_ptr<EventLoop>(std::move(*loop));
    }
    case Backend::kUring:
      return absl::UnimplementedError("the io_uring event loop backend is not built yet (issue 4); use epoll");
  }
  return absl::InvalidArgumentError("unknown event loop backend");
}

}  // namespace onvif::io
