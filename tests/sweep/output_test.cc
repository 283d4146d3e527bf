#include "engine/sweep/output.h"

#include "gtest/gtest.h"

namespace onvif::sweep {
namespace {

SweepResult Sample() {
  SweepResult r;
  DeviceInfo a;
  a.endpoint = "urn:uuid:a";
  a.types = {"{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter"};
  a.scopes = {"onvif://www.onvif.org/hardware/HW-1", "ONVIF://WWW.onvif.org/name/Front%20Door"};
  a.xaddrs = {"http://10.77.0.2/onvif/device_service", "https://10.77.0.2/"};
  a.best_xaddr = "http://10.77.0.2/onvif/device_service";
  a.metadata_version = 3;
  a.answered = {"dn:NetworkVideoTransmitter", "tds:Device"};
  a.interfaces = {"n0", "n1"};
  a.addresses = {"10.77.0.2"};
  a.first_seen_ms = 12;
  DeviceInfo b;
  b.endpoint = "urn:uuid:b\"q";
  b.interfaces = {"n1"};
  b.addresses = {"10.77.1.2"};
  b.first_seen_ms = 140;
  r.devices = {a, b};
  InterfaceStats s0;
  s0.name = "n0";
  s0.address = "10.77.0.1:40000";
  s0.rcvbuf = 16777216;
  s0.counters.probes_sent = 4;
  s0.counters.datagrams = 4;
  s0.counters.matches = 4;
  s0.counters.new_devices = 1;
  s0.counters.duplicates = 3;
  InterfaceStats s1;
  s1.name = "n1";
  s1.address = "10.77.1.1:40001";
  s1.rcvbuf = 425984;
  s1.counters.probes_sent = 4;
  s1.counters.datagrams = 9;
  s1.counters.matches = 8;
  s1.counters.new_devices = 1;
  s1.counters.duplicates = 7;
  s1.counters.malformed = 1;
  s1.counters.unrelated = 0;
  s1.counters.truncated = 0;
  s1.counters.kernel_drops = 2;
  r.stats.elapsed_ms = 1234;
  r.stats.cpu_us = 5678;
  r.stats.backend = "uring";
  r.stats.interfaces = {s0, s1};
  return r;
}

constexpr char kDeviceA[] =
    R"("endpoint":"urn:uuid:a","types":["{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter"],)"
    R"("scopes":["onvif://www.onvif.org/hardware/HW-1","ONVIF://WWW.onvif.org/name/Front%20Door"],)"
    R"("xaddrs":["http://10.77.0.2/onvif/device_service","https://10.77.0.2/"],)"
    R"("best_xaddr":"http://10.77.0.2/onvif/device_service","metadata_version":3,)"
    R"("answered":["dn:NetworkVideoTransmitter","tds:Device"],)"
    R"("interfaces":["n0","n1"],"addresses":["10.77.0.2"],"first_seen_ms":12)";
constexpr char kDeviceB[] =
    R"("endpoint":"urn:uuid:b\"q","types":[],"scopes":[],"xaddrs":[],"best_xaddr":null,"metadata_version":null,"answered":[],)"
    R"("interfaces":["n1"],"addresses":["10.77.1.2"],"first_seen_ms":140)";
constexpr char kStats[] =
    R"("elapsed_ms":1234,"cpu_us":5678,"backend":"uring","unresolved":0,"interfaces":[)"
    R"({"name":"n0","address":"10.77.0.1:40000","probes_sent":4,"send_errors":0,"datagrams":4,"matches":4,"new":1,)"
    R"("duplicates":3,"malformed":0,"unrelated":0,"truncated":0,"kernel_drops":0,"resolves_sent":0,"resolved":0,"rcvbuf":16777216,"sockets":[]},)"
    R"({"name":"n1","address":"10.77.1.1:40001","probes_sent":4,"send_errors":0,"datagrams":9,"matches":8,"new":1,)"
    R"("duplicates":7,"malformed":1,"unrelated":0,"truncated":0,"kernel_drops":2,"resolves_sent":0,"resolved":0,"rcvbuf":425984,"sockets":[]}])";

TEST(OutputTest, Json) {
  EXPECT_EQ(FormatJson(Sample()), std::string("{\"devices\":[{") + kDeviceA + "},{" + kDeviceB +
                                      "}],\"stats\":{" + kStats + "}}\n");
}

TEST(OutputTest, JsonEmpty) {
  EXPECT_EQ(FormatJson(SweepResult{}),
            "{\"devices\":[],\"stats\":{\"elapsed_ms\":0,\"cpu_us\":0,\"backend\":\"\",\"unresolved\":0,\"interfaces\":[]}}\n");
}

TEST(OutputTest, Ndjson) {
  const SweepResult r = Sample();
  EXPECT_EQ(FormatFoundEvent(r.devices[0]), std::string("{\"event\":\"found\",\"via\":\"probe\",") + kDeviceA + "}\n");
  EXPECT_EQ(FormatDeviceEvent("updated", "resolve", r.devices[0]),
            std::string("{\"event\":\"updated\",\"via\":\"resolve\",") + kDeviceA + "}\n");
  EXPECT_EQ(FormatSummaryEvent(2, r.stats),
            std::string("{\"event\":\"summary\",\"devices\":2,") + kStats + "}\n");
  // Appending lines to one buffer gives the lines one after the other.
  std::string stream = "earlier\n";
  AppendDeviceEvent("found", "probe", r.devices[0], &stream);
  AppendDeviceEvent("found", "probe", r.devices[1], &stream);
  EXPECT_EQ(stream, "earlier\n" + FormatFoundEvent(r.devices[0]) + FormatFoundEvent(r.devices[1]));
}

TEST(OutputTest, Table) {
  EXPECT_EQ(FormatTable(Sample()),
            "NAME          HARDWARE  XADDR                                  INTERFACES\n"
            "Front Door    HW-1      http://10.77.0.2/onvif/device_service  n0,n1\n"
            "urn:uuid:b\"q  -         -                                      n1\n"
            "n0 (10.77.0.1:40000): 4 probes, 4 datagrams, 4 matches, 1 new, 3 duplicates, "
            "0 malformed, 0 unrelated, 0 truncated, 0 kernel drops, rcvbuf 16777216\n"
            "n1 (10.77.1.1:40001): 4 probes, 9 datagrams, 8 matches, 1 new, 7 duplicates, "
            "1 malformed, 0 unrelated, 0 truncated, 2 kernel drops, rcvbuf 425984\n"
            "2 devices on 2 interfaces in 1234 ms (13 datagrams, 10 duplicates, 1 malformed, "
            "0 unrelated, 2 kernel drops)\n");
}

// An interface swept over both families: its counters are the sums, and
// "sockets" breaks them down per family under keys of their own.
TEST(OutputTest, InterfaceWithAProbeSocketPerFamily) {
  SweepResult r;
  DeviceInfo d;
  d.endpoint = "urn:uuid:c";
  d.interfaces = {"n0"};
  d.addresses = {"10.77.0.2", "fe80::2%n0"};
  d.xaddrs = {"http://[fe80::2]/onvif/device_service"};
  d.best_xaddr = "http://[fe80::2%25n0]/onvif/device_service";
  r.devices = {d};
  InterfaceStats n0;
  n0.name = "n0";
  n0.address = "10.77.0.1:40000";
  n0.rcvbuf = 1000;
  SocketStats v4;
  v4.family = net::Family::kIPv4;
  v4.address = "10.77.0.1:40000";
  v4.counters.probes_sent = 8;
  v4.counters.datagrams = 8;
  v4.counters.new_devices = 1;
  v4.counters.duplicates = 7;
  SocketStats v6;
  v6.family = net::Family::kIPv6;
  v6.address = "[fe80::1%n0]:40001";
  v6.counters.probes_sent = 8;
  v6.counters.datagrams = 8;
  v6.counters.duplicates = 8;
  n0.sockets = {v4, v6};
  n0.counters += v4.counters;
  n0.counters += v6.counters;
  r.stats.interfaces = {n0};
  const std::string json = FormatJson(r);
  EXPECT_NE(json.find(R"("addresses":["10.77.0.2","fe80::2%n0"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("best_xaddr":"http://[fe80::2%25n0]/onvif/device_service")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"name":"n0","address":"10.77.0.1:40000","probes_sent":16,"send_errors":0,"datagrams":16,)"
                      R"("matches":0,"new":1,"duplicates":15,)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("rcvbuf":1000,"sockets":[{"family":"IPv4","address":"10.77.0.1:40000","probes":8,)"
                      R"("received":8},{"family":"IPv6","address":"[fe80::1%n0]:40001","probes":8,"received":8}]})"),
            std::string::npos)
      << json;
  // Each counter name appears once per interface, so summing it over the
  // document gives the interface totals.
  std::size_t probes_sent_keys = 0;
  for (std::size_t at = json.find("\"probes_sent\":"); at != std::string::npos;
       at = json.find("\"probes_sent\":", at + 1)) {
    ++probes_sent_keys;
  }
  EXPECT_EQ(probes_sent_keys, 1u);
  const std::string table = FormatTable(r);
  EXPECT_NE(table.find("n0 (10.77.0.1:40000, [fe80::1%n0]:40001): 16 probes, 16 datagrams, 0 matches, 1 new, "
                       "15 duplicates"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("1 devices on 1 interfaces in "), std::string::npos) << table;
}

TEST(OutputTest, ScopeValueAndPercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc%2"), "a b/c%2");
  EXPECT_EQ(PercentDecode("%zz%41"), "%zzA");
  const std::vector<std::string> scopes = {"onvif://www.onvif.org/Profile/Streaming",
                                           "onvif://www.onvif.org/name/Cam%C3%A9ra%201"};
  EXPECT_EQ(ScopeValue(scopes, kNameScope), "Caméra 1");
  EXPECT_EQ(ScopeValue(scopes, kHardwareScope), std::nullopt);
  // The path is case-sensitive; scheme and authority are not.
  EXPECT_EQ(ScopeValue({"onvif://www.onvif.org/NAME/x"}, kNameScope), std::nullopt);
}

TEST(OutputTest, ParseFormat) {
  EXPECT_EQ(*ParseFormat("table"), Format::kTable);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_EQ(*ParseFormat("ndjson"), Format::kNdjson);
  EXPECT_FALSE(ParseFormat("xml").ok());
}

}  // namespace
}  // namespace onvif::sweep
