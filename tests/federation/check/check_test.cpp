// `parley check` for federation (federation/check.hpp): the findings that given SRV records,
// addresses and certificates produce against a configuration, and check_federation() asking a
// private dnsmasq (or a DNS server that never answers).
#include "federation/check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/federation/dns/dnsmasq.hpp"
#include "tests/federation/pki/test_pki.hpp"

namespace parley::federation {
namespace {

using core::CheckReport;
using core::Severity;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using namespace std::chrono_literals;

std::vector<std::string> lines(const CheckReport& report, Severity severity) {
  std::vector<std::string> out;
  for (const auto& finding : report.findings()) {
    if (finding.severity == severity) out.push_back(finding.message);
  }
  return out;
}

dns::SrvRecord srv(const char* service, std::string target, std::uint16_t port,
                   std::uint16_t priority = 0, std::uint16_t weight = 0) {
  dns::SrvRecord record;
  record.service = service;
  record.target = std::move(target);
  record.port = port;
  record.priority = priority;
  record.weight = weight;
  const std::string_view s(service);
  record.direct_tls = s == dns::kXmppsServerService || s == kXmppsClientService;
  return record;
}

HostLookup at(std::vector<std::string> addresses) {
  HostLookup lookup;
  for (const auto& a : addresses) lookup.addresses.push_back(boost::asio::ip::make_address(a));
  return lookup;
}

HostLookup nxdomain(const std::string& name) {
  HostLookup lookup;
  lookup.error = name + ": no such domain (NXDOMAIN)";
  lookup.not_found = true;
  return lookup;
}

HostLookup timeout(const std::string& name) {
  HostLookup lookup;
  lookup.error = name + ": DNS timeout after 2.5 s";
  lookup.timed_out = true;
  return lookup;
}

// chat.test, default listeners: s2s 5269/5270, c2s 5222/5223, all interfaces.
class AssessDnsTest : public ::testing::Test {
 protected:
  AssessDnsTest() {
    config_.hosts = {core::VirtualHost{"chat.test", {}, {}, false, std::nullopt, {}}};
    dns_.domain = "chat.test";
  }

  // The usual records: direct TLS first, then STARTTLS, both at xmpp.chat.test; clients none.
  void usual_records() {
    dns_.servers.records = {srv(dns::kXmppsServerService, "xmpp.chat.test", 5270),
                            srv(dns::kXmppServerService, "xmpp.chat.test", 5269, 5)};
    dns_.hosts["xmpp.chat.test"] = at({"192.0.2.1"});
    dns_.hosts["chat.test"] = at({"192.0.2.1"});
  }

  CheckReport assess() {
    CheckReport report;
    assess_dns(config_, dns_, report);
    return report;
  }

  core::Config config_;
  DomainDns dns_;
};

TEST_F(AssessDnsTest, RecordsMatchingTheListenersAreOkInTheOrderServersTryThem) {
  usual_records();
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Warning), IsEmpty());
  const auto ok = lines(report, Severity::Ok);
  ASSERT_GE(ok.size(), 3u);
  EXPECT_EQ(ok[0],
            "_xmpps-server._tcp.chat.test SRV 0 0 5270 xmpp.chat.test: xmpp.chat.test is "
            "192.0.2.1; other servers connect there with direct TLS, to [s2s] tls_port");
  EXPECT_EQ(ok[1],
            "_xmpp-server._tcp.chat.test SRV 5 0 5269 xmpp.chat.test: xmpp.chat.test is "
            "192.0.2.1; other servers connect there with STARTTLS, to [s2s] port");
  EXPECT_EQ(ok[2],
            "chat.test has no SRV records for clients (_xmpps-client._tcp, _xmpp-client._tcp): "
            "clients connect to chat.test itself, 192.0.2.1, on port 5222 with STARTTLS "
            "(RFC 6120 §3.2.2), to [c2s] port");
}

TEST_F(AssessDnsTest, RecordForPort5269WhileTheS2sPortIsOffIsAnError) {
  usual_records();
  config_.s2s.listener.port = std::nullopt;
  const auto errors = lines(assess(), Severity::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "_xmpp-server._tcp.chat.test SRV 5 0 5269 xmpp.chat.test: other servers connect to "
            "port 5269 with STARTTLS, but Parley's STARTTLS listener for servers is off ([s2s] "
            "port = false): set port = 5269 in [s2s], or remove the record");
}

