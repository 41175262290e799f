// The configuration file (core/config_file.hpp): the sample in etc/, defaults, relative paths,
// command-line overrides, and an error message for each kind of mistake, with its line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_file.hpp"

namespace parley::core {
namespace {

namespace fs = std::filesystem;

// The repository's root, from this file's path (tests/core/config_test.cpp).
fs::path source_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

Config parse(std::string_view text, const fs::path& base = "/etc/parley") {
  return parse_config(text, "parley.toml", base);
}

// The error parse() throws for `text`; fails the test when it does not throw.
ConfigError error_for(std::string_view text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return ConfigError("", 0, "");
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

void expect_same_settings_except_data_dir(const Config& a, const Config& b) {
  ASSERT_EQ(a.hosts.size(), b.hosts.size());
  for (std::size_t i = 0; i < a.hosts.size(); ++i) {
    EXPECT_EQ(a.hosts[i].domain, b.hosts[i].domain);
    EXPECT_EQ(a.hosts[i].certificate, b.hosts[i].certificate);
    EXPECT_EQ(a.hosts[i].key, b.hosts[i].key);
    EXPECT_EQ(a.hosts[i].allow_registration, b.hosts[i].allow_registration);
    EXPECT_EQ(a.hosts[i].modules, b.hosts[i].modules);
    EXPECT_EQ(a.hosts[i].disabled_modules, b.hosts[i].disabled_modules);
  }
  EXPECT_EQ(a.bind_address, b.bind_address);
  EXPECT_EQ(a.c2s.port, b.c2s.port);
  EXPECT_EQ(a.c2s.address, b.c2s.address);
  EXPECT_EQ(a.c2s_tls.port, b.c2s_tls.port);
  EXPECT_EQ(a.c2s_tls.address, b.c2s_tls.address);
  EXPECT_EQ(a.c2s_require_tls, b.c2s_require_tls);
  EXPECT_EQ(a.c2s_compact_tls, b.c2s_compact_tls);
  EXPECT_EQ(a.scram_iterations, b.scram_iterations);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.tls13_ciphersuites, b.tls13_ciphersuites);
  EXPECT_EQ(a.limits.max_stanza_bytes, b.limits.max_stanza_bytes);
  EXPECT_EQ(a.limits.unauthenticated_timeout, b.limits.unauthenticated_timeout);
  EXPECT_EQ(a.limits.max_auth_failures, b.limits.max_auth_failures);
  EXPECT_EQ(a.limits.registrations_per_address_per_hour,
            b.limits.registrations_per_address_per_hour);
  EXPECT_EQ(a.limits.max_sessions_per_account, b.limits.max_sessions_per_account);
  EXPECT_EQ(a.limits.stanzas_per_second, b.limits.stanzas_per_second);
  EXPECT_EQ(a.limits.stanza_burst, b.limits.stanza_burst);
  EXPECT_EQ(a.limits.max_roster_items, b.limits.max_roster_items);
  EXPECT_EQ(a.limits.max_offline_messages, b.limits.max_offline_messages);
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    EXPECT_EQ(a.groups[i].name, b.groups[i].name);
    EXPECT_EQ(a.groups[i].members, b.groups[i].members);
  }
  EXPECT_EQ(a.log_file, b.log_file);
  EXPECT_EQ(a.log_level, b.log_level);
  EXPECT_EQ(a.s2s.enabled, b.s2s.enabled);
  EXPECT_EQ(a.s2s.listener.port, b.s2s.listener.port);
  EXPECT_EQ(a.s2s.listener.address, b.s2s.listener.address);
  EXPECT_EQ(a.s2s.tls_listener.port, b.s2s.tls_listener.port);
  EXPECT_EQ(a.s2s.tls_listener.address, b.s2s.tls_listener.address);
  EXPECT_EQ(a.s2s.require_tls, b.s2s.require_tls);
  EXPECT_EQ(a.s2s.require_valid_certificates, b.s2s.require_valid_certificates);
  EXPECT_EQ(a.s2s.ca_file, b.s2s.ca_file);
  EXPECT_EQ(a.s2s.resolv_conf, b.s2s.resolv_conf);
  EXPECT_EQ(a.s2s.dns_servers, b.s2s.dns_servers);
  EXPECT_EQ(a.s2s.routes.size(), b.s2s.routes.size());
  EXPECT_EQ(a.s2s.connect_timeout, b.s2s.connect_timeout);
  EXPECT_EQ(a.s2s.idle_timeout, b.s2s.idle_timeout);
  EXPECT_EQ(a.s2s.max_queued_stanzas, b.s2s.max_queued_stanzas);
}

// A scratch directory for tests that read real files.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "parley-config-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, std::string_view text) const {
    const fs::path file = path_ / name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  fs::path path_;
};

TEST(ConfigFileTest, SampleLoadsAndEqualsTheDefaultsItDocuments) {
  const fs::path sample = source_root() / "etc" / "parley.toml";
  ASSERT_TRUE(fs::exists(sample)) << sample;
  const Config config = load_config_file(sample);
  expect_same_settings_except_data_dir(config, Config{});
  // The one value the sample sets on purpose: the systemd unit's state directory.
  EXPECT_EQ(config.data_dir, fs::path("/var/lib/parley"));
  EXPECT_EQ(config.source_file, sample);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ConfigFileTest, SampleAndReferenceDocumentEveryKey) {
  const std::string sample = read_file(source_root() / "etc" / "parley.toml");
  const std::string reference = read_file(source_root() / "docs" / "CONFIG.md");
  ASSERT_FALSE(sample.empty());
  ASSERT_FALSE(reference.empty());
  for (std::string_view key : {"data_dir",
                               "bind",
                               "log_file",
                               "log_level",
                               "scram_iterations",
                               "threads",
                               "tls13_ciphersuites",
                               "port",
                               "tls_port",
                               "require_tls",
                               "compact_tls",
                               "max_stanza_bytes",
                               "unauthenticated_timeout",
                               "max_auth_failures",
                               "registrations_per_address_per_hour",
                               "max_sessions_per_account",
                               "stanzas_per_second",
                               "stanza_burst",
                               "max_roster_items",
                               "max_offline_messages",
                               "domain",
                               "certificate",
                               "key",
                               "allow_registration",
                               "modules",
                               "disabled_modules",
                               "name",
                               "members",
                               "enabled",
                               "require_valid_certificates",
                               "ca_file",
                               "resolv_conf",
                               "dns_servers",
                               "connect_timeout",
                               "idle_timeout",
                               "max_queued_stanzas",
                               "host",
                               "direct_tls"}) {
    EXPECT_TRUE(contains(sample, "\n" + std::string(key) + " = ") ||
                contains(sample, "\n# " + std::string(key) + " = "))
        << key << " is not in etc/parley.toml";
    EXPECT_TRUE(contains(reference, "| `" + std::string(key) + "` |"))
        << key << " is not in a table of docs/CONFIG.md";
  }
}

TEST(ConfigFileTest, SampleCommentedExamplesLoad) {
  // The sample's commented-out modules list, [[group]] and [[s2s.route]] (each up to the next
  // blank line), switched on.
  std::string text;
  std::istringstream in(read_file(source_root() / "etc" / "parley.toml"));
  bool in_example = false;
  for (std::string line; std::getline(in, line);) {
    for (std::string_view prefix : {"# modules = ", "# name = ", "# members = "}) {
      if (line.starts_with(prefix)) line.erase(0, 2);
    }
    if (line == "# [[group]]") line.erase(0, 2);
    if (line == "# [[s2s.route]]") in_example = true;
    if (line.empty()) in_example = false;
    if (in_example && line.starts_with("# ") && !line.starts_with("# (")) line.erase(0, 2);
    text += line + "\n";
  }
  const Config config = parse(text);
  ASSERT_TRUE(config.default_host().modules.has_value());
  EXPECT_FALSE(config.default_host().modules->empty());
  ASSERT_EQ(config.groups.size(), 1u);
  EXPECT_EQ(config.groups[0].members.size(), 2u);
  ASSERT_EQ(config.s2s.routes.size(), 1u) << text;
  EXPECT_FALSE(config.s2s.routes[0].host.empty());
}

TEST(ConfigFileTest, EmptyFileGivesTheDefaultsAndServesLocalhost) {
  const Config config = parse("# nothing set\n");
  expect_same_settings_except_data_dir(config, Config{});
  ASSERT_EQ(config.hosts.size(), 1u);
  EXPECT_EQ(config.default_host().domain, "localhost");
  // Even the default data directory is relative to the file's directory.
  EXPECT_EQ(config.data_dir, fs::path("/etc/parley/parley-data"));
}

TEST(ConfigFileTest, DefaultsOfTheImLimitsModulesAndGroups) {
  const Config config = parse("");
  EXPECT_EQ(config.limits.max_sessions_per_account, 10u);
  EXPECT_EQ(config.limits.stanzas_per_second, 100u);
  EXPECT_EQ(config.limits.stanza_burst, 200u);
  EXPECT_EQ(config.limits.max_roster_items, 1000u);
  EXPECT_EQ(config.limits.max_offline_messages, 1000u);
  EXPECT_EQ(config.default_host().modules, std::nullopt);  // the modules on by default
  EXPECT_TRUE(config.default_host().disabled_modules.empty());
  EXPECT_TRUE(config.groups.empty());
  // A [[host]] without the module keys gets the same.
  const Config with_host = parse("[[host]]\ndomain = \"example.org\"\n");
  EXPECT_EQ(with_host.default_host().modules, std::nullopt);
  EXPECT_TRUE(with_host.default_host().disabled_modules.empty());
}

TEST(ConfigFileTest, RelativePathsAreRelativeToTheFilesDirectory) {
  const Config config = parse(R"(
data_dir = "data"
log_file = "../log/parley.log"
[[host]]
domain = "example.org"
certificate = "certs/example.org.pem"
key = "/etc/ssl/private/example.org.key"
)",
                              "/srv/parley");
  EXPECT_EQ(config.data_dir, fs::path("/srv/parley/data"));
  EXPECT_EQ(config.log_file, fs::path("/srv/log/parley.log"));
  EXPECT_EQ(config.hosts[0].certificate, fs::path("/srv/parley/certs/example.org.pem"));
  EXPECT_EQ(config.hosts[0].key, fs::path("/etc/ssl/private/example.org.key"));
}

