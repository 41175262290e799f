// The configuration file (core/config_file.hpp): the sample in etc/, defaults, relative paths,
// command-line overrides, and an error message for each kind of mistake, with its line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

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
  }
  EXPECT_EQ(a.bind_address, b.bind_address);
  EXPECT_EQ(a.c2s.port, b.c2s.port);
  EXPECT_EQ(a.c2s.address, b.c2s.address);
  EXPECT_EQ(a.c2s_tls.port, b.c2s_tls.port);
  EXPECT_EQ(a.c2s_tls.address, b.c2s_tls.address);
  EXPECT_EQ(a.c2s_require_tls, b.c2s_require_tls);
  EXPECT_EQ(a.scram_iterations, b.scram_iterations);
  EXPECT_EQ(a.limits.max_stanza_bytes, b.limits.max_stanza_bytes);
  EXPECT_EQ(a.limits.unauthenticated_timeout, b.limits.unauthenticated_timeout);
  EXPECT_EQ(a.limits.max_auth_failures, b.limits.max_auth_failures);
  EXPECT_EQ(a.limits.registrations_per_address_per_hour,
            b.limits.registrations_per_address_per_hour);
  EXPECT_EQ(a.log_file, b.log_file);
  EXPECT_EQ(a.log_level, b.log_level);
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

TEST(ConfigFileTest, EmptyFileGivesTheDefaultsAndServesLocalhost) {
  const Config config = parse("# nothing set\n");
  expect_same_settings_except_data_dir(config, Config{});
  ASSERT_EQ(config.hosts.size(), 1u);
  EXPECT_EQ(config.default_host().domain, "localhost");
  // Even the default data directory is relative to the file's directory.
  EXPECT_EQ(config.data_dir, fs::path("/etc/parley/parley-data"));
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
[c2s]
port = 15222
tls_port = false
require_tls = false
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
  EXPECT_EQ(config.c2s.port, std::optional<std::uint16_t>(15222));
  EXPECT_EQ(config.c2s_tls.port, std::nullopt);
  EXPECT_FALSE(config.c2s_require_tls);
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
               "in [c2s]");
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

TEST(ConfigOverridesTest, BindFlagMustBeAnAddress) {
  ConfigOverrides flags;
  flags.bind_address = "example.org";
  EXPECT_THROW(load_config(std::nullopt, flags), ConfigError);
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