TEST_F(AssessDnsTest, DirectTlsRecordWhileTheTlsPortIsOffIsAnError) {
  usual_records();
  config_.s2s.tls_listener.port = std::nullopt;
  const auto errors = lines(assess(), Severity::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], AllOf(HasSubstr("_xmpps-server._tcp.chat.test SRV 0 0 5270"),
                               HasSubstr("([s2s] tls_port = false): set tls_port = 5270")));
}

TEST_F(AssessDnsTest, StarttlsRecordOnTheDirectTlsPortIsAnError) {
  dns_.servers.records = {srv(dns::kXmppServerService, "xmpp.chat.test", 5270)};
  dns_.hosts["xmpp.chat.test"] = at({"192.0.2.1"});
  const auto errors = lines(assess(), Severity::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0],
              AllOf(HasSubstr("connect to port 5270 with STARTTLS, but that is Parley's direct "
                              "TLS port for servers ([s2s] tls_port)"),
                    HasSubstr("point the record at port 5269")));
}

TEST_F(AssessDnsTest, OtherPortIsAWarningSinceAFirewallMayForwardIt) {
  dns_.servers.records = {srv(dns::kXmppServerService, "xmpp.chat.test", 5300)};
  dns_.hosts["xmpp.chat.test"] = at({"192.0.2.1"});
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Warning),
              Contains(HasSubstr("but Parley listens for them on port 5269 ([s2s] port): unless "
                                 "a firewall forwards 5300 to 5269")));
}

TEST_F(AssessDnsTest, TargetNotResolvingToTheBoundAddressIsAWarning) {
  usual_records();
  dns_.servers.records.pop_back();  // the direct TLS record only
  config_.s2s.tls_listener.address = "10.0.0.1";
  const auto warnings = lines(assess(), Severity::Warning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "_xmpps-server._tcp.chat.test SRV 0 0 5270 xmpp.chat.test: xmpp.chat.test is "
            "192.0.2.1, but Parley listens for servers only on 10.0.0.1 ([s2s] bind): unless a "
            "router forwards it to 10.0.0.1, other servers will fail to connect");

  config_.s2s.tls_listener.address = "192.0.2.1";
  EXPECT_THAT(lines(assess(), Severity::Warning), IsEmpty());
  // The top-level bind counts for listeners without their own.
  config_.s2s.tls_listener.address.clear();
  config_.bind_address = "10.0.0.2";
  EXPECT_THAT(lines(assess(), Severity::Warning), Contains(HasSubstr("only on 10.0.0.2 (bind)")));
}

TEST_F(AssessDnsTest, NoSrvRecordsMeansTheDomainItselfOn5269) {
  dns_.hosts["chat.test"] = at({"192.0.2.7", "2001:db8::7"});
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Ok),
              Contains("chat.test has no SRV records for servers (_xmpps-server._tcp, "
                       "_xmpp-server._tcp): other servers connect to chat.test itself, 192.0.2.7 "
                       "and 2001:db8::7, on port 5269 with STARTTLS (RFC 6120 §3.2.2), to [s2s] "
                       "port"));
}

TEST_F(AssessDnsTest, NoSrvRecordsAndAnotherS2sPortSuggestsARecord) {
  dns_.hosts["chat.test"] = at({"192.0.2.7"});
  config_.s2s.listener.port = 5300;
  EXPECT_THAT(lines(assess(), Severity::Warning),
              Contains(HasSubstr("publish \"_xmpp-server._tcp.chat.test. 3600 IN SRV 0 5 5300 "
                                 "chat.test.\"")));
  config_.s2s.listener.port = std::nullopt;
  EXPECT_THAT(lines(assess(), Severity::Error),
              Contains(HasSubstr("but Parley's STARTTLS listener for servers is off")));
}

TEST_F(AssessDnsTest, NoSrvRecordsAndNoAddressMeansNobodyCanFindYou) {
  dns_.hosts["chat.test"] = nxdomain("chat.test");
  const CheckReport report = assess();
  const auto errors = lines(report, Severity::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0],
              AllOf(HasSubstr("chat.test has no SRV records for servers"),
                    HasSubstr("and no A or AAAA address (chat.test: no such domain (NXDOMAIN)): "
                              "other servers cannot find chat.test"),
                    HasSubstr("\"_xmpp-server._tcp.chat.test. 3600 IN SRV 0 5 5269 xmpp."
                              "chat.test.\"")));
  // For clients it is a warning: they can be told the host by hand.
  EXPECT_THAT(lines(report, Severity::Warning),
              Contains(HasSubstr("clients cannot find chat.test")));
}

