// Runs the built onvif-scan binary (ONVIF_SCAN_BINARY) on files written to a
// temporary directory and checks its output lines and exit status exactly.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/strings.h"
#include "engine/wsd/builder.h"
#include "engine/wsd/constants.h"
#include "engine/wsd/scanner.h"
#include "gtest/gtest.h"

namespace onvif {
namespace {

using ::onvif::base::StrCat;

struct RunResult {
  int exit_status = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class OnvifScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "onvif_scan_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    const std::string command = StrCat("rm -rf '", dir_, "'");
    EXPECT_EQ(std::system(command.c_str()), 0);
  }

  std::string Path(std::string_view name) const { return StrCat(dir_, "/", name); }

  std::string Write(std::string_view name, std::string_view data) const {
    const std::string path = Path(name);
    WriteFile(path, data);
    return path;
  }

  // Runs the tool in the temp dir with args (each single-quoted) and stdin
  // from stdin_path (default: /dev/null).
  RunResult Run(const std::vector<std::string>& args,
                const std::string& stdin_path = "/dev/null") const {
    std::string command = StrCat("cd '", dir_, "' && '", ONVIF_SCAN_BINARY, "'");
    for (const std::string& arg : args) command += StrCat(" '", arg, "'");
    command += StrCat(" <'", stdin_path, "' >'", Path("stdout"), "' 2>'", Path("stderr"),
                    "'");
    RunResult result;
    const int status = std::system(command.c_str());
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = ReadFile(Path("stdout"));
    result.err = ReadFile(Path("stderr"));
    return result;
  }

  std::string dir_;
};

// A ProbeMatches as a camera sends it, with values that need escaping.
std::string CameraReply() {
  wsd::DeviceDescription camera;
  camera.endpoint = "urn:uuid:4f1c2b7a-0c3d-4e5f-8a9b-000000000001";
  camera.types = {{std::string(wsd::kNsOnvifNetwork), "NetworkVideoTransmitter"},
                  {std::string(wsd::kNsOnvifDevice), "Device"}};
  camera.scopes = {"onvif://www.onvif.org/Profile/Streaming",
                   "onvif://www.onvif.org/name/Q&A\"cam\""};
  camera.xaddrs = {"http://192.168.1.64/onvif/device_service",
                   "http://169.254.1.2/onvif/device_service"};
  camera.metadata_version = 7;
  const std::vector<wsd::DeviceDescription> matches = {camera};
  return wsd::BuildProbeMatches(
      "urn:uuid:00000000-0000-4000-8000-000000000002",
      "urn:uuid:00000000-0000-4000-8000-000000000001",
      wsd::AppSequenceSpec{.instance_id = 1700000000, .sequence_id = "urn:uuid:s<1>",
                           .message_number = 3},
      matches);
}

std::string CameraLine(std::string_view file) {
  return StrCat(
      R"({"file":")", file, R"(","ok":true,)",
      R"("action":"http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches",)",
      R"("message_id":"urn:uuid:00000000-0000-4000-8000-000000000002",)",
      R"("relates_to":"urn:uuid:00000000-0000-4000-8000-000000000001",)",
      R"("to":"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",)",
      R"("kind":"probe_matches",)",
      R"("app_sequence":{"instance_id":1700000000,"sequence_id":"urn:uuid:s<1>","message_number":3},)",
      R"("endpoints":[{"endpoint":"urn:uuid:4f1c2b7a-0c3d-4e5f-8a9b-000000000001",)",
      R"("types":["{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter",)",
      R"("{http://www.onvif.org/ver10/device/wsdl}Device"],)",
      R"("scopes":["onvif://www.onvif.org/Profile/Streaming",)",
      R"("onvif://www.onvif.org/name/Q&A\"cam\""],)",
      R"("xaddrs":["http://192.168.1.64/onvif/device_service",)",
      R"("http://169.254.1.2/onvif/device_service"],"metadata_version":7}]})", "\n");
}

// The error line the tool must print for bytes the scanner rejects; the error
// and offset come from the scanner itself so this test pins the tool, not the
// scanner's choice of offset.
std::string ErrorLine(std::string_view file, std::string_view bytes) {
  wsd::Scanner scanner;
  const wsd::ScanResult result = scanner.Scan(bytes);
  EXPECT_FALSE(result.ok()) << "expected these bytes to be rejected";
  return StrCat(R"({"file":")", file, R"(","ok":false,"error":")",
                      wsd::ScanErrorName(result.error), R"(","offset":)", result.offset, "}\n");
}

TEST_F(OnvifScanTest, ScansABuiltProbeMatches) {
  const std::string path = Write("reply.xml", CameraReply());
  const RunResult result = Run({path});
  EXPECT_EQ(result.out, CameraLine(path));
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.exit_status, 0);
}

TEST_F(OnvifScanTest, AbsentFieldsAreAbsentKeys) {
  const std::string probe = wsd::BuildProbe("urn:uuid:00000000-0000-4000-8000-000000000001",
                                            wsd::ProbeSpec{});
  const std::string path = Write("probe.xml", probe);
  const RunResult result = Run({path});
  EXPECT_EQ(result.out,
            StrCat(R"({"file":")", path, R"(","ok":true,)",
                         R"("action":"http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe",)",
                         R"("message_id":"urn:uuid:00000000-0000-4000-8000-000000000001",)",
                         R"("to":"urn:schemas-xmlsoap-org:ws:2005:04:discovery",)",
                         R"("kind":"probe","endpoints":[{}]})", "\n"));
  EXPECT_EQ(result.exit_status, 0);
}

TEST_F(OnvifScanTest, ReadsStandardInput) {
  const std::string path = Write("reply.xml", CameraReply());
  const RunResult result = Run({"-"}, path);
  EXPECT_EQ(result.out, CameraLine("-"));
  EXPECT_EQ(result.exit_status, 0);
}

TEST_F(OnvifScanTest, MalformedMissingAndGoodInOrder) {
  const std::string reply = CameraReply();
  const std::string truncated = reply.substr(0, reply.size() / 2);
  const std::string mismatched = "<s:Envelope xmlns:s=\"" + std::string(wsd::kNsSoap12) +
                                 "\"><s:Body></s:Header></s:Envelope>";
  const std::string good = Write("good.xml", reply);
  const std::string bad1 = Write("truncated.xml", truncated);
  const std::string bad2 = Write("mismatched.xml", mismatched);
  const std::string missing = Path("missing.xml");
  const RunResult result = Run({bad1, good, missing, bad2});
  EXPECT_EQ(result.out,
            StrCat(ErrorLine(bad1, truncated), CameraLine(good),
                         R"({"file":")", missing,
                         R"(","ok":false,"error":"io","message":"open: No such file or directory"})",
                         "\n", ErrorLine(bad2, mismatched)));
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.exit_status, 1);
}

