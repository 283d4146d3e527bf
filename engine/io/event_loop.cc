#include "engine/io/event_loop.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/io/epoll_loop.h"

namespace onvif::io {

socklen_t SocketAddress::ToSockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof(out));
  if (family == AF_INET) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&v4.sin_addr, bytes.data(), sizeof(v4.sin_addr));
    std::memcpy(&out, &v4, sizeof(v4));
    return sizeof(v4);
  }
  if (family == AF_INET6) {
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    v6.sin6_scope_id = scope_id;
    std::memcpy(&v6.sin6_addr, bytes.data(), sizeof(v6.sin6_addr));
    std::memcpy(&out, &v6, sizeof(v6));
    return sizeof(v6);
  }
  return 0;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  if (address == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) return result;
  // memcpy, not casts: msg_name buffers carry no alignment promise.
  sa_family_t family;
  std::memcpy(&family, address, sizeof(family));
  if (family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in v4;
    std::memcpy(&v4, address, sizeof(v4));
    result.family = AF_INET;
    result.port = ntohs(v4.sin_port);
    std::memcpy(result.bytes.data(), &v4.sin_addr, sizeof(v4.sin_addr));
  } else if (family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 v6;
    std::memcpy(&v6, address, sizeof(v6));
    result.family = AF_INET6;
    result.port = ntohs(v6.sin6_port);
    result.scope_id = v6.sin6_scope_id;
    std::memcpy(result.bytes.data(), &v6.sin6_addr, sizeof(v6.sin6_addr));
  }
  return result;
}

std::string SocketAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) {
    inet_ntop(AF_INET, bytes.data(), text, sizeof(text));
    return absl::StrCat(text, ":", port);
  }
  if (family == AF_INET6) {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
    return scope_id != 0 ? absl::StrCat("[", text, "%", scope_id, "]:", port) : absl::StrCat("[", text, "]:", port);
  }
  return "unspecified";
}

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