TEST_F(AssessDnsTest, LoneDotForServersSaysNoFederation) {
  dns_.servers.records = {srv(dns::kXmppServerService, ".", 0)};
  const auto errors = lines(assess(), Severity::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("_xmpp-server._tcp.chat.test SRV 0 0 0 .: '.' says chat.test "
                                   "offers no service for servers"));
  // ... unless direct TLS records remain (XEP-0368).
  dns_.servers.records.insert(dns_.servers.records.begin(),
                              srv(dns::kXmppsServerService, "xmpp.chat.test", 5270));
  dns_.hosts["xmpp.chat.test"] = at({"192.0.2.1"});
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Ok),
              Contains(HasSubstr("'.' says chat.test offers no STARTTLS; other servers use the "
                                 "_xmpps-server._tcp records (direct TLS)")));
}

TEST_F(AssessDnsTest, LoneDotForDirectTlsOnlyMeansNoDirectTls) {
  dns_.servers.records = {srv(dns::kXmppsServerService, ".", 0),
                          srv(dns::kXmppServerService, "xmpp.chat.test", 5269)};
  dns_.hosts["xmpp.chat.test"] = at({"192.0.2.1"});
  CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Ok),
              Contains(HasSubstr("'.' says chat.test offers no direct TLS (XEP-0368); other "
                                 "servers use the _xmpp-server._tcp records")));
  // Without STARTTLS records there is no A/AAAA fallback either.
  dns_.servers.records.pop_back();
  EXPECT_THAT(lines(assess(), Severity::Error),
              Contains(HasSubstr("do not fall back to chat.test's A/AAAA (XEP-0368)")));
}

TEST_F(AssessDnsTest, DnsTimeoutIsAWarningNotAnError) {
  dns_.servers.error = "_xmpp-server._tcp.chat.test: DNS timeout after 2.5 s";
  dns_.servers.timed_out = true;
  dns_.clients.error = "_xmpp-client._tcp.chat.test: DNS timeout after 2.5 s";
  dns_.clients.timed_out = true;
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Warning),
              Contains("the SRV records of chat.test for servers could not be looked up "
                       "(_xmpp-server._tcp.chat.test: DNS timeout after 2.5 s): check again when "
                       "DNS answers (--skip-dns does without it)"));
}

TEST_F(AssessDnsTest, TargetsThatDoNotResolveLeaveServersNowhereToGo) {
  usual_records();
  dns_.hosts["xmpp.chat.test"] = nxdomain("xmpp.chat.test");
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Warning),
              Contains(HasSubstr("xmpp.chat.test does not resolve (xmpp.chat.test: no such domain "
                                 "(NXDOMAIN)): other servers skip this record")));
  EXPECT_THAT(lines(report, Severity::Error),
              Contains("none of the SRV targets of chat.test for servers resolves: other servers "
                       "cannot reach chat.test; give xmpp.chat.test an A or AAAA record"));
  // A timeout proves nothing: no error.
  dns_.hosts["xmpp.chat.test"] = timeout("xmpp.chat.test");
  EXPECT_THAT(lines(assess(), Severity::Error), IsEmpty());
}

TEST_F(AssessDnsTest, ClientRecordsAreComparedWithTheC2sListeners) {
  usual_records();
  dns_.clients.records = {srv(kXmppsClientService, "xmpp.chat.test", 5223),
                          srv(kXmppClientService, "xmpp.chat.test", 5222)};
  CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Ok),
              Contains("_xmpp-client._tcp.chat.test SRV 0 0 5222 xmpp.chat.test: xmpp.chat.test "
                       "is 192.0.2.1; clients connect there with STARTTLS, to [c2s] port"));
  config_.c2s_tls.port = std::nullopt;
  EXPECT_THAT(lines(assess(), Severity::Error),
              Contains(HasSubstr("_xmpps-client._tcp.chat.test SRV 0 0 5223 xmpp.chat.test: "
                                 "clients connect to port 5223 with direct TLS, but Parley's "
                                 "direct TLS listener for clients is off ([c2s] tls_port = "
                                 "false)")));
}