TEST_F(OnvifScanTest, DirectoryIsAnIoError) {
  const RunResult result = Run({dir_});
  EXPECT_EQ(result.out, StrCat(R"({"file":")", dir_,
                                     R"(","ok":false,"error":"io","message":"read: Is a directory"})",
                                     "\n"));
  EXPECT_EQ(result.exit_status, 1);
}

TEST_F(OnvifScanTest, OversizeInputIsTooLarge) {
  // Valid prefix padded with whitespace past the 64 KiB limit: the tool reads
  // one byte over the limit, so the scanner sees it is too large.
  std::string big = CameraReply();
  big.append(wsd::kMaxEnvelopeBytes + 100 - big.size(), ' ');
  const std::string path = Write("big.xml", big);
  const RunResult result = Run({path});
  const std::string_view seen = std::string_view(big).substr(0, wsd::kMaxEnvelopeBytes + 1);
  EXPECT_EQ(result.out, ErrorLine(path, seen));
  EXPECT_NE(result.out.find(R"("error":"too_large")"), std::string::npos) << result.out;
  EXPECT_EQ(result.exit_status, 1);
}

TEST_F(OnvifScanTest, InvalidUtf8IsReplacedInOutput) {
  // A device name in Latin-1 (invalid UTF-8) still gives valid JSON.
  const std::string bye = wsd::BuildBye("urn:uuid:00000000-0000-4000-8000-000000000003",
                                        wsd::AppSequenceSpec{.instance_id = 1, .message_number = 2},
                                        "urn:caf\xE9");
  const std::string path = Write("bye.xml", bye);
  const RunResult result = Run({path});
  EXPECT_EQ(result.out,
            StrCat(R"({"file":")", path, R"(","ok":true,)",
                         R"("action":"http://schemas.xmlsoap.org/ws/2005/04/discovery/Bye",)",
                         R"("message_id":"urn:uuid:00000000-0000-4000-8000-000000000003",)",
                         R"("to":"urn:schemas-xmlsoap-org:ws:2005:04:discovery",)",
                         R"("kind":"bye","app_sequence":{"instance_id":1,"message_number":2},)",
                         R"("endpoints":[{"endpoint":"urn:caf)", "\xEF\xBF\xBD", R"("}]})", "\n"));
  EXPECT_EQ(result.exit_status, 0);
}

TEST_F(OnvifScanTest, NoArgumentsIsAUsageError) {
  const RunResult result = Run({});
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err.rfind("onvif-scan: no input files (use - for standard input)\nUsage: ", 0),
            0u)
      << result.err;
  EXPECT_EQ(result.exit_status, 2);
}

TEST_F(OnvifScanTest, UnknownOptionIsAUsageError) {
  const RunResult result = Run({"--frobnicate"});
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err.rfind("onvif-scan: unknown option '--frobnicate'\nUsage: ", 0), 0u)
      << result.err;
  EXPECT_EQ(result.exit_status, 2);
}

TEST_F(OnvifScanTest, HelpPrintsUsage) {
  const RunResult result = Run({"--help"});
  EXPECT_EQ(result.out.rfind("Usage: onvif-scan FILE...\n", 0), 0u) << result.out;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.exit_status, 0);
}

TEST_F(OnvifScanTest, DoubleDashEndsOptions) {
  Write("-odd-name.xml", CameraReply());
  const RunResult result = Run({"--", "-odd-name.xml"});
  EXPECT_EQ(result.out, CameraLine("-odd-name.xml"));
  EXPECT_EQ(result.exit_status, 0);
}

}  // namespace
}  // namespace onvif
