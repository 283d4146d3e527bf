// ParseReceiveInfo on control buffers built by hand (no sockets, no root):
// each control message alone, together, unknown ones, and ones too short for
// their type. The real-socket paths are covered by tests/net/udp_socket_test
// and tests/io/event_loop_test.

#include "engine/net/receive_info.h"

#include <arpa/inet.h>
#include <sys/time.h>

#include <cstring>

#include "gtest/gtest.h"

namespace onvif::net {
namespace {

// A control buffer the way the kernel lays it out.
class Control {
 public:
  template <typename T>
  Control& Add(int level, int type, const T& value, std::size_t declared = sizeof(T)) {
    const std::size_t offset = used_;
    used_ += CMSG_SPACE(sizeof(T));
    EXPECT_LE(used_, sizeof(buffer_));
    cmsghdr header{};
    header.cmsg_level = level;
    header.cmsg_type = type;
    header.cmsg_len = CMSG_LEN(declared);
    std::memcpy(buffer_ + offset, &header, sizeof(header));
    std::memcpy(buffer_ + offset + CMSG_LEN(0), &value, sizeof(T));
    return *this;
  }
  msghdr Msg() {
    msghdr msg{};
    msg.msg_control = used_ == 0 ? nullptr : buffer_;
    msg.msg_controllen = used_;
    return msg;
  }

 private:
  alignas(cmsghdr) char buffer_[kControlBufferBytes] = {};
  std::size_t used_ = 0;
};

in_pktinfo V4Info(const char* destination, int ifindex) {
  in_pktinfo info{};
  info.ipi_ifindex = ifindex;
  inet_pton(AF_INET, destination, &info.ipi_addr);
  return info;
}

in6_pktinfo V6Info(const char* destination, unsigned ifindex) {
  in6_pktinfo info{};
  info.ipi6_ifindex = ifindex;
  inet_pton(AF_INET6, destination, &info.ipi6_addr);
  return info;
}

TEST(ParseReceiveInfoTest, NothingGivesNothing) {
  Control control;
  const ReceiveInfo info = ParseReceiveInfo(control.Msg());
  EXPECT_EQ(info.arrival_ifindex, 0u);
  EXPECT_TRUE(info.destination.empty());
  EXPECT_FALSE(info.kernel_drops.has_value());
}

TEST(ParseReceiveInfoTest, Ipv4PktinfoAndDrops) {
  Control control;
  control.Add(IPPROTO_IP, IP_PKTINFO, V4Info("239.255.255.250", 7))
      .Add(SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t{42});
  const ReceiveInfo info = ParseReceiveInfo(control.Msg());
  EXPECT_EQ(info.arrival_ifindex, 7u);
  EXPECT_EQ(info.destination, SocketAddress(*IpAddress::Parse("239.255.255.250"), 0));
  EXPECT_EQ(info.destination.port(), 0);
  ASSERT_TRUE(info.kernel_drops.has_value());
  EXPECT_EQ(*info.kernel_drops, 42u);
}

TEST(ParseReceiveInfoTest, Ipv6Pktinfo) {
  Control control;
  control.Add(SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t{0xffffffff})
      .Add(IPPROTO_IPV6, IPV6_PKTINFO, V6Info("ff02::c", 3));
  const ReceiveInfo info = ParseReceiveInfo(control.Msg());
  EXPECT_EQ(info.arrival_ifindex, 3u);
  EXPECT_EQ(info.destination, SocketAddress(*IpAddress::Parse("ff02::c"), 0));
  EXPECT_EQ(info.destination.scope_id(), 0u);
  ASSERT_TRUE(info.kernel_drops.has_value());
  EXPECT_EQ(*info.kernel_drops, 0xffffffffu);
}

TEST(ParseReceiveInfoTest, UnknownAndTruncatedMessagesAreIgnored) {
  Control control;
  control.Add(SOL_SOCKET, SO_TIMESTAMP, timeval{1, 2})
      .Add(IPPROTO_IP, IP_PKTINFO, V4Info("10.0.0.1", 9), sizeof(in_pktinfo) - 1)
      .Add(SOL_SOCKET, SO_RXQ_OVFL, std::uint32_t{5}, sizeof(std::uint16_t))
      .Add(IPPROTO_IP, IP_TTL, 64);
  const ReceiveInfo info = ParseReceiveInfo(control.Msg());
  EXPECT_EQ(info.arrival_ifindex, 0u);
  EXPECT_TRUE(info.destination.empty());
  EXPECT_FALSE(info.kernel_drops.has_value());
}

}  // namespace
}  // namespace onvif::net
