// WS-Discovery, WS-Addressing and SOAP constants as ONVIF devices use them.
// Sources: OASIS WS-Discovery 2005/04 and 1.1 (2009/01), SOAP-over-UDP
// (Appendix I, retransmission), ONVIF Core Specification "Device discovery".

#ifndef ONVIF_ENGINE_WSD_CONSTANTS_H_
#define ONVIF_ENGINE_WSD_CONSTANTS_H_

#include <cstdint>
#include <string_view>

namespace onvif::wsd {

// Namespaces. ONVIF speaks SOAP 1.2 + WS-Addressing 2004/08 + WS-Discovery
// 2005/04; devices in the field also send SOAP 1.1 and the OASIS 1.1 set.
inline constexpr std::string_view kNsSoap12 = "http://www.w3.org/2003/05/soap-envelope";
inline constexpr std::string_view kNsSoap11 = "http://schemas.xmlsoap.org/soap/envelope/";
inline constexpr std::string_view kNsAddressing2004 = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
inline constexpr std::string_view kNsAddressing2005 = "http://www.w3.org/2005/08/addressing";
inline constexpr std::string_view kNsDiscovery2005 = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
inline constexpr std::string_view kNsDiscovery2009 = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01";

// Device types a prober asks for.
inline constexpr std::string_view kNsOnvifNetwork = "http://www.onvif.org/ver10/network/wsdl";  // dn:
inline constexpr std::string_view kNsOnvifDevice = "http://www.onvif.org/ver10/device/wsdl";    // tds:
inline constexpr std::string_view kNsDevProf = "http://schemas.xmlsoap.org/ws/2006/02/devprof";  // wsdp:
inline constexpr std::string_view kTypeNetworkVideoTransmitter = "NetworkVideoTransmitter";
inline constexpr std::string_view kTypeDevice = "Device";

// Actions (WS-Discovery 2005/04).
inline constexpr std::string_view kActionProbe = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe";
inline constexpr std::string_view kActionProbeMatches = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches";
inline constexpr std::string_view kActionResolve = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Resolve";
inline constexpr std::string_view kActionResolveMatches = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ResolveMatches";
inline constexpr std::string_view kActionHello = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello";
inline constexpr std::string_view kActionBye = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Bye";

// wsa:To of multicast messages (WS-Discovery 2005/04, section 2.4).
inline constexpr std::string_view kToDiscovery = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
// wsa:To of replies that go back to the sender (anonymous endpoint).
inline constexpr std::string_view kToAnonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

// Scope matching rules (WS-Discovery 2005/04, section 5.1).
inline constexpr std::string_view kMatchByRfc3986 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986";
inline constexpr std::string_view kMatchByRfc2396 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc2396";
inline constexpr std::string_view kMatchByUuid = "http://schemas.xmlsoap.org/ws/2005/04/discovery/uuid";
inline constexpr std::string_view kMatchByStrcmp0 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0";

// Wire.
inline constexpr std::uint16_t kPort = 3702;
inline constexpr std::string_view kMulticastV4 = "239.255.255.250";
inline constexpr std::string_view kMulticastV6 = "ff02::c";
// APP_MAX_DELAY: a device waits rand[0, this] before answering a multicast
// Probe (WS-Discovery 2005/04, section 2.4).
inline constexpr int kAppMaxDelayMs = 500;
// SOAP-over-UDP Appendix I: first retransmission after rand[50, 250] ms,
// doubling, capped at 500 ms.
inline constexpr int kUdpMinDelayMs = 50;
inline constexpr int kUdpMaxDelayMs = 250;
inline constexpr int kUdpUpperDelayMs = 500;

}  // namespace onvif::wsd

#endif  // ONVIF_ENGINE_WSD_CONSTANTS_H_
