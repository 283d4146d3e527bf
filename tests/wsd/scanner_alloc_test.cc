// Scan must not allocate: this executable replaces the global allocation
// functions with counting ones and scans valid and invalid envelopes.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/wsd/scanner.h"
#include "tests/support/alloc_counter.h"


namespace onvif::wsd {
namespace {

const std::string kHead =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
    "xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
    "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\">";

std::vector<std::string> Envelopes() {
  std::vector<std::string> out;
  // Valid: plain, needing decoding (arena), many entries and types.
  out.push_back(kHead +
                "<s:Header><a:Action>act</a:Action><a:MessageID>urn:uuid:1</a:MessageID>"
                "<d:AppSequence InstanceId=\"1\" MessageNumber=\"&#x32;\" SequenceId=\"s\"/></s:Header><s:Body>"
                "<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:2</a:Address>"
                "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://a onvif://b"
                "</d:Scopes><d:XAddrs>http://1 http://2</d:XAddrs><d:MetadataVersion>3</d:MetadataVersion>"
                "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>");
  out.push_back(kHead +
                "<s:Body><d:Probe><d:Types xmlns:t=\"urn:a&amp;b\">t:X&#x20;dn:Y<![CDATA[ dn:Z]]></d:Types>"
                "<d:Scopes MatchBy=\"&#x61;\">a<!-- c -->b\r\n</d:Scopes><d:MetadataVersion>&#x35;"
                "</d:MetadataVersion></d:Probe></s:Body></s:Envelope>");
  std::string many = kHead + "<s:Body><d:ProbeMatches>";
  for (int i = 0; i < 64; ++i) many += "<d:ProbeMatch><d:Types>dn:A dn:B dn:C dn:D</d:Types></d:ProbeMatch>";
  out.push_back(many + "</d:ProbeMatches></s:Body></s:Envelope>");
  // Invalid: truncated, mismatched, bad reference, unbound prefix, doctype,
  // too large, not SOAP.
  out.push_back(kHead + "<s:Body>");
  out.push_back(kHead + "<s:Body></s:Bdy></s:Envelope>");
  out.push_back(kHead + "<s:Header><a:To>&nope;</a:To></s:Header></s:Envelope>");
  out.push_back(kHead + "<s:Body><x:Y/></s:Body></s:Envelope>");
  out.push_back("<!DOCTYPE x>" + kHead + "</s:Envelope>");
  out.push_back(std::string(kMaxEnvelopeBytes + 1, ' '));
  out.push_back("<Envelope/>");
  out.push_back(std::string());
  return out;
}

TEST(ScannerAllocTest, ScanDoesNotAllocate) {
  const std::vector<std::string> envelopes = Envelopes();
  Scanner scanner;  // may allocate its state, once
  std::size_t ok_count = 0;
  const long before = onvif::testing::AllocationCount();
  for (int round = 0; round < 3; ++round) {
    for (const std::string& xml : envelopes) {
      const ScanResult r = scanner.Scan(xml);
      if (r.ok()) ++ok_count;
      // Reading the results must not allocate either.
      for (const Entry& e : scanner.envelope().entries()) {
        for (const QName& q : scanner.envelope().types(e)) (void)q;
      }
    }
  }
  const long after = onvif::testing::AllocationCount();
  EXPECT_EQ(after - before, 0);
  EXPECT_EQ(ok_count, 9u);  // three valid envelopes, three rounds
}

// The shape cache's fast path and its rebuilds: distinct envelopes of one
// shape (hits), with a different shape and a failure in between (misses).
TEST(ScannerAllocTest, ShapeCacheDoesNotAllocate) {
  std::vector<std::string> storm;
  for (int i = 0; i < 32; ++i) {
    const std::string n = std::to_string(i * 7919);
    storm.push_back(kHead + "<s:Header><a:MessageID>urn:uuid:" + n + "</a:MessageID><d:AppSequence InstanceId=\"" + n +
                    "\" MessageNumber=\"" + std::to_string(i) + "\"/></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
                    "<a:EndpointReference><a:Address>urn:uuid:" + n + "</a:Address></a:EndpointReference>"
                    "<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/" + n +
                    "</d:Scopes><d:XAddrs>http://10.0.0." + std::to_string(i) + "/onvif</d:XAddrs>"
                    "<d:MetadataVersion>" + n + "</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>");
  }
  const std::vector<std::string> others = Envelopes();
  Scanner scanner;
  std::size_t ok_count = 0;
  const long before = onvif::testing::AllocationCount();
  for (int round = 0; round < 3; ++round) {
    for (const std::string& xml : storm) ok_count += scanner.Scan(xml).ok() ? 1 : 0;
    for (const std::string& xml : others) ok_count += scanner.Scan(xml).ok() ? 1 : 0;
  }
  const long after = onvif::testing::AllocationCount();
  EXPECT_EQ(after - before, 0);
  EXPECT_EQ(ok_count, 3 * (storm.size() + 3));
  EXPECT_GE(scanner.shape_hits(), 3 * (storm.size() - 1));
}

TEST(ScannerAllocTest, CounterWorks) {
  const long before = onvif::testing::AllocationCount();
  auto* p = new std::string(100, 'x');
  delete p;
  EXPECT_GT(onvif::testing::AllocationCount(), before);
}

}  // namespace
}  // namespace onvif::wsd