TEST(ConfigFileTest, EverySettingIsRead) {
  const Config config = parse(R"(
data_dir = "/var/lib/parley"
bind = "127.0.0.1"
log_level = "debug"
scram_iterations = 10000
threads = 3
[c2s]
port = 15222
tls_port = false
require_tls = false
compact_tls = false
bind = "::1"
[limits]
max_stanza_bytes = 65536
unauthenticated_timeout = 30
max_auth_failures = 5
registrations_per_address_per_hour = 2
[[host]]
domain = "Example.ORG"
allow_registration = true
[[host]]
domain = "chat.example.net"
)");
  EXPECT_EQ(config.bind_address, "127.0.0.1");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.scram_iterations, 10000u);
  EXPECT_EQ(config.threads, 3u);
  EXPECT_EQ(config.c2s.port, std::optional<std::uint16_t>(15222));
  EXPECT_EQ(config.c2s_tls.port, std::nullopt);
  EXPECT_FALSE(config.c2s_require_tls);
  EXPECT_FALSE(config.c2s_compact_tls);
  EXPECT_EQ(config.c2s.address, "::1");
  EXPECT_EQ(config.c2s_tls.address, "::1");
  EXPECT_EQ(config.limits.max_stanza_bytes, 65536u);
  EXPECT_EQ(config.limits.unauthenticated_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config.limits.max_auth_failures, 5u);
  EXPECT_EQ(config.limits.registrations_per_address_per_hour, 2u);
  ASSERT_EQ(config.hosts.size(), 2u);
  EXPECT_EQ(config.hosts[0].domain, "example.org");  // DNS names are case-insensitive
  EXPECT_TRUE(config.hosts[0].allow_registration);
  EXPECT_EQ(config.hosts[1].domain, "chat.example.net");
  EXPECT_FALSE(config.hosts[1].allow_registration);
}

TEST(ConfigFileTest, EveryImLimitIsRead) {
  const Config config = parse(R"(
[limits]
max_sessions_per_account = 3
stanzas_per_second = 50
stanza_burst = 50
max_roster_items = 100000
max_offline_messages = 1000000
)");
  EXPECT_EQ(config.limits.max_sessions_per_account, 3u);
  EXPECT_EQ(config.limits.stanzas_per_second, 50u);
  EXPECT_EQ(config.limits.stanza_burst, 50u);  // equal to the rate is enough
  EXPECT_EQ(config.limits.max_roster_items, 100000u);
  EXPECT_EQ(config.limits.max_offline_messages, 1000000u);
}

TEST(ConfigFileTest, LimitsAtTheEdgesOfTheirRanges) {
  const Config low = parse(
      "[limits]\nmax_sessions_per_account = 1\nstanzas_per_second = 0\nstanza_burst = 1\n"
      "max_roster_items = 1\nmax_offline_messages = 0\n");
  EXPECT_EQ(low.limits.max_sessions_per_account, 1u);
  EXPECT_EQ(low.limits.stanzas_per_second, 0u);
  EXPECT_EQ(low.limits.stanza_burst, 1u);
  EXPECT_EQ(low.limits.max_roster_items, 1u);
  EXPECT_EQ(low.limits.max_offline_messages, 0u);  // keep nothing: refuse offline messages
  const Config high = parse(
      "[limits]\nmax_sessions_per_account = 10000\nstanzas_per_second = 1000000\n"
      "stanza_burst = 1000000\n");
  EXPECT_EQ(high.limits.max_sessions_per_account, 10000u);
  EXPECT_EQ(high.limits.stanzas_per_second, 1000000u);
  EXPECT_EQ(high.limits.stanza_burst, 1000000u);
}

TEST(ConfigFileTest, RateLimitOffAllowsABurstBelowTheDefaultRate) {
  const Config config = parse("[limits]\nstanzas_per_second = 0\nstanza_burst = 5\n");
  EXPECT_EQ(config.limits.stanzas_per_second, 0u);
  EXPECT_EQ(config.limits.stanza_burst, 5u);
}

TEST(ConfigFileTest, RateWithinTheDefaultBurstNeedsNoBurst) {
  const Config config = parse("[limits]\nstanzas_per_second = 200\n");
  EXPECT_EQ(config.limits.stanzas_per_second, 200u);
  EXPECT_EQ(config.limits.stanza_burst, 200u);
}

TEST(ConfigFileTest, HostModuleListsAreRead) {
  const Config config = parse(R"(
[[host]]
domain = "example.org"
modules = ["roster", "presence",
           "disco"]
disabled_modules = ["presence"]
[[host]]
domain = "b.example"
disabled_modules = ["vcard", "carbons"]
[[host]]
domain = "c.example"
modules = []
)");
  ASSERT_EQ(config.hosts.size(), 3u);
  EXPECT_EQ(config.hosts[0].modules,
            (std::optional<std::vector<std::string>>({"roster", "presence", "disco"})));
  EXPECT_EQ(config.hosts[0].disabled_modules, std::vector<std::string>{"presence"});
  EXPECT_EQ(config.hosts[1].modules, std::nullopt);
  EXPECT_EQ(config.hosts[1].disabled_modules, (std::vector<std::string>{"vcard", "carbons"}));
  // An empty list is not an absent one: that host runs no module at all.
  ASSERT_TRUE(config.hosts[2].modules.has_value());
  EXPECT_TRUE(config.hosts[2].modules->empty());
}

TEST(ConfigFileTest, GroupsAreReadWithMembersPreparedAndDeduplicated) {
  // [[group]] may come before the [[host]] its members are on.
  const Config config = parse(R"(
[[group]]
name = "Staff"
members = [
  "Alice@Example.ORG",
  "bob@example.org",
  "alice@example.org",
  "carol@b.example.",
]
[[group]]
name = "Nobody yet"
[[group]]
name = "staff"
members = ["bob@example.org"]
[[host]]
domain = "example.org"
[[host]]
domain = "b.example"
)");
  ASSERT_EQ(config.groups.size(), 3u);
  EXPECT_EQ(config.groups[0].name, "Staff");
  EXPECT_EQ(config.groups[0].members,
            (std::vector<std::string>{"alice@example.org", "bob@example.org", "carol@b.example"}));
  EXPECT_EQ(config.groups[1].name, "Nobody yet");
  EXPECT_TRUE(config.groups[1].members.empty());
  // Roster group names are compared as written (RFC 6121 §2.1.2.2 does not fold case).
  EXPECT_EQ(config.groups[2].name, "staff");
  EXPECT_EQ(config.groups[2].members, std::vector<std::string>{"bob@example.org"});
}

TEST(ConfigFileTest, GroupMembersOnTheDefaultHost) {
  const Config config = parse("[[group]]\nname = \"All\"\nmembers = [\"alice@localhost\"]\n");
  ASSERT_EQ(config.groups.size(), 1u);
  EXPECT_EQ(config.groups[0].members, std::vector<std::string>{"alice@localhost"});
}

TEST(ConfigFileTest, PortZeroMeansAnyFreePortAndInlineTablesWork) {
  const Config config = parse("c2s = { port = 0 }\n");
  EXPECT_EQ(config.c2s.port, std::optional<std::uint16_t>(0));
}

// --- errors: each names the line and the key, and says what would be accepted ---------------

TEST(ConfigErrorTest, PortOutOfRange) {
  const ConfigError e = error_for("# ports\n[c2s]\nport = 70000\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_STREQ(e.what(),
               "parley.toml:3: key 'port' in [c2s] must be a whole number from 0 to 65535, or "
               "false to turn the listener off, e.g. port = 5222");
}

TEST(ConfigErrorTest, TooManyThreads) {
  const ConfigError e = error_for("log_level = \"info\"\nthreads = 65\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_STREQ(e.what(),
               "parley.toml:2: key 'threads' must be a whole number from 0 to 64 (0 means one "
               "per CPU core), e.g. threads = 2");
}

TEST(ConfigFileTest, ThreadsDefaultsToOneAndFlagsOverrideIt) {
  EXPECT_EQ(parse("").threads, 1u);
  Config config = parse("threads = 0\n");
  EXPECT_EQ(config.threads, 0u);
  ConfigOverrides flags;
  flags.threads = 4;
  apply_overrides(config, flags);
  EXPECT_EQ(config.threads, 4u);
  config.threads = 65;
  EXPECT_TRUE(validate(config).has_value());
}

TEST(ConfigErrorTest, PortGivenAsAString) {
  const ConfigError e = error_for("[c2s]\nport = 5222\ntls_port = \"5223\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "parley.toml:3: key 'tls_port' in [c2s] must be a whole number"))
      << e.what();
  EXPECT_TRUE(contains(e.what(), "e.g. tls_port = 5223")) << e.what();
}

TEST(ConfigErrorTest, PortTrueIsNotAPort) {
  const ConfigError e = error_for("[c2s]\n\n\nport = true\n");
  EXPECT_EQ(e.line(), 4u);
}

TEST(ConfigErrorTest, MisspelledKeySuggestsTheNearestOne) {
  const ConfigError e = error_for("log_level = \"info\"\n\n[c2s]\nport = 5222\n\n\nprot = 5223\n");
  EXPECT_STREQ(e.what(), "parley.toml:7: unknown key 'prot' in [c2s]; did you mean 'port'?");
  EXPECT_EQ(e.line(), 7u);
}

TEST(ConfigErrorTest, MisspelledTopLevelKeySuggestsTheNearestOne) {
  const ConfigError e = error_for("\ndatadir = \"/var/lib/parley\"\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:2: unknown key 'datadir' at the top level; did you mean 'data_dir'?");
}

TEST(ConfigErrorTest, UnknownKeyFarFromAnyListsTheKnownOnes) {
  const ConfigError e = error_for("[limits]\nmax_stanza_bytes = 65536\nbandwidth = 10\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(),
                       "unknown key 'bandwidth' in [limits]; the keys of [limits] are: "
                       "max_stanza_bytes, unauthenticated_timeout"))
      << e.what();
}