TEST_F(AssessDnsTest, ServerRecordsWhileFederationIsOffAreAWarning) {
  usual_records();
  config_.s2s.enabled = false;
  config_.s2s.listener.port = std::nullopt;  // not compared: federation is off
  const CheckReport report = assess();
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty());
  const auto warnings = lines(report, Severity::Warning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("invite other servers, but federation is off here"));
}

TEST(AssessRouteTest, ARouteMustResolve) {
  core::S2sRoute route{"peer.test", "xmpp.peer.test", 5270, true};
  CheckReport report;
  assess_route(route, at({"10.0.0.5"}), report);
  assess_route(route, nxdomain("xmpp.peer.test"), report);
  assess_route(route, timeout("xmpp.peer.test"), report);
  ASSERT_EQ(report.findings().size(), 3u);
  EXPECT_EQ(report.findings()[0].severity, Severity::Ok);
  EXPECT_EQ(report.findings()[0].message,
            "the [[s2s.route]] for peer.test (xmpp.peer.test port 5270, direct TLS): "
            "xmpp.peer.test is 10.0.0.5");
  EXPECT_EQ(report.findings()[1].severity, Severity::Error);
  EXPECT_THAT(report.findings()[1].message, HasSubstr("stanzas to peer.test will bounce"));
  EXPECT_EQ(report.findings()[2].severity, Severity::Warning);
}

TEST(IsLocalOnlyTest, LocalhostAndNamesUnderIt) {
  EXPECT_TRUE(is_local_only("localhost"));
  EXPECT_TRUE(is_local_only("LocalHost"));
  EXPECT_TRUE(is_local_only("chat.localhost"));
  EXPECT_FALSE(is_local_only("notlocalhost"));
  EXPECT_FALSE(is_local_only("localhost.example.org"));
}

// --- certificates as other servers see them ----------------------------------------------------

class AssessCertificateTest : public ::testing::Test {
 protected:
  AssessCertificateTest() : anchors_(pki::TrustAnchors::load(ca_.write_root(dir_.path(), "ca"))) {}

  CheckReport assess(const pki::test::Issued& issued, const core::CheckOptions& options = {}) {
    CheckReport report;
    assess_certificate("chat.test", issued.certificate.get(), nullptr, *anchors_, report, options);
    return report;
  }

  pki::test::TempDir dir_;
  pki::test::TestCa ca_;
  std::shared_ptr<pki::TrustAnchors> anchors_;
};

TEST_F(AssessCertificateTest, CertificateFromATrustedCaAllowsSaslExternal) {
  const CheckReport report = assess(ca_.issue(pki::test::server_leaf("chat.test")));
  EXPECT_THAT(lines(report, Severity::Warning), IsEmpty());
  const auto ok = lines(report, Severity::Ok);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0],
            "other servers can authenticate chat.test with SASL EXTERNAL (XEP-0178): its "
            "certificate names it (DNS-ID) and chains to the CAs of " +
                (dir_.path() / "ca.pem").string() + " ([s2s] ca_file)");
}

TEST_F(AssessCertificateTest, SelfSignedCertificateMeansDialback) {
  const CheckReport report = assess(pki::test::self_signed(pki::test::server_leaf("chat.test")));
  const auto warnings = lines(report, Severity::Warning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0],
              HasSubstr("other servers cannot authenticate chat.test by its certificate (it is "
                        "self-signed): they will use dialback (XEP-0220) instead, and servers "
                        "that require valid certificates will refuse you"));
  EXPECT_THAT(lines(report, Severity::Ok), IsEmpty());
}

TEST_F(AssessCertificateTest, UntrustedCaOrAnotherNameMeansDialbackWithTheReason) {
  pki::test::TestCa other("Other CA");
  EXPECT_THAT(
      lines(assess(other.issue(pki::test::server_leaf("chat.test"))), Severity::Warning),
      Contains(AllOf(HasSubstr("it does not validate against the CAs of"),
                     HasSubstr("unable to get local issuer certificate"), HasSubstr("dialback"))));
  EXPECT_THAT(lines(assess(ca_.issue(pki::test::server_leaf("other.test"))), Severity::Warning),
              Contains(HasSubstr("(it does not name chat.test (it names DNS:other.test, "
                                 "CN:other.test))")));
}

