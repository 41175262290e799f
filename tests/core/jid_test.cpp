#include "core/jid.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <unordered_set>

namespace parley::core {
namespace {

// A domainpart of exactly n bytes made of labels no longer than 63 bytes.
std::string domain_of_length(std::size_t n) {
  std::string d;
  while (n - d.size() > 63) d += std::string(62, 'd') + '.';
  d.append(n - d.size(), 'd');
  return d;
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct ParseCase {
  const char* name;  // the test's name: what the case checks
  std::string input;
  std::optional<std::string> expected;  // the full JID, or nullopt when parsing must fail
  JidError error = JidError::Empty;     // the reason, when it must fail
};

std::ostream& operator<<(std::ostream& os, const ParseCase& c) { return os << c.name; }

class JidParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(JidParseTest, PreparesOrRejects) {
  const ParseCase& c = GetParam();
  JidError error = JidError::Empty;
  const auto jid = Jid::parse(c.input, &error);
  if (c.expected) {
    ASSERT_TRUE(jid.has_value()) << "input: " << c.input << " error: " << to_string(error);
    EXPECT_EQ(jid->full(), *c.expected);
    // Preparation is idempotent: parsing the result gives the same JID.
    const auto again = Jid::parse(jid->full());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *jid);
  } else {
    ASSERT_FALSE(jid.has_value()) << "input: " << c.input << " parsed as " << jid->full();
    EXPECT_EQ(error, c.error) << "got " << to_string(error) << ", want " << to_string(c.error);
  }
}

const std::string kLocal1023 = std::string(1023, 'a');
const std::string kLocal1024 = std::string(1024, 'a');

INSTANTIATE_TEST_SUITE_P(
    Rfc7622, JidParseTest,
    testing::Values(
        // Case folding of localpart and domainpart; the resourcepart keeps its case.
        ParseCase{"FoldsLocalAndDomainKeepsResource", "Alice@Example.COM/Phone",
                  "alice@example.com/Phone"},
        ParseCase{"FoldsNonAsciiLocalpart", "\xc3\x84LICE@EXAMPLE.COM", "\xc3\xa4lice@example.com"},
        ParseCase{"FoldsNonAsciiDomainpart", "a@\xc3\x89XAMPLE.com", "a@\xc3\xa9xample.com"},
        ParseCase{"DomainOnly", "example.com", "example.com"},
        ParseCase{"DomainAndResource", "example.com/res", "example.com/res"},
        ParseCase{"ResourceKeepsSpacesAndCase", "a@example.com/My Phone 2",
                  "a@example.com/My Phone 2"},
        ParseCase{"ResourceKeepsNonAsciiCase",
                  "a@example.com/\xc3\x87"
                  "a va",
                  "a@example.com/\xc3\x87"
                  "a va"},
        // RFC 7622 §3.1: split at the first '/', then at the first '@' before it.
        ParseCase{"ResourceMayContainSlashAndAt", "a@example.com/r/x@y", "a@example.com/r/x@y"},
        ParseCase{"SlashBeforeAtStartsResource", "example.com/b@c", "example.com/b@c"},
        ParseCase{"SecondAtGoesToDomainAndFails", "a@b@example.com", std::nullopt,
                  JidError::InvalidDomainpart},
        // Nodeprep's prohibited ASCII (RFC 3920 Appendix A.5).
        ParseCase{"LocalpartRejectsQuote", "a\"b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsAmpersand", "a&b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsApostrophe", "a'b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsColon", "a:b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsLessThan", "a<b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsGreaterThan", "a>b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsSpace", "a b@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"LocalpartRejectsControl", "a\tb@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        // NFKC: fullwidth forms become ASCII, also the fullwidth full stop in the domain.
        ParseCase{"FullwidthMappedByNfkc",
                  "\xef\xbc\xa1\xef\xbc\xac\xef\xbc\xa9@EXAMPLE\xef\xbc\x8e"
                  "COM/\xef\xbc\xb2",
                  "ali@example.com/R"},
        // U+FF20 FULLWIDTH COMMERCIAL AT is not a separator, but becomes '@' under NFKC and is
        // then prohibited: it cannot smuggle an '@' into a localpart.
        ParseCase{"FullwidthAtInLocalpartRejected",
                  "a\xef\xbc\xa0"
                  "b@example.com",
                  std::nullopt, JidError::InvalidLocalpart},
        ParseCase{"IdeographicFullStopIsLabelSeparator",
                  "a@example\xe3\x80\x82"
                  "com",
                  "a@example.com"},
        ParseCase{"SharpSFoldsToSs",
                  "Stra\xc3\x9f"
                  "e@example.com",
                  "strasse@example.com"},
        ParseCase{"LigatureFfByNfkc", "\xef\xac\x80@example.com", "ff@example.com"},
        ParseCase{"SoftHyphenMappedToNothing",
                  "a\xc2\xad"
                  "b@example.com",
                  "ab@example.com"},
        ParseCase{"LocalpartEmptyAfterMapping", "\xc2\xad@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"BidiRalThenDigitRejected",
                  "\xd8\xa7"
                  "1@example.com",
                  std::nullopt, JidError::InvalidLocalpart},
        ParseCase{"InvalidUtf8InLocalpart", "a\xff@example.com", std::nullopt,
                  JidError::InvalidLocalpart},
        ParseCase{"OverlongUtf8InDomainpart", "a@ex\xc0\xaf.com", std::nullopt,
                  JidError::InvalidDomainpart},
        ParseCase{"ControlInResource", "a@example.com/r\x01", std::nullopt,
                  JidError::InvalidResourcepart},
        ParseCase{"NulInResource", std::string("a@example.com/r\0x", 17), std::nullopt,
                  JidError::InvalidResourcepart},
        // Empty parts (RFC 7622 §3.3.1, §3.4.1).
        ParseCase{"EmptyInput", "", std::nullopt, JidError::Empty},
        ParseCase{"EmptyLocalpartWithAt", "@example.com", std::nullopt, JidError::EmptyLocalpart},
        ParseCase{"EmptyResourceWithSlash", "a@example.com/", std::nullopt,
                  JidError::EmptyResourcepart},
        ParseCase{"EmptyDomainAfterAt", "a@", std::nullopt, JidError::EmptyDomainpart},
        ParseCase{"EmptyDomainBeforeSlash", "/res", std::nullopt, JidError::EmptyDomainpart},
        ParseCase{"EmptyDomainBetweenAtAndSlash", "a@/res", std::nullopt,
                  JidError::EmptyDomainpart},
        // Domainpart: trailing dot, labels, ASCII that host names do not allow.
        ParseCase{"TrailingDotStripped", "a@example.com./r", "a@example.com/r"},
        ParseCase{"OnlyOneTrailingDotStripped", "a@example.com..", std::nullopt,
                  JidError::InvalidDomainpart},
        ParseCase{"DomainIsOnlyADot", "a@.", std::nullopt, JidError::EmptyDomainpart},
        ParseCase{"EmptyLabel", "a@example..com", std::nullopt, JidError::InvalidDomainpart},
        ParseCase{"LeadingDot", "a@.example.com", std::nullopt, JidError::InvalidDomainpart},
        ParseCase{"SpaceInDomain", "a@exa mple.com", std::nullopt, JidError::InvalidDomainpart},
        ParseCase{"ColonInDomain", "a@example.com:5222", std::nullopt, JidError::InvalidDomainpart},
        ParseCase{"UnderscoreInDomainTolerated", "a@my_host.lan", "a@my_host.lan"},
        ParseCase{"Label63Bytes", "a@" + std::string(63, 'x') + ".com",
                  "a@" + std::string(63, 'x') + ".com"},
        ParseCase{"Label64Bytes", "a@" + std::string(64, 'x') + ".com", std::nullopt,
                  JidError::InvalidDomainpart},
        ParseCase{"NonAsciiLabelTooLongAsPunycode", "a@" + repeat("\xc3\xa9", 60) + ".com",
                  std::nullopt, JidError::InvalidDomainpart},
        // IP literals (RFC 7622 §3.2).
        ParseCase{"Ipv4Literal", "a@192.0.2.1/r", "a@192.0.2.1/r"},
        ParseCase{"Ipv6Literal", "a@[::1]/r", "a@[::1]/r"},
        ParseCase{"Ipv6LiteralCanonicalised", "[2001:DB8:0:0:0:0:0:1]", "[2001:db8::1]"},
        ParseCase{"Ipv6LiteralUnclosed", "a@[::1", std::nullopt, JidError::InvalidDomainpart},
        ParseCase{"Ipv6LiteralBad", "a@[12345::1]", std::nullopt, JidError::InvalidDomainpart},
        ParseCase{"Ipv6LiteralWithoutBrackets", "a@::1", std::nullopt, JidError::InvalidDomainpart},
        // Length limits: 1023 bytes per part, after preparation (RFC 7622 §3.2-§3.4).
        ParseCase{"Localpart1023Bytes", kLocal1023 + "@example.com", kLocal1023 + "@example.com"},
        ParseCase{"Localpart1024Bytes", kLocal1024 + "@example.com", std::nullopt,
                  JidError::LocalpartTooLong},
        ParseCase{"Localpart1024BytesFitsAfterMapping",
                  std::string(1021, 'A') + "\xc2\xad"
                                           "A@example.com",
                  std::string(1022, 'a') + "@example.com"},
        ParseCase{"Localpart1023BytesMultibyte", repeat("\xc3\xa9", 511) + "a@example.com",
                  repeat("\xc3\xa9", 511) + "a@example.com"},
        ParseCase{"Localpart1024BytesAfterFolding",
                  std::string(1022, 'a') + "\xc3\x9f@example.com",  // ß (2 bytes) → ss
                  std::nullopt, JidError::LocalpartTooLong},
        ParseCase{"Domain1023Bytes", domain_of_length(1023), domain_of_length(1023)},
        ParseCase{"Domain1024Bytes", domain_of_length(1024), std::nullopt,
                  JidError::DomainpartTooLong},
        ParseCase{"Resource1023Bytes", "example.com/" + std::string(1023, 'R'),
                  "example.com/" + std::string(1023, 'R')},
        ParseCase{"Resource1024Bytes", "example.com/" + std::string(1024, 'R'), std::nullopt,
                  JidError::ResourcepartTooLong}),
    [](const testing::TestParamInfo<ParseCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(JidTest, AccessorsOfAFullJid) {
  const auto jid = Jid::parse("Juliet@Capulet.example/Balcony");
  ASSERT_TRUE(jid);
  EXPECT_EQ(jid->local(), "juliet");
  EXPECT_EQ(jid->domain(), "capulet.example");
  EXPECT_EQ(jid->resource(), "Balcony");
  EXPECT_TRUE(jid->has_local());
  EXPECT_FALSE(jid->is_bare());
  EXPECT_EQ(jid->bare_view(), "juliet@capulet.example");
  EXPECT_EQ(jid->bare().full(), "juliet@capulet.example");
  EXPECT_TRUE(jid->bare().is_bare());
}

TEST(JidTest, AccessorsOfADomainJid) {
  const auto jid = Jid::parse("Capulet.example");
  ASSERT_TRUE(jid);
  EXPECT_EQ(jid->local(), "");
  EXPECT_FALSE(jid->has_local());
  EXPECT_EQ(jid->domain(), "capulet.example");
  EXPECT_EQ(jid->resource(), "");
  EXPECT_TRUE(jid->is_bare());
  EXPECT_EQ(jid->bare_view(), "capulet.example");
  const auto with = Jid::parse("capulet.example/x");
  ASSERT_TRUE(with);
  EXPECT_EQ(with->local(), "");
  EXPECT_EQ(with->resource(), "x");
  EXPECT_EQ(with->bare(), *jid);
}

TEST(JidTest, WithResourcePreparesTheResource) {
  const auto jid = Jid::parse("romeo@montague.example/orchard");
  ASSERT_TRUE(jid);
  const auto other = jid->with_resource("\xef\xbc\xb0hone");  // fullwidth P
  ASSERT_TRUE(other);
  EXPECT_EQ(other->full(), "romeo@montague.example/Phone");
  EXPECT_TRUE(other->same_bare(*jid));
  EXPECT_NE(*other, *jid);
  EXPECT_FALSE(jid->with_resource(""));
  EXPECT_FALSE(jid->with_resource("bad\x7f"));
  EXPECT_FALSE(jid->with_resource(std::string(1024, 'r')));
}

TEST(JidTest, EqualityAndHashFollowThePreparedForm) {
  const auto a = Jid::parse("ROMEO@Montague.Example/Orchard");
  const auto b = Jid::parse("romeo@montague.example./Orchard");
  const auto c = Jid::parse("romeo@montague.example/orchard");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(std::hash<Jid>{}(*a), std::hash<Jid>{}(*b));
  EXPECT_NE(*a, *c);  // resources compare case-sensitively
  EXPECT_TRUE(a->same_bare(*c));
  std::unordered_set<Jid> set{*a, *b, *c};
  EXPECT_EQ(set.size(), 2U);
  EXPECT_LT(*a, *c);  // ordered by the full string: "O" < "o"
}

TEST(JidTest, SameBareDistinguishesDomainFromLocalAtDomain) {
  const auto domain = Jid::parse("example.com");
  const auto user = Jid::parse("example.com@example.com");
  ASSERT_TRUE(domain && user);
  EXPECT_FALSE(domain->same_bare(*user));
}

TEST(JidTest, FromPartsRejectsSeparatorsInsideParts) {
  EXPECT_FALSE(Jid::from_parts("a/b", "example.com"));
  EXPECT_FALSE(Jid::from_parts("a@b", "example.com"));
  EXPECT_FALSE(Jid::from_parts("a", "exa/mple.com"));
  EXPECT_FALSE(Jid::from_parts("a", "exa@mple.com"));
  const auto jid = Jid::from_parts("A", "Example.com", "r@x/y");
  ASSERT_TRUE(jid);
  EXPECT_EQ(jid->full(), "a@example.com/r@x/y");
  JidError error = JidError::Empty;
  EXPECT_FALSE(Jid::from_parts("a", "", "r", &error));
  EXPECT_EQ(error, JidError::EmptyDomainpart);
}

TEST(JidTest, PrepareHelpers) {
  EXPECT_EQ(Jid::prepare_localpart("Alice"), "alice");
  EXPECT_EQ(Jid::prepare_localpart(""), std::nullopt);
  EXPECT_EQ(Jid::prepare_localpart("a b"), std::nullopt);
  EXPECT_EQ(Jid::prepare_domain("Example.COM."), "example.com");
  EXPECT_EQ(Jid::prepare_domain("[::FFFF:192.0.2.1]"), "[::ffff:192.0.2.1]");
  EXPECT_EQ(Jid::prepare_domain(""), std::nullopt);
  EXPECT_EQ(Jid::prepare_resource(" Spaced Out "), " Spaced Out ");
  EXPECT_EQ(Jid::prepare_resource("\xe2\x85\xa8"), "IX");  // U+2168 ROMAN NUMERAL NINE
}

TEST(JidTest, StoredStringsRefuseUnassignedCodePoints) {
  // U+0221 was unassigned in Unicode 3.2, the version stringprep is defined on (RFC 3454 §7).
  const std::string unassigned = "a\xc8\xa1";
  EXPECT_EQ(Jid::prepare_localpart(unassigned), unassigned);
  EXPECT_EQ(Jid::prepare_localpart(unassigned, /*stored=*/true), std::nullopt);
  EXPECT_EQ(Jid::prepare_resource(unassigned, /*stored=*/true), std::nullopt);
}

TEST(JidTest, ErrorsHaveMessages) {
  for (auto e :
       {JidError::Empty, JidError::EmptyLocalpart, JidError::EmptyDomainpart,
        JidError::EmptyResourcepart, JidError::InvalidLocalpart, JidError::InvalidDomainpart,
        JidError::InvalidResourcepart, JidError::LocalpartTooLong, JidError::DomainpartTooLong,
        JidError::ResourcepartTooLong}) {
    EXPECT_FALSE(to_string(e).empty());
  }
}

}  // namespace
}  // namespace parley::core