TEST(ConfigErrorTest, TopLevelKeyAfterATableHeaderExplainsTomlScoping) {
  // The classic TOML mistake: data_dir written below [c2s] belongs to [c2s].
  const ConfigError e = error_for("[c2s]\nport = 5222\ndata_dir = \"/srv/parley\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "unknown key 'data_dir' in [c2s]")) << e.what();
  EXPECT_TRUE(contains(e.what(), "move it above the first [table] line")) << e.what();
}

TEST(ConfigErrorTest, KeyOfAnotherTableSaysWhereItBelongs) {
  const ConfigError e = error_for("data_dir = \"x\"\nrequire_tls = false\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:2: unknown key 'require_tls' at the top level; 'require_tls' belongs "
               "in [c2s] or [s2s]");
}

TEST(ConfigErrorTest, SyntaxErrorGivesLineAndColumn) {
  const ConfigError e =
      error_for("data_dir = \"/var/lib/parley\"\n[[host]]\ndomain = example.org\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_GT(e.column(), 0u);
  EXPECT_TRUE(contains(e.what(), "parley.toml:3:")) << e.what();
  EXPECT_TRUE(contains(e.what(), "TOML syntax error")) << e.what();
}

TEST(ConfigErrorTest, KeyGivenTwiceIsASyntaxError) {
  const ConfigError e = error_for("[c2s]\nport = 5222\nport = 5223\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "TOML syntax error")) << e.what();
}

TEST(ConfigErrorTest, HostWithSingleBracketsAsksForDoubleOnes) {
  const ConfigError e = error_for("bind = \"\"\n[host]\ndomain = \"example.org\"\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(), "must be written [[host]] (with two brackets)")) << e.what();
}

TEST(ConfigErrorTest, HostWithoutDomain) {
  const ConfigError e =
      error_for("[[host]]\ndomain = \"a.example\"\n\n[[host]]\nallow_registration = true\n");
  EXPECT_EQ(e.line(), 4u);
  EXPECT_TRUE(contains(e.what(), "this [[host]] has no domain: add e.g. domain = \"example.org\""))
      << e.what();
}

TEST(ConfigErrorTest, InvalidDomain) {
  const ConfigError e = error_for("[[host]]\ndomain = \"alice@example.org\"\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(),
                       "key 'domain' in [[host]] is \"alice@example.org\", which is not "
                       "a domain Parley can serve"))
      << e.what();
}

TEST(ConfigErrorTest, DomainListedTwiceNamesBothLines) {
  const ConfigError e = error_for(
      "[[host]]\ndomain = \"example.org\"\n[[host]]\ndomain = \"a.example\"\n[[host]]\n"
      "domain = \"EXAMPLE.org\"\n");
  EXPECT_EQ(e.line(), 6u);
  EXPECT_TRUE(contains(e.what(),
                       "the domain example.org is already configured in the [[host]] at "
                       "line 1"))
      << e.what();
}

TEST(ConfigErrorTest, CertificateWithoutKey) {
  const ConfigError e = error_for(
      "[[host]]\ndomain = \"a.example\"\n\n[[host]]\ndomain = \"example.org\"\n"
      "certificate = \"/etc/parley/example.org.crt\"\n");
  EXPECT_EQ(e.line(), 4u);
  EXPECT_TRUE(
      contains(e.what(), "the [[host]] example.org has a certificate but no key: add key ="))
      << e.what();
}

TEST(ConfigErrorTest, UnknownLogLevelSuggestsOne) {
  const ConfigError e = error_for("\n\nlog_level = \"warning\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "did you mean \"warn\"?")) << e.what();
  const ConfigError e2 = error_for("log_level = \"debgu\"\n");
  EXPECT_TRUE(contains(e2.what(), "did you mean \"debug\"?")) << e2.what();
}

TEST(ConfigFileTest, Tls13CiphersuitesKeepsTheOrderGiven) {
  EXPECT_EQ(Config().tls13_ciphersuites, kDefaultTls13Suites);
  const Config config =
      parse("tls13_ciphersuites = \"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\"\n");
  EXPECT_EQ(config.tls13_ciphersuites, "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256");
}

TEST(ConfigErrorTest, Tls13CiphersuitesNamesOnlyKnownSuites) {
  // OpenSSL skips a name it does not know; the file must not lose a suite to a typo unnoticed.
  const ConfigError e =
      error_for("\ntls13_ciphersuites = \"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA348\"\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(),
                       "names \"TLS_AES_256_GCM_SHA348\", which is not a TLS 1.3 "
                       "cipher suite"))
      << e.what();
  EXPECT_TRUE(contains(e.what(), "did you mean \"TLS_AES_256_GCM_SHA384\"?")) << e.what();
  EXPECT_TRUE(contains(e.what(), "TLS_CHACHA20_POLY1305_SHA256")) << e.what();  // the list
  for (const char* bad : {"\"\"", "\"TLS_AES_128_GCM_SHA256:\"", "\"ECDHE-RSA-AES128-GCM-SHA256\"",
                          "\"TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384\"", "128"}) {
    SCOPED_TRACE(bad);
    const ConfigError b = error_for(std::string("tls13_ciphersuites = ") + bad + "\n");
    EXPECT_EQ(b.line(), 1u);
    EXPECT_TRUE(contains(b.what(), "tls13_ciphersuites")) << b.what();
  }
}

TEST(ConfigErrorTest, BindMustBeAnIpAddress) {
  const ConfigError e = error_for("[c2s]\nbind = \"localhost\"\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(
      contains(e.what(), "key 'bind' in [c2s] is \"localhost\", which is not an IP address"))
      << e.what();
}

TEST(ConfigErrorTest, TooFewScramIterations) {
  const ConfigError e = error_for("scram_iterations = 1000\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:1: key 'scram_iterations' must be a whole number from 4096 to 1000000 "
               "(RFC 5802 §5.1 asks for at least 4096), e.g. scram_iterations = 4096");
}

TEST(ConfigErrorTest, BooleanInQuotes) {
  const ConfigError e = error_for("[c2s]\nrequire_tls = \"yes\"\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:2: key 'require_tls' in [c2s] must be true or false, without quotes, "
               "e.g. require_tls = true");
}

TEST(ConfigErrorTest, StanzaLimitBelowTheRfcMinimum) {
  const ConfigError e = error_for("[limits]\n\nmax_stanza_bytes = 100\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "RFC 6120 §13.12")) << e.what();
}

TEST(ConfigErrorTest, TableWrittenAsAValue) {
  const ConfigError e = error_for("\nc2s = 5222\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(), "key 'c2s' must be a table: write [c2s] on a line of its own"))
      << e.what();
}

// --- [limits]: the IM limits -------------------------------------------------------------------

TEST(ConfigErrorTest, MaxSessionsPerAccountOutOfRange) {
  const ConfigError e = error_for("[limits]\n\nmax_sessions_per_account = 0\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:3: key 'max_sessions_per_account' in [limits] must be a whole number "
               "from 1 to 10000, e.g. max_sessions_per_account = 10");
  EXPECT_EQ(error_for("[limits]\nmax_sessions_per_account = 10001\n").line(), 2u);
}

TEST(ConfigErrorTest, StanzasPerSecondOutOfRangeSaysZeroTurnsItOff) {
  const ConfigError e = error_for("[limits]\nstanzas_per_second = -1\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:2: key 'stanzas_per_second' in [limits] must be a whole number from 0 "
               "to 1000000 (0: no limit), e.g. stanzas_per_second = 100");
  const ConfigError too_many = error_for(
      "[limits]\nstanza_burst = 2000000\n"
      "stanzas_per_second = 1000001\n");
  EXPECT_EQ(too_many.line(), 3u);
  EXPECT_TRUE(contains(too_many.what(), "key 'stanzas_per_second' in [limits] must be"))
      << too_many.what();
}

TEST(ConfigErrorTest, StanzaBurstOutOfRange) {
  const ConfigError e = error_for("[limits]\nstanzas_per_second = 0\nstanza_burst = 0\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:3: key 'stanza_burst' in [limits] must be a whole number from 1 to "
               "1000000, e.g. stanza_burst = 200");
}

TEST(ConfigErrorTest, StanzaBurstBelowTheRateNamesTheBurstLine) {
  const ConfigError e =
      error_for("[limits]\nstanzas_per_second = 100\nmax_roster_items = 5\nstanza_burst = 50\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:4: key 'stanza_burst' in [limits] is 50, less than stanzas_per_second "
               "= 100: the burst is how many stanzas a client may send at once, and must cover at "
               "least one second at the rate; set stanza_burst = 100 or more, or "
               "stanzas_per_second = 0 to turn the limit off");
}

TEST(ConfigErrorTest, BurstBelowTheDefaultRateIsAnErrorToo) {
  // The rate is left at its default (100).
  const ConfigError e = error_for("[limits]\n\nstanza_burst = 99\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "is 99, less than stanzas_per_second = 100")) << e.what();
}

TEST(ConfigErrorTest, RateAboveTheDefaultBurstNamesTheRateLine) {
  const ConfigError e = error_for("[limits]\nmax_roster_items = 5\nstanzas_per_second = 500\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:3: key 'stanzas_per_second' in [limits] is 500, more than "
               "stanza_burst (200 by default): the burst is how many stanzas a client may send at "
               "once, and must cover at least one second at the rate; add stanza_burst = 500 or "
               "more to [limits]");
}

TEST(ConfigErrorTest, MaxRosterItemsOutOfRange) {
  const ConfigError e = error_for("[limits]\nmax_roster_items = 100001\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:2: key 'max_roster_items' in [limits] must be a whole number from 1 "
               "to 100000, e.g. max_roster_items = 1000");
  EXPECT_EQ(error_for("[limits]\n\n\nmax_roster_items = 0\n").line(), 4u);
}

TEST(ConfigErrorTest, MaxOfflineMessagesOutOfRangeExplainsZero) {
  const ConfigError e = error_for("[limits]\nmax_offline_messages = \"1000\"\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:2: key 'max_offline_messages' in [limits] must be a whole number from "
               "0 to 1000000 (0: keep none, refuse every message to an offline user), e.g. "
               "max_offline_messages = 1000");
  EXPECT_EQ(error_for("[limits]\nmax_offline_messages = -1\n").line(), 2u);
  EXPECT_EQ(error_for("[limits]\nmax_offline_messages = 1000001\n").line(), 2u);
}

TEST(ConfigErrorTest, MisspelledLimitsSuggestTheNearestOne) {
  EXPECT_STREQ(error_for("[limits]\nmax_session_per_account = 3\n").what(),
               "parley.toml:2: unknown key 'max_session_per_account' in [limits]; did you mean "
               "'max_sessions_per_account'?");
  EXPECT_STREQ(error_for("[limits]\nstanza_brust = 300\n").what(),
               "parley.toml:2: unknown key 'stanza_brust' in [limits]; did you mean "
               "'stanza_burst'?");
  EXPECT_STREQ(error_for("[limits]\nstanzas_per_sec = 3\n").what(),
               "parley.toml:2: unknown key 'stanzas_per_sec' in [limits]; the keys of [limits] "
               "are: max_stanza_bytes, unauthenticated_timeout, max_auth_failures, "
               "registrations_per_address_per_hour, max_sessions_per_account, "
               "stanzas_per_second, stanza_burst, max_roster_items, max_offline_messages");
  EXPECT_STREQ(error_for("[limits]\nmax_offline_message = 3\n").what(),
               "parley.toml:2: unknown key 'max_offline_message' in [limits]; did you mean "
               "'max_offline_messages'?");
  EXPECT_STREQ(error_for("[limits]\nmax_roster_item = 3\n").what(),
               "parley.toml:2: unknown key 'max_roster_item' in [limits]; did you mean "
               "'max_roster_items'?");
}

TEST(ConfigErrorTest, LimitAtTheTopLevelSaysItBelongsInLimits) {
  EXPECT_STREQ(error_for("\nmax_roster_items = 10\n").what(),
               "parley.toml:2: unknown key 'max_roster_items' at the top level; "
               "'max_roster_items' belongs in [limits]");
}

// --- [[host]] modules ---------------------------------------------------------------------------

TEST(ConfigErrorTest, ModulesMustBeAList) {
  const ConfigError e = error_for("[[host]]\ndomain = \"example.org\"\nmodules = \"roster\"\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:3: key 'modules' in [[host]] must be a list of module names in double "
               "quotes, e.g. modules = [\"roster\", \"presence\"]");
}

TEST(ConfigErrorTest, ModuleNameThatIsNotAStringNamesItsOwnLine) {
  const ConfigError e = error_for(
      "[[host]]\ndomain = \"example.org\"\nmodules = [\n  \"roster\",\n  \"presence\",\n  "
      "42,\n]\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:6: key 'modules' in [[host]] holds a number, which is not a module "
               "name: write each one in double quotes, e.g. modules = [\"roster\", \"presence\"]");
  EXPECT_EQ(error_for("[[host]]\ndomain = \"a.example\"\ndisabled_modules = [[\"ping\"]]\n").line(),
            3u);
}

TEST(ConfigErrorTest, EmptyModuleName) {
  const ConfigError e =
      error_for("[[host]]\ndomain = \"example.org\"\n\ndisabled_modules = [\"ping\", \"\"]\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:4: key 'disabled_modules' in [[host]] holds an empty module name \"\": "
               "remove it (`parley check` and docs/MODULES.md list the modules)");
}

TEST(ConfigErrorTest, ModuleListedTwice) {
  const ConfigError e = error_for(
      "[[host]]\ndomain = \"example.org\"\nmodules = [\n  \"roster\",\n  \"ping\",\n  "
      "\"roster\",\n]\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:6: key 'modules' in [[host]] lists \"roster\" twice (first at line 4): "
               "remove one");
  // On one line, no need to point at the first one.
  EXPECT_STREQ(
      error_for("[[host]]\ndomain = \"example.org\"\ndisabled_modules = [\"ping\", \"ping\"]\n")
          .what(),
      "parley.toml:3: key 'disabled_modules' in [[host]] lists \"ping\" twice: remove one");
}

TEST(ConfigErrorTest, MisspelledModuleKeysSuggestTheNearestOne) {
  EXPECT_STREQ(error_for("[[host]]\ndomain = \"example.org\"\nmodule = [\"ping\"]\n").what(),
               "parley.toml:3: unknown key 'module' in [[host]]; did you mean 'modules'?");
  EXPECT_STREQ(
      error_for("[[host]]\ndomain = \"example.org\"\ndisable_modules = [\"ping\"]\n").what(),
      "parley.toml:3: unknown key 'disable_modules' in [[host]]; did you mean "
      "'disabled_modules'?");
  EXPECT_STREQ(error_for("modules = [\"ping\"]\n").what(),
               "parley.toml:1: unknown key 'modules' at the top level; 'modules' belongs in "
               "[[host]]");
}

// --- [[group]] ----------------------------------------------------------------------------------

TEST(ConfigErrorTest, GroupWithSingleBracketsAsksForDoubleOnes) {
  const ConfigError e = error_for("bind = \"\"\n[group]\nname = \"Staff\"\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_TRUE(contains(e.what(), "'group' must be written [[group]] (with two brackets)"))
      << e.what();
}

TEST(ConfigErrorTest, GroupsInThePluralSuggestsGroupTables) {
  EXPECT_STREQ(error_for("\n[[groups]]\nname = \"Staff\"\n").what(),
               "parley.toml:2: unknown key 'groups' at the top level; did you mean [[group]]? "
               "Write one [[group]] table per shared roster group");
}

TEST(ConfigErrorTest, GroupWithoutName) {
  const ConfigError e =
      error_for("[[group]]\nname = \"Staff\"\n\n[[group]]\nmembers = [\"alice@localhost\"]\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:4: this [[group]] has no name: add e.g. name = \"Staff\" below it (the "
               "roster group in which its members see each other)");
}

TEST(ConfigErrorTest, GroupNameEmptyOrNotAStringOrWithALineBreak) {
  EXPECT_STREQ(error_for("[[group]]\nname = \"\"\n").what(),
               "parley.toml:2: key 'name' in [[group]] must not be empty: it is the roster group "
               "the members see, e.g. name = \"Staff\"");
  EXPECT_STREQ(error_for("[[group]]\nname = 7\n").what(),
               "parley.toml:2: key 'name' in [[group]] must be a string in double quotes, e.g. "
               "name = \"Staff\"");
  const ConfigError e = error_for("[[group]]\n\nname = \"Staff\\nTeam\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_TRUE(contains(e.what(), "must not contain control characters")) << e.what();
}

TEST(ConfigErrorTest, GroupNameUsedTwiceNamesTheFirstGroup) {
  const ConfigError e = error_for(
      "[[group]]\nname = \"Staff\"\n[[group]]\nname = \"Board\"\n[[group]]\nmembers = []\n"
      "name = \"Staff\"\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:7: the group name \"Staff\" is already used by the [[group]] at line "
               "1: give each [[group]] its own name, or merge the two member lists");
}

TEST(ConfigErrorTest, GroupMembersMustBeAListOfStrings) {
  EXPECT_STREQ(
      error_for("[[group]]\nname = \"Staff\"\nmembers = \"alice@localhost\"\n").what(),
      "parley.toml:3: key 'members' in [[group]] must be a list of bare JIDs in double quotes, "
      "e.g. members = [\"alice@example.org\", \"bob@example.org\"]");
  EXPECT_STREQ(
      error_for("[[group]]\nname = \"Staff\"\nmembers = [\n  \"alice@localhost\",\n  true,\n]\n")
          .what(),
      "parley.toml:5: key 'members' in [[group]] holds a boolean, which is not a bare JID: write "
      "each one in double quotes, e.g. members = [\"alice@example.org\", \"bob@example.org\"]");
}

TEST(ConfigErrorTest, GroupMemberEmpty) {
  EXPECT_STREQ(error_for("[[group]]\nname = \"Staff\"\nmembers = [\"\"]\n").what(),
               "parley.toml:3: the member \"\" of the [[group]] \"Staff\" is empty: remove it");
}

TEST(ConfigErrorTest, GroupMemberThatIsNotAJid) {
  const ConfigError e = error_for(
      "[[group]]\nname = \"Staff\"\nmembers = [\n  \"alice@localhost\",\n  \"b<b@localhost\",\n]"
      "\n");
  EXPECT_STREQ(e.what(),
               "parley.toml:5: the member \"b<b@localhost\" of the [[group]] \"Staff\" is not a "
               "valid JID (invalid localpart): write the bare JID of an account, e.g. "
               "\"alice@example.org\"");
}

TEST(ConfigErrorTest, GroupMemberThatIsADomain) {
  EXPECT_STREQ(error_for("[[group]]\nname = \"Staff\"\nmembers = [\"LocalHost\"]\n").what(),
               "parley.toml:3: the member \"LocalHost\" of the [[group]] \"Staff\" is a domain, "
               "not an account: write an account's bare JID, e.g. \"alice@localhost\"");
}

TEST(ConfigErrorTest, GroupMemberWithAResource) {
  EXPECT_STREQ(
      error_for("[[group]]\nname = \"Staff\"\nmembers = [\"Alice@localhost/phone\"]\n").what(),
      "parley.toml:3: the member \"Alice@localhost/phone\" of the [[group]] \"Staff\" has a "
      "resource: write the bare JID \"alice@localhost\" (members are accounts, not one of their "
      "clients)");
}

TEST(ConfigErrorTest, GroupMemberOnAnUnservedDomainSuggestsTheNearestHost) {
  // The hosts come after the group in the file: members are checked once they are known.
  const ConfigError e = error_for(R"([[group]]
name = "Staff"
members = ["alice@example.org",
           "bob@exmaple.org"]
[[host]]
domain = "example.org"
[[host]]
domain = "chat.example.net"
)");
  EXPECT_STREQ(e.what(),
               "parley.toml:4: the member \"bob@exmaple.org\" of the [[group]] \"Staff\" is not "
               "on a domain this server serves (example.org, chat.example.net): did you mean "
               "\"bob@example.org\"? Or add a [[host]] with domain = \"exmaple.org\"");
}

TEST(ConfigErrorTest, GroupMemberOnAnUnservedDomain) {
  // Without [[host]], the server serves localhost only.
  EXPECT_STREQ(
      error_for("[[group]]\nname = \"Staff\"\nmembers = [\"alice@example.org\"]\n").what(),
      "parley.toml:3: the member \"alice@example.org\" of the [[group]] \"Staff\" is not on a "
      "domain this server serves (localhost): correct the address, or add a [[host]] with "
      "domain = \"example.org\"");
}

TEST(ConfigErrorTest, MisspelledGroupKeysSuggestTheNearestOne) {
  EXPECT_STREQ(error_for("[[group]]\nname = \"Staff\"\nmember = []\n").what(),
               "parley.toml:3: unknown key 'member' in [[group]]; did you mean 'members'?");
  EXPECT_STREQ(error_for("[[group]]\nname = \"Staff\"\ndomain = \"example.org\"\n").what(),
               "parley.toml:3: unknown key 'domain' in [[group]]; 'domain' belongs in [[host]] or "
               "[[s2s.route]]");
  EXPECT_STREQ(error_for("\nmembers = []\n").what(),
               "parley.toml:2: unknown key 'members' at the top level; 'members' belongs in "
               "[[group]]");
}

TEST(ConfigErrorTest, ValidationProblemsArePrefixedWithTheFileName) {
  const ConfigError e = error_for("[c2s]\nport = false\ntls_port = false\n");
  EXPECT_EQ(e.line(), 0u);
  EXPECT_STREQ(e.what(),
               "parley.toml: both client listeners are disabled: clients could not connect");
}

TEST(ConfigErrorTest, UnreadableFileIsNamed) {
  ScratchDir dir;
  const fs::path missing = dir.path() / "nope.toml";
  try {
    load_config_file(missing);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), missing.string() + ": cannot read the configuration file: No "
                                                      "such file or directory"))
        << e.what();
  }
}

TEST(ConfigErrorTest, LoadConfigFileNamesTheFileAsGiven) {
  ScratchDir dir;
  const fs::path file = dir.write("parley.toml", "[c2s]\nprot = 1\n");
  try {
    load_config_file(file);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), file.string());
    EXPECT_STREQ(e.what(), (file.string() + ":2: unknown key 'prot' in [c2s]; did you mean "
                                            "'port'?")
                               .c_str());
  }
}

// --- flags over the file ------------------------------------------------------------------------

TEST(ConfigOverridesTest, WithoutAFileTheDefaultsServeLocalhost) {
  const Config config = load_config(std::nullopt);
  ASSERT_EQ(config.hosts.size(), 1u);
  EXPECT_EQ(config.default_host().domain, "localhost");
  EXPECT_TRUE(config.source_file.empty());
}

TEST(ConfigOverridesTest, FlagsOverrideTheFile) {
  ScratchDir dir;
  const fs::path file = dir.write("parley.toml", R"(
bind = "::"
[c2s]
bind = "::1"
port = 5222
[[host]]
domain = "a.example"
certificate = "a.crt"
key = "a.key"
[[host]]
domain = "b.example"
)");
  ConfigOverrides flags;
  flags.domain = "Chat.Example";
  flags.certificate = "/tmp/chat.crt";
  flags.key = "/tmp/chat.key";
  flags.data_dir = "/tmp/data";
  flags.bind_address = "127.0.0.1";
  flags.c2s_port = ConfigOverrides::Port(0);
  flags.c2s_tls_port = ConfigOverrides::Port(std::nullopt);
  const Config config = load_config(file, flags);
  ASSERT_EQ(config.hosts.size(), 1u);
  EXPECT_EQ(config.hosts[0].domain, "chat.example");
  EXPECT_EQ(config.hosts[0].certificate, fs::path("/tmp/chat.crt"));
  EXPECT_EQ(config.hosts[0].key, fs::path("/tmp/chat.key"));
  EXPECT_EQ(config.data_dir, fs::path("/tmp/data"));
  EXPECT_EQ(config.bind_address, "127.0.0.1");
  EXPECT_EQ(config.c2s.address, "");  // --bind wins over the file's [c2s] bind
  EXPECT_EQ(config.c2s.port, std::optional<std::uint16_t>(0));
  EXPECT_EQ(config.c2s_tls.port, std::nullopt);
  EXPECT_EQ(config.source_file, file);
}

TEST(ConfigOverridesTest, CertificateFlagsApplyToTheFirstHostOfTheFile) {
  ScratchDir dir;
  const fs::path file = dir.write(
      "parley.toml", "[[host]]\ndomain = \"a.example\"\n[[host]]\ndomain = \"b.example\"\n");
  ConfigOverrides flags;
  flags.certificate = "/tmp/a.crt";
  flags.key = "/tmp/a.key";
  const Config config = load_config(file, flags);
  ASSERT_EQ(config.hosts.size(), 2u);
  EXPECT_EQ(config.hosts[0].certificate, fs::path("/tmp/a.crt"));
  EXPECT_TRUE(config.hosts[1].certificate.empty());
}

TEST(ConfigOverridesTest, ProblemsMadeByFlagsCarryNoFileName) {
  ConfigOverrides flags;
  flags.domain = "../etc";
  try {
    load_config(std::nullopt, flags);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(e.file().empty());
    EXPECT_TRUE(contains(e.what(), "invalid domain '../etc'")) << e.what();
  }
  ConfigOverrides only_cert;
  only_cert.certificate = "/tmp/x.crt";
  EXPECT_THROW(load_config(std::nullopt, only_cert), ConfigError);  // a certificate needs a key
}

TEST(ConfigOverridesTest, DomainFlagMustStillServeTheGroupMembers) {
  ScratchDir dir;
  const fs::path file =
      dir.write("parley.toml",
                "[[host]]\ndomain = \"example.org\"\nmodules = [\"ping\"]\n"
                "[[group]]\nname = \"Staff\"\nmembers = [\"alice@example.org\"]\n");
  ConfigOverrides flags;
  flags.domain = "Example.ORG";
  const Config same = load_config(file, flags);
  EXPECT_EQ(same.groups.size(), 1u);
  EXPECT_EQ(same.default_host().modules, std::nullopt);  // --domain starts from a fresh host
  flags.domain = "chat.example";
  try {
    load_config(file, flags);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(e.file().empty());
    EXPECT_STREQ(e.what(),
                 "the member alice@example.org of the shared group \"Staff\" is not on a served "
                 "domain: serve example.org too, or remove the member from the group");
  }
}

TEST(ConfigValidateTest, BurstBelowTheRate) {
  Config config;
  config.limits.stanzas_per_second = 300;
  EXPECT_EQ(validate(config),
            "the stanza burst (200) is less than stanzas_per_second (300): a client must be able "
            "to send one second's worth at once; set stanza_burst to 300 or more, or "
            "stanzas_per_second to 0 to turn the limit off");
  config.limits.stanzas_per_second = 0;
  EXPECT_EQ(validate(config), std::nullopt);
}

TEST(ConfigValidateTest, Groups) {
  Config config;
  config.groups.push_back({"Staff", {"alice@localhost", "bob@localhost"}});
  EXPECT_EQ(validate(config), std::nullopt);
  config.groups.push_back({"Staff", {}});
  EXPECT_EQ(validate(config),
            "the shared group \"Staff\" is configured twice: give each group its own name");
  config.groups.back().name = "";
  EXPECT_EQ(validate(config), "a shared group has no name: give every group one");
  config.groups.back().name = "Board";
  config.groups.back().members = {"alice@localhost/phone"};
  EXPECT_EQ(validate(config),
            "the member 'alice@localhost/phone' of the shared group \"Board\" is not the bare JID "
            "of an account: write it as alice@example.org");
}

TEST(ConfigOverridesTest, BindFlagMustBeAnAddress) {
  ConfigOverrides flags;
  flags.bind_address = "example.org";
  EXPECT_THROW(load_config(std::nullopt, flags), ConfigError);
}

// --- [s2s] and [[s2s.route]]: federation
// ----------------------------------------------------------

TEST(ConfigS2sTest, Defaults) {
  const Config config = parse("");
  const S2sConfig& s2s = config.s2s;
  EXPECT_TRUE(s2s.enabled);
  EXPECT_EQ(s2s.listener.port, std::optional<std::uint16_t>(5269));
  EXPECT_EQ(s2s.tls_listener.port, std::optional<std::uint16_t>(5270));
  EXPECT_EQ(s2s.listener.address, "");
  EXPECT_EQ(s2s.tls_listener.address, "");
  EXPECT_TRUE(s2s.require_tls);
  EXPECT_FALSE(s2s.require_valid_certificates);
  EXPECT_TRUE(s2s.ca_file.empty());
  EXPECT_TRUE(s2s.resolv_conf.empty());
  EXPECT_TRUE(s2s.dns_servers.empty());
  EXPECT_TRUE(s2s.routes.empty());
  EXPECT_EQ(s2s.connect_timeout, std::chrono::seconds(30));
  EXPECT_EQ(s2s.idle_timeout, std::chrono::seconds(600));
  EXPECT_EQ(s2s.max_queued_stanzas, 1000u);
  // An empty [s2s] table changes nothing either.
  expect_same_settings_except_data_dir(parse("[s2s]\n"), Config{});
}

// One key of [s2s] or [[s2s.route]] set to something other than its default, and what it sets.
struct S2sKeyCase {
  const char* name;
  std::string toml;
  std::function<bool(const S2sConfig&)> is_set;
};

class ConfigS2sKeyTest : public ::testing::TestWithParam<S2sKeyCase> {};

TEST_P(ConfigS2sKeyTest, IsRead) {
  const S2sKeyCase& c = GetParam();
  EXPECT_FALSE(c.is_set(Config{}.s2s)) << "the case must differ from the default";
  EXPECT_TRUE(c.is_set(parse(c.toml).s2s)) << c.toml;
}

const std::string kRoute = "[[s2s.route]]\ndomain = \"Example.NET\"\nhost = \"192.0.2.10\"\n";

INSTANTIATE_TEST_SUITE_P(
    EveryKey, ConfigS2sKeyTest,
    ::testing::Values(
        S2sKeyCase{"Enabled", "[s2s]\nenabled = false\n",
                   [](const S2sConfig& s) { return !s.enabled; }},
        S2sKeyCase{"Port", "[s2s]\nport = 15269\n",
                   [](const S2sConfig& s) { return s.listener.port == 15269; }},
        S2sKeyCase{"PortOff", "[s2s]\nport = false\n",
                   [](const S2sConfig& s) { return !s.listener.port; }},
        S2sKeyCase{"PortZero", "[s2s]\nport = 0\n",
                   [](const S2sConfig& s) { return s.listener.port == 0; }},
        S2sKeyCase{"TlsPort", "[s2s]\ntls_port = 15270\n",
                   [](const S2sConfig& s) { return s.tls_listener.port == 15270; }},
        S2sKeyCase{"TlsPortOff", "[s2s]\ntls_port = false\n",
                   [](const S2sConfig& s) { return !s.tls_listener.port; }},
        S2sKeyCase{"BindSetsBothListeners", "[s2s]\nbind = \"::1\"\n",
                   [](const S2sConfig& s) {
                     return s.listener.address == "::1" && s.tls_listener.address == "::1";
                   }},
        S2sKeyCase{"RequireTls", "[s2s]\nrequire_tls = false\n",
                   [](const S2sConfig& s) { return !s.require_tls; }},
        S2sKeyCase{"RequireValidCertificates", "[s2s]\nrequire_valid_certificates = true\n",
                   [](const S2sConfig& s) { return s.require_valid_certificates; }},
        S2sKeyCase{"DnsServers",
                   "[s2s]\ndns_servers = [\"192.0.2.53\", \"192.0.2.54:5353\", \"2001:db8::53\",\n"
                   "  \"[2001:db8::54]:5353\"]\n",
                   [](const S2sConfig& s) {
                     return s.dns_servers ==
                            std::vector<std::string>{"192.0.2.53", "192.0.2.54:5353",
                                                     "2001:db8::53", "[2001:db8::54]:5353"};
                   }},
        S2sKeyCase{"ConnectTimeout", "[s2s]\nconnect_timeout = 300\n",
                   [](const S2sConfig& s) { return s.connect_timeout.count() == 300; }},
        S2sKeyCase{"IdleTimeout", "[s2s]\nidle_timeout = 1\n",
                   [](const S2sConfig& s) { return s.idle_timeout.count() == 1; }},
        S2sKeyCase{"MaxQueuedStanzas", "[s2s]\nmax_queued_stanzas = 100000\n",
                   [](const S2sConfig& s) { return s.max_queued_stanzas == 100000u; }},
        S2sKeyCase{"RouteDomainLowerCasedHostAndDefaultPort", kRoute,
                   [](const S2sConfig& s) {
                     return s.routes.size() == 1 && s.routes[0].domain == "example.net" &&
                            s.routes[0].host == "192.0.2.10" && s.routes[0].port == 5269 &&
                            !s.routes[0].direct_tls && s.route("example.net") == &s.routes[0];
                   }},
        S2sKeyCase{
            "RoutePort", kRoute + "port = 15269\n",
            [](const S2sConfig& s) { return s.routes.size() == 1 && s.routes[0].port == 15269; }},
        S2sKeyCase{"RouteDirectTlsDefaultsToPort5270", kRoute + "direct_tls = true\n",
                   [](const S2sConfig& s) {
                     return s.routes.size() == 1 && s.routes[0].direct_tls &&
                            s.routes[0].port == 5270;
                   }},
        S2sKeyCase{"RouteHostNameAndIpv6",
                   "[[s2s.route]]\ndomain = \"a.example\"\nhost = \"xmpp.a.example\"\n"
                   "[[s2s.route]]\ndomain = \"b.example\"\nhost = \"2001:db8::10\"\n",
                   [](const S2sConfig& s) {
                     return s.routes.size() == 2 && s.routes[0].host == "xmpp.a.example" &&
                            s.routes[1].host == "2001:db8::10" && s.route("c.example") == nullptr;
                   }},
        S2sKeyCase{"RoutesAsAnInlineList",
                   "[s2s]\nroute = [{ domain = \"a.example\", host = \"192.0.2.1\" }]\n",
                   [](const S2sConfig& s) { return s.route("a.example") != nullptr; }}),
    [](const ::testing::TestParamInfo<S2sKeyCase>& param) {
      return std::string(param.param.name);
    });

TEST(ConfigS2sTest, FilesAreRelativeToTheConfigFileAndMustExist) {
  ScratchDir dir;
  dir.write("cas.pem", "-----BEGIN CERTIFICATE-----\n");
  dir.write("resolv.conf", "nameserver 192.0.2.53\n");
  const fs::path file =
      dir.write("parley.toml", "[s2s]\nca_file = \"cas.pem\"\nresolv_conf = \"resolv.conf\"\n");
  const Config config = load_config_file(file);
  EXPECT_EQ(config.s2s.ca_file, dir.path() / "cas.pem");
  EXPECT_EQ(config.s2s.resolv_conf, dir.path() / "resolv.conf");
  // "" is the default: the system's CAs, /etc/resolv.conf.
  const Config empty = parse("[s2s]\nca_file = \"\"\nresolv_conf = \"\"\n");
  EXPECT_TRUE(empty.s2s.ca_file.empty());
  EXPECT_TRUE(empty.s2s.resolv_conf.empty());
}

ConfigError file_error_for(const ScratchDir& dir, std::string_view text) {
  const fs::path file = dir.write("parley.toml", text);
  try {
    load_config_file(file);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return ConfigError("", 0, "");
}

TEST(ConfigS2sTest, MissingCaFileNamesTheLineAndTheResolvedPath) {
  ScratchDir dir;
  const ConfigError e = file_error_for(dir, "[s2s]\nrequire_tls = true\nca_file = \"cas.pem\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.detail(),
            "key 'ca_file' in [s2s] names " + (dir.path() / "cas.pem").string() +
                ", which does not exist (a relative path is relative to the configuration "
                "file's directory): give the path of a PEM file of CA certificates, e.g. ca_file "
                "= \"/etc/ssl/certs/ca-certificates.crt\", or leave the key out to trust the "
                "system's CAs");
}

TEST(ConfigS2sTest, CaFileThatIsADirectory) {
  ScratchDir dir;
  const ConfigError e = file_error_for(dir, "[s2s]\nca_file = \"" + dir.path().string() + "\"\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.detail(), "key 'ca_file' in [s2s] names " + dir.path().string() +
                            ", which is a directory: give the path of a PEM file of CA "
                            "certificates, e.g. ca_file = \"/etc/ssl/certs/ca-certificates.crt\", "
                            "or leave the key out to trust the system's CAs");
}

TEST(ConfigS2sTest, MissingResolvConfNamesTheLine) {
  ScratchDir dir;
  const fs::path missing = dir.path() / "no" / "resolv.conf";
  const ConfigError e =
      file_error_for(dir, "\n[s2s]\nresolv_conf = \"" + missing.string() + "\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.detail(), "key 'resolv_conf' in [s2s] names " + missing.string() +
                            ", which does not exist: give the path of a file in the format of "
                            "/etc/resolv.conf (nameserver lines), e.g. resolv_conf = "
                            "\"/etc/parley/resolv.conf\", or leave the key out to use "
                            "/etc/resolv.conf");
}

// A mistake in [s2s] or [[s2s.route]], and the whole message: file, line, and how to fix it.
struct S2sErrorCase {
  const char* name;
  const char* toml;
  const char* message;
};

class ConfigS2sErrorTest : public ::testing::TestWithParam<S2sErrorCase> {};

TEST_P(ConfigS2sErrorTest, NamesTheLineAndSaysHowToFixIt) {
  EXPECT_STREQ(error_for(GetParam().toml).what(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Mistakes, ConfigS2sErrorTest,
    ::testing::Values(
        S2sErrorCase{"MisspelledKey", "[s2s]\nenabled = true\nenabeld = false\n",
                     "parley.toml:3: unknown key 'enabeld' in [s2s]; did you mean 'enabled'?"},
        S2sErrorCase{"MisspelledRouteKey",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhots = \"192.0.2.1\"\n",
                     "parley.toml:3: unknown key 'hots' in [[s2s.route]]; did you mean 'host'?"},
        S2sErrorCase{"RouteKeyInS2s", "[s2s]\nhost = \"192.0.2.1\"\n",
                     "parley.toml:2: unknown key 'host' in [s2s]; 'host' belongs in "
                     "[[s2s.route]]"},
        S2sErrorCase{"PortAtTheTopLevelBelongsInThreeTables", "port = 5269\n",
                     "parley.toml:1: unknown key 'port' at the top level; 'port' belongs in "
                     "[c2s], [s2s] or [[s2s.route]]"},
        S2sErrorCase{"DialbackSecretIsNotConfigured", "[s2s]\ndialback_secret = \"x\"\n",
                     "parley.toml:2: unknown key 'dialback_secret' in [s2s]; the dialback secret "
                     "(XEP-0220) is not configured: Parley generates it and keeps it in the data "
                     "directory. Remove this key"},
        S2sErrorCase{"TlsPortInARoute",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"192.0.2.1\"\n"
                     "tls_port = 5270\n",
                     "parley.toml:4: unknown key 'tls_port' in [[s2s.route]]; a route has one "
                     "port: for direct TLS (XEP-0368) write port = 5270 and direct_tls = true"},
        S2sErrorCase{"RouteAtTheTopLevel", "[[route]]\ndomain = \"example.net\"\n",
                     "parley.toml:1: unknown key 'route' at the top level; did you mean "
                     "[[s2s.route]]? Write one [[s2s.route]] table per remote domain"},
        S2sErrorCase{"FederationTable", "[federation]\nport = 5269\n",
                     "parley.toml:1: unknown key 'federation' at the top level; did you mean "
                     "[s2s]? The federation settings go in [s2s]"},
        S2sErrorCase{"RouteWithSingleBrackets",
                     "[s2s.route]\ndomain = \"example.net\"\nhost = \"192.0.2.1\"\n",
                     "parley.toml:1: 'route' in [s2s] must be written [[s2s.route]] (with two "
                     "brackets), one table per remote domain, each with its keys below it, e.g. "
                     "[[s2s.route]] then domain = \"example.net\" and host = \"192.0.2.10\""},
        S2sErrorCase{"PortOutOfRange", "[s2s]\n\nport = 70000\n",
                     "parley.toml:3: key 'port' in [s2s] must be a whole number from 0 to 65535, "
                     "or false to turn the listener off, e.g. port = 5269"},
        S2sErrorCase{"TlsPortAsAString", "[s2s]\ntls_port = \"5270\"\n",
                     "parley.toml:2: key 'tls_port' in [s2s] must be a whole number from 0 to "
                     "65535, or false to turn the listener off, e.g. tls_port = 5270"},
        S2sErrorCase{"EnabledInQuotes", "[s2s]\nenabled = \"no\"\n",
                     "parley.toml:2: key 'enabled' in [s2s] must be true or false, without "
                     "quotes, e.g. enabled = true"},
        S2sErrorCase{"BindIsAnAddress", "[s2s]\nbind = \"xmpp.example.org\"\n",
                     "parley.toml:2: key 'bind' in [s2s] is \"xmpp.example.org\", which is not an "
                     "IP address: use e.g. \"127.0.0.1\" or \"::1\" (no brackets, no host names), "
                     "or \"\" for all interfaces"},
        S2sErrorCase{"DnsServerPortOutOfRangeOnItsOwnLine",
                     "[s2s]\ndns_servers = [\n  \"192.0.2.53\",\n  \"192.0.2.54:65536\",\n]\n",
                     "parley.toml:4: key 'dns_servers' in [s2s] holds \"192.0.2.54:65536\", which "
                     "is not a DNS server address: write an IP address with an optional port, "
                     "e.g. \"192.0.2.53\", \"192.0.2.53:5353\" or \"[2001:db8::53]:5353\" (an "
                     "IPv6 address needs brackets before a port)"},
        S2sErrorCase{"DnsServerByName", "[s2s]\ndns_servers = [\"ns1.example.net\"]\n",
                     "parley.toml:2: key 'dns_servers' in [s2s] holds \"ns1.example.net\", which "
                     "is not a DNS server address: write an IP address with an optional port, "
                     "e.g. \"192.0.2.53\", \"192.0.2.53:5353\" or \"[2001:db8::53]:5353\" (an "
                     "IPv6 address needs brackets before a port); a server is named by its "
                     "address, not its name"},
        S2sErrorCase{"DnsServersNotAList", "[s2s]\ndns_servers = \"192.0.2.53\"\n",
                     "parley.toml:2: key 'dns_servers' in [s2s] must be a list of DNS server "
                     "addresss in double quotes, e.g. dns_servers = [\"192.0.2.53\", "
                     "\"[2001:db8::53]:5353\"]"},
        S2sErrorCase{"ConnectTimeoutAboveFiveMinutes", "[s2s]\nconnect_timeout = 301\n",
                     "parley.toml:2: key 'connect_timeout' in [s2s] must be a whole number from 1 "
                     "to 300 (seconds to find, reach and authenticate a remote server), e.g. "
                     "connect_timeout = 30"},
        S2sErrorCase{"ConnectTimeoutZero", "[s2s]\nconnect_timeout = 0\n",
                     "parley.toml:2: key 'connect_timeout' in [s2s] must be a whole number from 1 "
                     "to 300 (seconds to find, reach and authenticate a remote server), e.g. "
                     "connect_timeout = 30"},
        S2sErrorCase{"IdleTimeoutZero", "[s2s]\nidle_timeout = 0\n",
                     "parley.toml:2: key 'idle_timeout' in [s2s] must be a whole number from 1 to "
                     "86400 (seconds without traffic before a link is closed), e.g. idle_timeout "
                     "= 600"},
        S2sErrorCase{"MaxQueuedStanzasAboveTheLimit", "[s2s]\nmax_queued_stanzas = 100001\n",
                     "parley.toml:2: key 'max_queued_stanzas' in [s2s] must be a whole number "
                     "from 1 to 100000, e.g. max_queued_stanzas = 1000"},
        S2sErrorCase{"ValidCertificatesWithoutTls",
                     "[s2s]\nrequire_tls = false\nrequire_valid_certificates = true\n",
                     "parley.toml:3: key 'require_valid_certificates' in [s2s] is true, but "
                     "require_tls = false: a certificate is only seen over TLS; set require_tls "
                     "= true, or require_valid_certificates = false to let servers without a "
                     "valid certificate use dialback"},
        S2sErrorCase{"RouteWithoutDomain", "[s2s]\n[[s2s.route]]\nhost = \"192.0.2.1\"\n",
                     "parley.toml:2: this [[s2s.route]] has no domain: add e.g. domain = "
                     "\"example.net\" below it (the remote domain it is the route to)"},
        S2sErrorCase{"RouteWithoutHost", "[[s2s.route]]\ndomain = \"example.net\"\n",
                     "parley.toml:1: this [[s2s.route]] for example.net has no host: add e.g. "
                     "host = \"192.0.2.10\" below it (where to connect instead of asking DNS)"},
        S2sErrorCase{"RouteDomainInvalid",
                     "[[s2s.route]]\ndomain = \"user@example.net\"\nhost = \"192.0.2.1\"\n",
                     "parley.toml:2: key 'domain' in [[s2s.route]] is \"user@example.net\", "
                     "which is not a domain: use an ASCII DNS name such as \"example.net\", "
                     "without '@', '/' or a port"},
        S2sErrorCase{"RouteToAServedDomain",
                     "[[host]]\ndomain = \"example.org\"\n[[s2s.route]]\ndomain = "
                     "\"Example.Org\"\nhost = \"192.0.2.1\"\n",
                     "parley.toml:4: the [[s2s.route]] is for example.org, a domain this server "
                     "serves ([[host]]): routes are for remote domains; correct the domain or "
                     "remove this [[s2s.route]]"},
        S2sErrorCase{"RouteToTheDefaultHost",
                     "[[s2s.route]]\ndomain = \"localhost\"\nhost = \"192.0.2.1\"\n",
                     "parley.toml:2: the [[s2s.route]] is for localhost, a domain this server "
                     "serves ([[host]]): routes are for remote domains; correct the domain or "
                     "remove this [[s2s.route]]"},
        S2sErrorCase{"RouteDomainTwiceNamesBothLines",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"192.0.2.1\"\n\n"
                     "[[s2s.route]]\ndomain = \"EXAMPLE.net\"\nhost = \"192.0.2.2\"\n",
                     "parley.toml:6: the domain example.net already has a [[s2s.route]] at line "
                     "1: remove one of the two"},
        S2sErrorCase{"RouteHostWithAPort",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"192.0.2.1:5269\"\n",
                     "parley.toml:3: key 'host' in [[s2s.route]] is \"192.0.2.1:5269\", which is "
                     "neither a host name nor an IP address: use e.g. \"xmpp.example.net\", "
                     "\"192.0.2.10\" or \"2001:db8::10\"; the port goes in its own key, e.g. "
                     "port = 5269"},
        S2sErrorCase{"RouteHostInBrackets",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"[2001:db8::10]\"\n",
                     "parley.toml:3: key 'host' in [[s2s.route]] is \"[2001:db8::10]\", which is "
                     "neither a host name nor an IP address: use e.g. \"xmpp.example.net\", "
                     "\"192.0.2.10\" or \"2001:db8::10\" (an IPv6 address without brackets)"},
        S2sErrorCase{"RoutePortZero",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"192.0.2.1\"\nport = 0\n",
                     "parley.toml:4: key 'port' in [[s2s.route]] must be a whole number from 1 to "
                     "65535 (the remote server's port), e.g. port = 5269"},
        S2sErrorCase{"RouteDirectTlsInQuotes",
                     "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"192.0.2.1\"\n"
                     "direct_tls = \"yes\"\n",
                     "parley.toml:4: key 'direct_tls' in [[s2s.route]] must be true or false, "
                     "without quotes, e.g. direct_tls = false"},
        // The checks of the configuration as a whole (validate()) have no single line.
        S2sErrorCase{"ListenerOnAClientPort", "[c2s]\nport = 5222\n[s2s]\nport = 5222\n",
                     "parley.toml: the client listener ([c2s] port) and the federation listener "
                     "([s2s] port) both use port 5222: give them different ports (federation's "
                     "are 5269 and 5270 by default)"},
        S2sErrorCase{"TlsListenerOnTheDirectTlsClientPort", "[c2s]\ntls_port = 5270\n",
                     "parley.toml: the direct TLS client listener ([c2s] tls_port) and the direct "
                     "TLS federation listener ([s2s] tls_port) both use port 5270: give them "
                     "different ports (federation's are 5269 and 5270 by default)"},
        S2sErrorCase{"BothFederationListenersOnOnePort", "[s2s]\ntls_port = 5269\n",
                     "parley.toml: the federation listener ([s2s] port) and the direct TLS "
                     "federation listener ([s2s] tls_port) both use port 5269: give them "
                     "different ports (federation's are 5269 and 5270 by default)"},
        S2sErrorCase{"BothFederationListenersOff", "[s2s]\nport = false\ntls_port = false\n",
                     "parley.toml: both federation listeners ([s2s] port and tls_port) are "
                     "disabled while federation is on: other servers could not connect to "
                     "deliver their users' stanzas; turn one on, or turn federation off ([s2s] "
                     "enabled = false, or --no-federation)"}),
    [](const ::testing::TestParamInfo<S2sErrorCase>& param) {
      return std::string(param.param.name);
    });

TEST(ConfigS2sTest, WhatTheWholeFileChecksAllowsOtherwise) {
  // Federation off: its listeners may be off, or on the clients' ports.
  EXPECT_FALSE(parse("[s2s]\nenabled = false\nport = false\ntls_port = false\n").s2s.enabled);
  EXPECT_NO_THROW(parse("[s2s]\nenabled = false\nport = 5222\n"));
  // One listener is enough; port 0 never clashes (each gets its own free port).
  EXPECT_NO_THROW(parse("[s2s]\ntls_port = false\n"));
  EXPECT_NO_THROW(parse("[c2s]\nport = 0\ntls_port = 0\n[s2s]\nport = 0\ntls_port = 0\n"));
  // The same port on two different addresses.
  EXPECT_NO_THROW(parse("[c2s]\nbind = \"127.0.0.1\"\n[s2s]\nbind = \"192.0.2.1\"\nport = 5222\n"));
  // ...but not when one of them listens on every address.
  EXPECT_THROW(parse("[s2s]\nbind = \"192.0.2.1\"\nport = 5222\n"), ConfigError);
}

TEST(ConfigS2sTest, ParseDnsServer) {
  struct Case {
    std::string_view text;
    std::optional<std::string> ip;
    std::uint16_t port;
  };
  const Case cases[] = {
      {"192.0.2.53", "192.0.2.53", 53},
      {"192.0.2.53:5353", "192.0.2.53", 5353},
      {"2001:db8::53", "2001:db8::53", 53},
      {"[2001:db8::53]:5353", "2001:db8::53", 5353},
      {"[::1]", "::1", 53},
      {"", std::nullopt, 0},
      {"ns1.example.net", std::nullopt, 0},
      {"192.0.2.53:", std::nullopt, 0},
      {"192.0.2.53:0", std::nullopt, 0},
      {"192.0.2.53:65536", std::nullopt, 0},
      {"192.0.2.53:53a", std::nullopt, 0},
      {"192.0.2.300", std::nullopt, 0},
      {"[192.0.2.53]:53", std::nullopt, 0},
      {"[2001:db8::53]:", std::nullopt, 0},
      {"[2001:db8::53]5353", std::nullopt, 0},
      {"[2001:db8::53", std::nullopt, 0},
  };
  for (const Case& c : cases) {
    const auto server = parse_dns_server(c.text);
    if (!c.ip) {
      EXPECT_EQ(server, std::nullopt) << c.text;
      continue;
    }
    ASSERT_TRUE(server) << c.text;
    EXPECT_EQ(server->ip, *c.ip) << c.text;
    EXPECT_EQ(server->port, c.port) << c.text;
  }
}

TEST(ConfigS2sTest, FlagsOverrideTheFile) {
  ScratchDir dir;
  dir.write("file-cas.pem", "x");
  dir.write("flag-cas.pem", "x");
  dir.write("flag-resolv.conf", "nameserver 192.0.2.1\n");
  const fs::path file = dir.write("parley.toml", R"(
[s2s]
port = 15269
tls_port = 15270
bind = "::1"
ca_file = "file-cas.pem"
dns_servers = ["192.0.2.53"]
)");
  // Without flags, the file.
  const Config from_file = load_config(file);
  EXPECT_EQ(from_file.s2s.listener.port, std::optional<std::uint16_t>(15269));
  EXPECT_EQ(from_file.s2s.ca_file, dir.path() / "file-cas.pem");
  ConfigOverrides flags;
  flags.s2s_port = ConfigOverrides::Port(0);
  flags.s2s_tls_port = ConfigOverrides::Port(std::nullopt);
  flags.ca_file = dir.path() / "flag-cas.pem";
  flags.resolv_conf = dir.path() / "flag-resolv.conf";
  flags.bind_address = "127.0.0.1";
  const Config config = load_config(file, flags);
  EXPECT_TRUE(config.s2s.enabled);
  EXPECT_EQ(config.s2s.listener.port, std::optional<std::uint16_t>(0));
  EXPECT_EQ(config.s2s.tls_listener.port, std::nullopt);
  EXPECT_EQ(config.s2s.ca_file, dir.path() / "flag-cas.pem");
  EXPECT_EQ(config.s2s.resolv_conf, dir.path() / "flag-resolv.conf");
  // The file's dns_servers would be asked instead of --resolv-conf's: the flag clears them.
  EXPECT_TRUE(config.s2s.dns_servers.empty());
  // --bind wins over the file's [s2s] bind: nothing listens or connects from elsewhere.
  EXPECT_EQ(config.s2s.listener.address, "");
  EXPECT_EQ(config.s2s.tls_listener.address, "");
  EXPECT_EQ(config.bind_address, "127.0.0.1");

  ConfigOverrides off;
  off.s2s_enabled = false;
  EXPECT_FALSE(load_config(file, off).s2s.enabled);
}

// Problems only the flags cause: no file name, and the flag named where it can be.
TEST(ConfigS2sTest, ProblemsMadeByFlags) {
  ScratchDir dir;
  const auto message = [](const ConfigOverrides& flags,
                          const std::optional<fs::path>& file = std::nullopt) {
    try {
      load_config(file, flags);
    } catch (const ConfigError& e) {
      EXPECT_TRUE(e.file().empty()) << e.what();
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ConfigOverrides clash;
  clash.c2s_port = ConfigOverrides::Port(5269);
  EXPECT_EQ(message(clash),
            "the client listener ([c2s] port) and the federation listener ([s2s] port) both use "
            "port 5269: give them different ports (federation's are 5269 and 5270 by default)");
  clash.s2s_enabled = false;  // --no-federation: nothing listens on 5269
  EXPECT_EQ(message(clash), "no error");

  ConfigOverrides both_off;
  both_off.s2s_port = ConfigOverrides::Port(std::nullopt);
  both_off.s2s_tls_port = ConfigOverrides::Port(std::nullopt);
  EXPECT_TRUE(contains(message(both_off),
                       "both federation listeners ([s2s] port and tls_port) "
                       "are disabled while federation is on"));

  ConfigOverrides ca;
  ca.ca_file = dir.path() / "missing.pem";
  EXPECT_EQ(message(ca), "the CA file ([s2s] ca_file, --ca-file) " +
                             (dir.path() / "missing.pem").string() +
                             " does not exist: give a PEM file of CA certificates, or none to "
                             "trust the system's CAs");
  ConfigOverrides resolv;
  resolv.resolv_conf = dir.path();
  EXPECT_EQ(message(resolv),
            "the resolver configuration ([s2s] resolv_conf, --resolv-conf) " + dir.path().string() +
                " is a directory: give a file in the format of /etc/resolv.conf, or none to use "
                "/etc/resolv.conf");

  // --domain replaces the hosts the file's routes were checked against.
  const fs::path file =
      dir.write("parley.toml", "[[s2s.route]]\ndomain = \"example.net\"\nhost = \"192.0.2.1\"\n");
  ConfigOverrides domain;
  domain.domain = "Example.NET";
  EXPECT_EQ(message(domain, file),
            "there is an [[s2s.route]] for example.net, which this server serves: routes are for "
            "remote domains; remove the route, or stop serving example.net");
}

TEST(ConfigValidateTest, S2s) {
  const auto problem = [](const std::function<void(S2sConfig&)>& change) {
    Config config;
    change(config.s2s);
    return validate(config).value_or("valid");
  };
  EXPECT_EQ(problem([](S2sConfig&) {}), "valid");
  EXPECT_EQ(problem([](S2sConfig& s) { s.listener.address = "localhost"; }),
            "cannot listen on 'localhost': not an IP address; use e.g. 127.0.0.1 or ::1, or "
            "nothing for all interfaces");
  EXPECT_EQ(problem([](S2sConfig& s) {
              s.dns_servers = {"192.0.2.53", "192.0.2.53:x"};
            }),
            "the DNS server '192.0.2.53:x' ([s2s] dns_servers) is not an IP address with an "
            "optional port: write e.g. 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:5353");
  EXPECT_EQ(problem([](S2sConfig& s) { s.connect_timeout = std::chrono::seconds(301); }),
            "[s2s] connect_timeout must be from 1 to 300 seconds");
  EXPECT_EQ(problem([](S2sConfig& s) { s.connect_timeout = std::chrono::seconds(0); }),
            "[s2s] connect_timeout must be from 1 to 300 seconds");
  EXPECT_EQ(problem([](S2sConfig& s) { s.idle_timeout = std::chrono::seconds(0); }),
            "[s2s] idle_timeout must be from 1 to 86400 seconds");
  EXPECT_EQ(problem([](S2sConfig& s) { s.max_queued_stanzas = 0; }),
            "[s2s] max_queued_stanzas must be from 1 to 100000");
  EXPECT_EQ(problem([](S2sConfig& s) {
              s.require_tls = false;
              s.require_valid_certificates = true;
            }),
            "[s2s] require_valid_certificates = true needs TLS (a certificate is only seen over "
            "TLS), but require_tls = false: set require_tls = true, or "
            "require_valid_certificates = false to let servers without a valid certificate use "
            "dialback");
  const S2sRoute route{"example.net", "192.0.2.1", 5269, false};
  EXPECT_EQ(problem([&](S2sConfig& s) {
              s.routes = {route, route};
            }),
            "the domain example.net has two [[s2s.route]] tables: remove one");
  EXPECT_EQ(problem([&](S2sConfig& s) {
              s.routes = {route};
              s.routes[0].domain = "localhost";
            }),
            "there is an [[s2s.route]] for localhost, which this server serves: routes are for "
            "remote domains; remove the route, or stop serving localhost");
  EXPECT_EQ(problem([&](S2sConfig& s) {
              s.routes = {route};
              s.routes[0].domain = "bad domain";
            }),
            "the [[s2s.route]] domain 'bad domain' is not a domain: use an ASCII DNS name such "
            "as example.net");
  EXPECT_EQ(problem([&](S2sConfig& s) {
              s.routes = {route};
              s.routes[0].host = "";
            }),
            "the [[s2s.route]] for example.net has the host '', which is neither a host name nor "
            "an IP address");
  EXPECT_EQ(problem([&](S2sConfig& s) {
              s.routes = {route};
              s.routes[0].port = 0;
            }),
            "the [[s2s.route]] for example.net has port 0: give the remote server's port");
}

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndTranspositions) {
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);  // transposition
  EXPECT_EQ(edit_distance("datadir", "data_dir"), 1u);
  EXPECT_EQ(edit_distance("", "key"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace parley::core