TEST_F(AssessCertificateTest, ServerAuthOnlyIsNoted) {
  auto leaf = pki::test::server_leaf("chat.test");
  leaf.eku = pki::test::Eku::ServerAuth;
  const CheckReport report = assess(ca_.issue(leaf));
  EXPECT_THAT(lines(report, Severity::Warning), IsEmpty());
  EXPECT_THAT(lines(report, Severity::Ok),
              Contains(AllOf(HasSubstr("note: the certificate of chat.test allows TLS server use "
                                       "only (extended key usage serverAuth, no clientAuth)"),
                             HasSubstr("Parley and Prosody accept it"))));
  // The classic certificate has both: no note.
  EXPECT_THAT(lines(assess(ca_.issue(pki::test::server_leaf("chat.test"))), Severity::Ok),
              Not(Contains(HasSubstr("note:"))));
}

TEST_F(AssessCertificateTest, ExpiryWithinThirtyDaysIsAWarning) {
  const auto issued = ca_.issue(pki::test::server_leaf("chat.test"));
  std::tm tm{};
  ASSERT_EQ(ASN1_TIME_to_tm(X509_get0_notAfter(issued.certificate.get()), &tm), 1);
  core::CheckOptions options;
  options.now = std::chrono::system_clock::from_time_t(::timegm(&tm)) - 10 * 24h - 1h;
  const auto warnings = lines(assess(issued, options), Severity::Warning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0],
              AllOf(HasSubstr("other servers can authenticate chat.test with SASL EXTERNAL "
                              "(XEP-0178) only until "),
                    HasSubstr("(10 days from now), when its certificate expires: renew it")));
}

TEST_F(AssessCertificateTest, HostWithoutCertificateYetGetsTheDialbackWarning) {
  core::Config config;
  config.data_dir = dir_.path() / "data";
  config.hosts = {core::VirtualHost{"chat.test", {}, {}, false, std::nullopt, {}}};
  CheckReport report;
  assess_host_certificate(config, config.hosts.front(), *anchors_, report);
  EXPECT_THAT(lines(report, Severity::Warning),
              Contains(HasSubstr("parley serve will generate a self-signed one, so they will use "
                                 "dialback (XEP-0220)")));
  // The configured file is read (with its chain).
  const auto files = ca_.issue_files(pki::test::server_leaf("chat.test"), dir_.path(), "chat");
  config.hosts.front().certificate = files.certificate;
  config.hosts.front().key = files.key;
  CheckReport configured;
  assess_host_certificate(config, config.hosts.front(), *anchors_, configured);
  EXPECT_THAT(lines(configured, Severity::Ok), Contains(HasSubstr("SASL EXTERNAL")));
}

// --- check_federation() against DNS servers ----------------------------------------------------

core::Config config_for(std::vector<std::string> domains, std::string dns_server,
                        const std::filesystem::path& data_dir) {
  core::Config config;
  config.hosts.clear();
  for (auto& d : domains) {
    config.hosts.push_back(core::VirtualHost{std::move(d), {}, {}, false, std::nullopt, {}});
  }
  config.s2s.dns_servers = {std::move(dns_server)};
  config.data_dir = data_dir;
  return config;
}

std::string text_of(const CheckReport& report) {
  std::string text;
  for (const auto& f : report.findings()) {
    text += std::string(core::to_string(f.severity)) + ": " + f.message + "\n";
  }
  return text;
}

TEST(CheckFederationTest, AsksTheConfiguredDnsServerForServersClientsAndRoutes) {
  dns::test::Dnsmasq dnsmasq({
      "--srv-host=_xmpps-server._tcp.chat.test,xmpp.chat.test,5270,0,0",
      "--srv-host=_xmpp-server._tcp.chat.test,xmpp.chat.test,5269,10,0",
      "--srv-host=_xmpp-client._tcp.chat.test,xmpp.chat.test,5222,0,0",
      "--host-record=xmpp.chat.test,127.0.0.1",
      "--host-record=xmpp.peer.test,127.0.0.9",
  });
  pki::test::TempDir dir;
  core::Config config = config_for({"chat.test", "lost.test"}, dnsmasq.server(), dir.path());
  config.s2s.routes = {core::S2sRoute{"peer.test", "xmpp.peer.test", 5269, false},
                       core::S2sRoute{"gone.test", "xmpp.gone.test", 5269, false}};
  const CheckReport report = check_federation(config);
  const std::string text = text_of(report);
  EXPECT_THAT(text,
              HasSubstr("ok: DNS questions go to " + dnsmasq.server() + " ([s2s] dns_servers)"));
  EXPECT_THAT(text, HasSubstr("ok: _xmpps-server._tcp.chat.test SRV 0 0 5270 xmpp.chat.test: "
                              "xmpp.chat.test is 127.0.0.1; other servers connect there with "
                              "direct TLS, to [s2s] tls_port\n"
                              "ok: _xmpp-server._tcp.chat.test SRV 10 0 5269 xmpp.chat.test: "
                              "xmpp.chat.test is 127.0.0.1; other servers connect there with "
                              "STARTTLS, to [s2s] port\n"
                              "ok: _xmpp-client._tcp.chat.test SRV 0 0 5222 xmpp.chat.test: "
                              "xmpp.chat.test is 127.0.0.1; clients connect there with STARTTLS, "
                              "to [c2s] port\n"))
      << text;
  EXPECT_THAT(text, HasSubstr("error: lost.test has no SRV records for servers "
                              "(_xmpps-server._tcp, _xmpp-server._tcp) and no A or AAAA address "
                              "(lost.test: no such domain (NXDOMAIN)): other servers cannot find "
                              "lost.test"))
      << text;
  EXPECT_THAT(text, HasSubstr("ok: the [[s2s.route]] for peer.test (xmpp.peer.test port 5269, "
                              "STARTTLS): xmpp.peer.test is 127.0.0.9"))
      << text;
  EXPECT_THAT(text, HasSubstr("error: the [[s2s.route]] for gone.test (xmpp.gone.test port 5269, "
                              "STARTTLS): xmpp.gone.test does not resolve"))
      << text;
  EXPECT_THAT(text, HasSubstr("warning: other servers cannot authenticate chat.test by a "
                              "certificate: parley serve will generate a self-signed one"))
      << text;
}

TEST(CheckFederationTest, ASilentDnsServerTimesOutWithinTheBoundWithWarningsOnly) {
  dns::test::SilentServer silent;
  pki::test::TempDir dir;
  core::Config config = config_for({"chat.test"}, silent.server(), dir.path());
  FederationCheckOptions options;
  options.dns_timeout = 1000ms;
  const auto started = std::chrono::steady_clock::now();
  const CheckReport report = check_federation(config, options);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 2s);
  const std::string text = text_of(report);
  EXPECT_THAT(lines(report, Severity::Error), IsEmpty()) << text;
  // Each query gives up within the round's half of the bound.
  const auto warnings = lines(report, Severity::Warning);
  EXPECT_THAT(warnings,
              Contains(AllOf(HasSubstr("the SRV records of chat.test for servers could not be "
                                       "looked up ("),
                             HasSubstr("DNS timeout after 0."),
                             HasSubstr("): check again when DNS answers"))))
      << text;
  EXPECT_THAT(warnings,
              Contains(AllOf(HasSubstr("the SRV records of chat.test for clients could not be "
                                       "looked up (_xmpps-client._tcp.chat.test: DNS timeout "
                                       "after 0."),
                             HasSubstr("; _xmpp-client._tcp.chat.test: DNS timeout after 0."))))
      << text;
}

TEST(CheckFederationTest, LocalhostAndSkipDnsAskNothing) {
  dns::test::SilentServer silent;
  pki::test::TempDir dir;
  const auto started = std::chrono::steady_clock::now();
  const CheckReport local =
      check_federation(config_for({"localhost"}, silent.server(), dir.path()));
  EXPECT_EQ(text_of(local),
            "ok: localhost is a name for this machine only (RFC 6761 §6.3): other servers cannot "
            "reach it, so neither its DNS nor its certificate as they would see it is checked\n");
  FederationCheckOptions options;
  options.check_dns = false;
  const CheckReport skipped =
      check_federation(config_for({"chat.test"}, silent.server(), dir.path()), options);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_THAT(text_of(skipped), HasSubstr("ok: DNS was not asked (--skip-dns)"));
  EXPECT_THAT(text_of(skipped), Not(HasSubstr("SRV records of")));
}

}  // namespace
}  // namespace parley::federation
