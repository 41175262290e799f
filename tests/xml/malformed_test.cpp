// Malformed and forbidden input: each case names the rule it breaks and the exact stream error
// condition (RFC 6120 §4.9.3) the parser must report, and the parser must stay failed afterwards.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/xml/test_util.hpp"

namespace parley::xml {
namespace {

using namespace std::string_view_literals;
using test::EventType;

enum class Where {
  AfterHeader,  // input follows "<?xml version='1.0'?>" and a valid jabber:client header
  Raw,          // input is the whole stream
};

struct MalformedCase {
  const char* name;
  std::string_view input;
  StreamError expected;
  Where where = Where::AfterHeader;
  ParserLimits limits = {};
};

constexpr StreamError kNwf = StreamError::NotWellFormed;
constexpr StreamError kRestricted = StreamError::RestrictedXml;
constexpr StreamError kPolicy = StreamError::PolicyViolation;

constexpr std::string_view kStreamNs = "xmlns:stream='http://etherx.jabber.org/streams'";

// clang-format off
const MalformedCase kCases[] = {
    // RFC 6120 §11.1: no comments, processing instructions, DTDs, entity references but the five.
    {"CommentInStanzaIsRestrictedXml", "<message><!-- hi --></message>", kRestricted},
    {"CommentAtStreamLevelIsRestrictedXml", "<presence/><!-- hi -->", kRestricted},
    {"CommentBeforeHeaderIsRestrictedXml",
     "<?xml version='1.0'?><!-- hi --><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kRestricted, Where::Raw},
    {"DoctypeBeforeHeaderIsRestrictedXml",
     "<?xml version='1.0'?><!DOCTYPE stream:stream><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kRestricted, Where::Raw},
    {"DoctypeWithInternalSubsetIsRestrictedXml",
     "<!DOCTYPE stream:stream [<!ENTITY x 'y'>]><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kRestricted, Where::Raw},
    {"ProcessingInstructionInStanzaIsRestrictedXml", "<message><?php echo 1; ?></message>",
     kRestricted},
    {"ProcessingInstructionAtStreamLevelIsRestrictedXml", "<?foo bar?>", kRestricted},
    {"ProcessingInstructionBeforeHeaderIsRestrictedXml",
     "<?xml version='1.0'?><?xml-stylesheet href='a'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kRestricted, Where::Raw},
    {"XmlDeclarationAfterHeaderIsRestrictedXml", "<?xml version='1.0'?><presence/>",
     kRestricted},
    {"XmlDeclarationInStanzaIsRestrictedXml", "<message><?xml version='1.0'?></message>",
     kRestricted},
    {"XmlDeclarationAfterWhitespaceIsRestrictedXml",
     " <?xml version='1.0'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kRestricted, Where::Raw},
    {"UndefinedEntityInTextIsRestrictedXml", "<message><body>a&nbsp;b</body></message>",
     kRestricted},
    {"UndefinedEntityInAttributeIsRestrictedXml", "<message to='&foo;'/>", kRestricted},
    {"UndefinedEntityInHeaderIsRestrictedXml",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "to='&host;'>", kRestricted, Where::Raw},

    // XML 1.0 §4.1: references.
    {"EmptyEntityReferenceIsNotWellFormed", "<message><body>&;</body></message>", kNwf},
    {"EmptyCharacterReferenceIsNotWellFormed", "<message><body>&#;</body></message>", kNwf},
    {"EmptyHexCharacterReferenceIsNotWellFormed", "<message><body>&#x;</body></message>", kNwf},
    {"NonHexDigitsInCharacterReferenceAreNotWellFormed", "<message><body>&#xZZ;</body></message>",
     kNwf},
    {"UppercaseXInCharacterReferenceIsNotWellFormed", "<message><body>&#X41;</body></message>",
     kNwf},
    {"LettersInDecimalCharacterReferenceAreNotWellFormed",
     "<message><body>&#12a;</body></message>", kNwf},
    {"EntityReferenceWithoutSemicolonIsNotWellFormed", "<message><body>&amp b</body></message>",
     kNwf},
    {"BareAmpersandIsNotWellFormed", "<message><body>fish & chips</body></message>", kNwf},
    {"BareAmpersandInAttributeIsNotWellFormed", "<message to='a&b'/>", kNwf},
    {"EntityReferenceStartingWithDigitIsNotWellFormed", "<message><body>&1a;</body></message>",
     kNwf},
    // XML 1.0 §4.1 WFC Legal Character, §2.2 Char.
    {"CharacterReferenceToNulIsNotWellFormed", "<message><body>&#0;</body></message>", kNwf},
    {"CharacterReferenceToControlIsNotWellFormed", "<message><body>&#x1;</body></message>", kNwf},
    {"CharacterReferenceToFFFEIsNotWellFormed", "<message><body>&#xFFFE;</body></message>", kNwf},
    {"CharacterReferenceToFFFFIsNotWellFormed", "<message><body>&#65535;</body></message>", kNwf},
    {"CharacterReferenceToSurrogateIsNotWellFormed", "<message><body>&#xD800;</body></message>",
     kNwf},
    {"CharacterReferenceBeyondUnicodeIsNotWellFormed",
     "<message><body>&#x110000;</body></message>", kNwf},
    {"CharacterReferenceOverflowingIsNotWellFormed",
     "<message><body>&#4294967361;</body></message>", kNwf},
    {"CharacterReferenceToControlInAttributeIsNotWellFormed", "<message to='&#x1B;'/>", kNwf},
    // XML 1.0 §2.2: raw characters outside Char.
    {"RawNulInTextIsNotWellFormed", "<message><body>a\0b</body></message>"sv, kNwf},
    {"RawControlInTextIsNotWellFormed", "<message><body>a\x01z</body></message>", kNwf},
    {"RawEscapeInAttributeIsNotWellFormed", "<message to='a\x1bz'/>", kNwf},
    {"RawControlInCDataIsNotWellFormed", "<message><body><![CDATA[a\x02z]]></body></message>",
     kNwf},
    {"RawControlAtStreamLevelIsNotWellFormed", "<presence/>\x0c<presence/>", kNwf},
    {"RawControlInTagIsNotWellFormed", "<message\x01 to='a'/>", kNwf},
    // RFC 3629 / XML 1.0 §4.3.3: the input must be UTF-8.
    {"LoneContinuationByteIsNotWellFormed", "<message><body>a\x80z</body></message>", kNwf},
    {"TruncatedTwoByteSequenceIsNotWellFormed", "<message><body>\xC3" "A</body></message>", kNwf},
    {"TruncatedThreeByteSequenceIsNotWellFormed", "<message><body>\xE6\x97" "A</body></message>",
     kNwf},
    {"TruncatedFourByteSequenceIsNotWellFormed",
     "<message><body>\xF0\x9F\x98" "A</body></message>", kNwf},
    {"TruncatedSequenceBeforeTagIsNotWellFormed", "<message><body>\xC3</body></message>", kNwf},
    {"OverlongTwoByteNulIsNotWellFormed", "<message><body>\xC0\x80</body></message>", kNwf},
    {"OverlongTwoByteAsciiIsNotWellFormed", "<message><body>\xC1\xBF</body></message>", kNwf},
    {"OverlongThreeByteIsNotWellFormed", "<message><body>\xE0\x80\x80</body></message>", kNwf},
    {"OverlongThreeByteJustBelowMinimumIsNotWellFormed",
     "<message><body>\xE0\x9F\xBF</body></message>", kNwf},
    {"OverlongFourByteIsNotWellFormed", "<message><body>\xF0\x80\x80\x80</body></message>",
     kNwf},
    // Overlong forms of characters XML allows (U+0041, U+FFFD, U+00E9).
    {"OverlongFourByteLetterIsNotWellFormed", "<message><body>\xF0\x80\x81\x81</body></message>",
     kNwf},
    {"OverlongFourByteThreeByteCharacterIsNotWellFormed",
     "<message><body>\xF0\x8F\xBF\xBD</body></message>", kNwf},
    {"OverlongThreeByteTwoByteCharacterIsNotWellFormed",
     "<message><body>\xE0\x83\xA9</body></message>", kNwf},
    {"OverlongFourByteJustBelowMinimumIsNotWellFormed",
     "<message><body>\xF0\x8F\xBF\xBF</body></message>", kNwf},
    {"EncodedHighSurrogateIsNotWellFormed", "<message><body>\xED\xA0\x80</body></message>",
     kNwf},
    {"EncodedLowSurrogateIsNotWellFormed", "<message><body>\xED\xBF\xBF</body></message>", kNwf},
    {"CodePointAbove10FFFFIsNotWellFormed", "<message><body>\xF4\x90\x80\x80</body></message>",
     kNwf},
    {"ByteF5IsNotWellFormed", "<message><body>\xF5\x80\x80\x80</body></message>", kNwf},
    {"ByteF8IsNotWellFormed", "<message><body>\xF8\x88\x80\x80\x80</body></message>", kNwf},
    {"ByteFEIsNotWellFormed", "<message><body>\xFE</body></message>", kNwf},
    {"ByteFFIsNotWellFormed", "<message><body>\xFF</body></message>", kNwf},
    {"EncodedFFFEIsNotWellFormed", "<message><body>\xEF\xBF\xBE</body></message>", kNwf},
    {"EncodedFFFFIsNotWellFormed", "<message><body>\xEF\xBF\xBF</body></message>", kNwf},
    {"InvalidUtf8InAttributeIsNotWellFormed", "<message to='\xC0\xAF'/>", kNwf},
    {"InvalidUtf8InElementNameIsNotWellFormed", "<m\xC3 to='a'/>", kNwf},
    {"InvalidUtf8InCDataIsNotWellFormed", "<message><body><![CDATA[\xED\xA0\x80]]></body></message>",
     kNwf},
    // A byte that is not UTF-8 breaks XML itself, wherever it is; the stream-level rule
    // (bad-format for text) is about well-formed characters.
    // (RFC 6120 §4.9.3.1 RECOMMENDS the more specific condition; fixed in 41a7bd6.)
    {"InvalidUtf8AtStreamLevelIsNotWellFormed", "<presence/>\x80", kNwf},
    {"InvalidUtf8InHeaderIsNotWellFormed",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "to='\xFF'>", kNwf, Where::Raw},

    // XML 1.0 §3: element structure.
    {"MismatchedEndTagIsNotWellFormed", "<message></iq>", kNwf},
    {"MismatchedNestedEndTagIsNotWellFormed", "<message><body>x</bod></message>", kNwf},
    {"EndTagWithOtherPrefixForSameNamespaceIsNotWellFormed",
     "<x:foo xmlns:x='urn:x' xmlns:y='urn:x'></y:foo>", kNwf},
    {"UnclosedTagBeforeStreamCloseIsNotWellFormed", "<message><body>hi</stream:stream>", kNwf},
    {"UnclosedStanzaBeforeStreamCloseIsNotWellFormed", "<message></stream:stream>", kNwf},
    {"StrayEndTagAtStreamLevelIsNotWellFormed", "<presence/></message>", kNwf},
    {"WrongStreamCloseIsNotWellFormed", "<presence/></stream:foo>", kNwf},
    {"DuplicateAttributeIsNotWellFormed", "<message to='a' to='b'/>", kNwf},
    {"DuplicateAttributeNotAdjacentIsNotWellFormed", "<message to='a' id='1' to='a'/>", kNwf},
    {"DuplicateExpandedAttributeIsNotWellFormed",
     "<message xmlns:a='urn:z' xmlns:b='urn:z' a:x='1' b:x='2'/>", kNwf},
    {"DuplicateExpandedAttributeViaInheritedPrefixesIsNotWellFormed",
     "<message xmlns:a='urn:z'><c xmlns:b='urn:z' a:x='1' b:x='2'/></message>", kNwf},
    {"DuplicateNamespaceDeclarationIsNotWellFormed",
     "<message xmlns:a='urn:z' xmlns:a='urn:y'/>", kNwf},
    {"DuplicateDefaultNamespaceDeclarationIsNotWellFormed",
     "<message xmlns='jabber:client' xmlns='jabber:client'/>", kNwf},
    {"DuplicateAttributeOnHeaderIsNotWellFormed",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "to='a' to='b'>", kNwf, Where::Raw},
    // Namespaces in XML 1.0 §6.3 (Attributes Unique): holds on the header too.
    // (Fixed in 41a7bd6: the header was checked for duplicate qualified names only.)
    {"DuplicateExpandedAttributeOnHeaderIsNotWellFormed",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "xmlns:a='urn:z' xmlns:b='urn:z' a:x='1' b:x='2'>", kNwf, Where::Raw},

    // Namespaces in XML 1.0 §3, §5.
    {"UnboundElementPrefixIsNotWellFormed", "<foo:message/>", kNwf},
    {"UnboundNestedElementPrefixIsNotWellFormed", "<message><foo:bar/></message>", kNwf},
    {"PrefixOutOfScopeIsNotWellFormed",
     "<message><a xmlns:p='urn:p'/><p:b/></message>", kNwf},
    {"UnboundAttributePrefixIsNotWellFormed", "<message foo:bar='x'/>", kNwf},
    {"UnboundAttributePrefixOnHeaderIsNotWellFormed",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "foo:bar='x'>", kNwf, Where::Raw},
    {"EmptyPrefixedNamespaceDeclarationIsNotWellFormed", "<message xmlns:p=''/>", kNwf},
    {"XmlPrefixBoundToWrongUriIsNotWellFormed", "<message xmlns:xml='urn:wrong'/>", kNwf},
    {"XmlNamespaceBoundToOtherPrefixIsNotWellFormed",
     "<message xmlns:foo='http://www.w3.org/XML/1998/namespace'/>", kNwf},
    {"XmlNamespaceAsDefaultIsNotWellFormed",
     "<message xmlns='http://www.w3.org/XML/1998/namespace'/>", kNwf},
    {"BindingXmlnsPrefixIsNotWellFormed", "<message xmlns:xmlns='urn:x'/>", kNwf},
    {"DeclaringXmlnsNamespaceIsNotWellFormed",
     "<message xmlns:p='http://www.w3.org/2000/xmlns/'/>", kNwf},
    {"DeclaringXmlnsNamespaceAsDefaultIsNotWellFormed",
     "<message xmlns='http://www.w3.org/2000/xmlns/'/>", kNwf},
    {"XmlnsPrefixOnElementIsNotWellFormed", "<xmlns:foo/>", kNwf},
    {"XmlPrefixWrongUriOnHeaderIsNotWellFormed",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "xmlns:xml='urn:wrong'>", kNwf, Where::Raw},
    {"EmptyPrefixedDeclarationOnHeaderIsNotWellFormed",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "xmlns:p=''>", kNwf, Where::Raw},

    // XML 1.0 §3.1: start tags and attributes.
    {"LessThanInAttributeValueIsNotWellFormed", "<message to='a<b'/>", kNwf},
    {"UnquotedAttributeValueIsNotWellFormed", "<message to=a/>", kNwf},
    {"AttributeWithoutValueIsNotWellFormed", "<message disabled/>", kNwf},
    {"AttributeWithoutEqualsIsNotWellFormed", "<message to 'a'/>", kNwf},
    {"MissingWhitespaceBetweenAttributesIsNotWellFormed", "<message to='a'type='chat'/>", kNwf},
    {"SpaceAfterLessThanIsNotWellFormed", "< message/>", kNwf},
    {"SpaceInEmptyTagEndIsNotWellFormed", "<message / >", kNwf},
    // XML 1.0 §2.4: "]]>" may not appear in content.
    {"CDataEndInTextIsNotWellFormed", "<message><body>a]]>b</body></message>", kNwf},
    {"CDataEndAfterMoreBracketsIsNotWellFormed", "<message><body>a]]]]>b</body></message>", kNwf},
    // XML 1.0 §2.3, Namespaces in XML §3: names.
    {"ElementNameStartingWithDigitIsNotWellFormed", "<1a/>", kNwf},
    {"ElementNameStartingWithHyphenIsNotWellFormed", "<message><-a/></message>", kNwf},
    {"ElementNameWithTwoColonsIsNotWellFormed", "<a:b:c xmlns:a='urn:a'/>", kNwf},
    {"ElementNameStartingWithColonIsNotWellFormed", "<:a/>", kNwf},
    {"ElementNameEndingWithColonIsNotWellFormed", "<a:/>", kNwf},
    {"ElementNameWithNonNameCharacterIsNotWellFormed", "<a×b/>", kNwf},
    {"AttributeNameWithTwoColonsIsNotWellFormed", "<message xmlns:a='urn:a' a:b:c='1'/>", kNwf},
    {"AttributeNameStartingWithDigitIsNotWellFormed", "<message 1a='1'/>", kNwf},

    // RFC 6120 §4.8, §11: the stream.
    {"TextAtStreamLevelIsBadFormat", "<presence/>hello", StreamError::BadFormat},
    {"NonAsciiTextAtStreamLevelIsBadFormat", "é<presence/>", StreamError::BadFormat},
    {"EntityReferenceAtStreamLevelIsBadFormat", "&amp;", StreamError::BadFormat},
    {"CDataAtStreamLevelIsBadFormat", "<![CDATA[x]]>", StreamError::BadFormat},
    {"WrongStreamNamespaceIsInvalidNamespace",
     "<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong'>",
     StreamError::InvalidNamespace, Where::Raw},
    {"StreamElementInDefaultNamespaceIsBadNamespacePrefix",
     "<stream xmlns='http://etherx.jabber.org/streams' to='example.com'>",
     StreamError::BadNamespacePrefix, Where::Raw},
    {"UndeclaredStreamPrefixIsBadNamespacePrefix",
     "<stream:stream xmlns='jabber:client' to='example.com' version='1.0'>",
     StreamError::BadNamespacePrefix, Where::Raw},
    {"WrongContentNamespaceIsInvalidNamespace",
     "<stream:stream xmlns='jabber:foo' xmlns:stream='http://etherx.jabber.org/streams'>",
     StreamError::InvalidNamespace, Where::Raw},
    {"StreamNamespaceAsContentNamespaceIsInvalidNamespace",
     "<stream:stream xmlns='http://etherx.jabber.org/streams' "
     "xmlns:stream='http://etherx.jabber.org/streams'>",
     StreamError::InvalidNamespace, Where::Raw},
    {"RootNotNamedStreamIsBadFormat",
     "<stream:foo xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
     StreamError::BadFormat, Where::Raw},
    {"TextBeforeHeaderIsNotWellFormed",
     "hello<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
     kNwf, Where::Raw},
    // RFC 6120 §11.6: UTF-8 only.
    {"Latin1EncodingIsUnsupportedEncoding",
     "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>",
     StreamError::UnsupportedEncoding, Where::Raw},
    {"Utf16EncodingIsUnsupportedEncoding",
     "<?xml version='1.0' encoding='UTF-16'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>",
     StreamError::UnsupportedEncoding, Where::Raw},
    // XML 1.0 §2.8: XMLDecl.
    {"XmlDeclarationWithoutVersionIsNotWellFormed",
     "<?xml encoding='UTF-8'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kNwf, Where::Raw},
    {"XmlDeclarationWithPseudoAttributesOutOfOrderIsNotWellFormed",
     "<?xml encoding='UTF-8' version='1.0'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kNwf, Where::Raw},
    {"XmlDeclarationWithBadStandaloneIsNotWellFormed",
     "<?xml version='1.0' standalone='maybe'?><stream:stream xmlns='jabber:client' "
     "xmlns:stream='http://etherx.jabber.org/streams'>", kNwf, Where::Raw},

    // ParserLimits (→ policy-violation).
    {"ElementOverSizeLimitIsPolicyViolation",
     "<message><body>0123456789012345678901234567890123456789</body></message>", kPolicy,
     Where::AfterHeader, {.max_element_bytes = 64}},
    {"UnterminatedElementOverSizeLimitIsPolicyViolation",
     "<message><body>0123456789012345678901234567890123456789", kPolicy,
     Where::AfterHeader, {.max_element_bytes = 32}},
    {"DepthOverLimitIsPolicyViolation", "<a><b><c><d><e/></d></c></b></a>", kPolicy,
     Where::AfterHeader, {.max_depth = 4}},
    {"TooManyAttributesIsPolicyViolation", "<a b='1' c='2' d='3' e='4' f='5'/>", kPolicy,
     Where::AfterHeader, {.max_attributes = 4}},  // the header has 4
    {"TooManyNamespaceDeclarationsIsPolicyViolation",
     "<a xmlns:b='urn:1' xmlns:c='urn:2' xmlns:d='urn:3' xmlns:e='urn:4' xmlns:f='urn:5'/>", kPolicy,
     Where::AfterHeader, {.max_attributes = 4}},
    {"TooMuchWhitespaceBetweenStanzasIsPolicyViolation",
     "<presence/>                                 <presence/>", kPolicy, Where::AfterHeader,
     {.max_text_between_elements = 16}},
    {"TooMuchWhitespaceAfterHeaderIsPolicyViolation",
     "                                 ", kPolicy, Where::AfterHeader,
     {.max_text_between_elements = 16}},
    {"OversizedHeaderIsPolicyViolation",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "to='example.com' version='1.0'>", kPolicy, Where::Raw, {.max_header_bytes = 64}},
    {"UnterminatedOversizedXmlDeclarationIsPolicyViolation",
     "<?xml version='1.0'                                                                  ",
     kPolicy, Where::Raw, {.max_header_bytes = 64}},
    {"TooManyAttributesOnHeaderIsPolicyViolation",
     "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
     "to='example.com' version='1.0'>", kPolicy, Where::Raw, {.max_attributes = 3}},
};
// clang-format on

// For readable failure messages (gtest prints the parameter).
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

std::string full_input(const MalformedCase& c) {
  if (c.where == Where::Raw) return std::string(c.input);
  return "<?xml version='1.0'?>" + std::string(test::kClientHeader) + std::string(c.input);
}

ParserOptions options_of(const MalformedCase& c) {
  ParserOptions o;
  o.limits = c.limits;
  return o;
}

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, Rejects) {
  const MalformedCase& c = GetParam();
  const std::string input = full_input(c);
  StreamParser p(options_of(c));
  p.feed(input);
  StreamParser::Event ev = p.next();
  if (c.where == Where::AfterHeader) {
    ASSERT_EQ(ev.type, EventType::StreamOpened) << to_string(ev.error) << ": " << ev.error_text;
    ev = p.next();
  }
  // Whatever complete elements precede the broken one are delivered; then the error.
  while (ev.type == EventType::Element) ev = p.next();
  ASSERT_EQ(ev.type, EventType::Error) << test::type_name(ev.type);
  EXPECT_EQ(ev.error, c.expected) << "got " << to_string(ev.error) << ": " << ev.error_text;
  EXPECT_FALSE(ev.error_text.empty());

  // The parser stays failed, with the same condition, whatever comes next.
  for (int i = 0; i < 3; ++i) {
    StreamParser::Event again = p.next();
    EXPECT_EQ(again.type, EventType::Error);
    EXPECT_EQ(again.error, ev.error);
  }
  p.feed("<presence/></stream:stream>");
  StreamParser::Event after_feed = p.next();
  EXPECT_EQ(after_feed.type, EventType::Error);
  EXPECT_EQ(after_feed.error, ev.error);
}

// The same events byte by byte as in one buffer (the chunking tests do every split for a few of
// these).
TEST_P(MalformedTest, SameErrorByteByByte) {
  const MalformedCase& c = GetParam();
  const std::string input = full_input(c);
  EXPECT_TRUE(test::same_events(test::run_whole(input, options_of(c)),
                                test::run_bytewise(input, options_of(c))));
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedTest, ::testing::ValuesIn(kCases),
                         [](const auto& tp) { return std::string(tp.param.name); });

// Each limit admits exactly its value: the boundary cases pass (so the limits above do not fail
// for some other reason).
TEST(LimitsTest, ElementOfExactlyMaxElementBytesIsAccepted) {
  const std::string stanza = "<message><body>0123456789</body></message>";
  ParserOptions o;
  o.limits.max_element_bytes = stanza.size();
  auto events = test::run_whole(std::string(test::kClientHeader) + stanza + stanza + " ", o);
  EXPECT_EQ(test::count_elements(events), 2u) << test::describe(events);
  EXPECT_NE(events.back().type, EventType::Error) << test::describe(events);
}

TEST(LimitsTest, DepthOfExactlyMaxDepthIsAccepted) {
  ParserOptions o;
  o.limits.max_depth = 4;
  auto events = test::run_whole(std::string(test::kClientHeader) + "<a><b><c><d/></c></b></a>", o);
  EXPECT_EQ(test::count_elements(events), 1u) << test::describe(events);
  EXPECT_NE(events.back().type, EventType::Error) << test::describe(events);
}

TEST(LimitsTest, ExactlyMaxAttributesIsAccepted) {
  ParserOptions o;
  o.limits.max_attributes = 4;  // the header has 4 too
  auto events = test::run_whole(std::string(test::kClientHeader) +
                                    "<a b='1' c='2' d='3' e='4'/><a xmlns:e='urn:e' e:f='1' g='2' "
                                    "h='3'/>",
                                o);
  EXPECT_EQ(test::count_elements(events), 2u) << test::describe(events);
  EXPECT_NE(events.back().type, EventType::Error) << test::describe(events);
}

TEST(LimitsTest, ExactlyMaxWhitespaceBetweenStanzasIsAccepted) {
  ParserOptions o;
  o.limits.max_text_between_elements = 16;
  const std::string ws(16, ' ');
  auto events =
      test::run_whole(std::string(test::kClientHeader) + ws + "<a/>" + ws + "<a/>" + ws, o);
  EXPECT_EQ(test::count_elements(events), 2u) << test::describe(events);
  EXPECT_NE(events.back().type, EventType::Error) << test::describe(events);
}

TEST(LimitsTest, HeaderOfExactlyMaxHeaderBytesIsAccepted) {
  const std::string header = "<?xml version='1.0'?>" + std::string(test::kClientHeader);
  ParserOptions o;
  o.limits.max_header_bytes = header.size();
  auto events = test::run_whole(header + "<presence/>", o);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().type, EventType::StreamOpened) << test::describe(events);
  EXPECT_EQ(test::count_elements(events), 1u) << test::describe(events);
}

// A limit is about one element: many stanzas of legal size add up to any amount.
TEST(LimitsTest, ElementLimitIsPerElement) {
  ParserOptions o;
  o.limits.max_element_bytes = 16;
  o.limits.max_header_bytes = 200;
  std::string input(test::kClientHeader);
  for (int i = 0; i < 200; ++i) input += "<presence/>";
  auto events = test::run_whole(input, o);
  EXPECT_EQ(test::count_elements(events), 200u);
  EXPECT_NE(events.back().type, EventType::Error) << test::describe(events.back());
}

}  // namespace
}  // namespace parley::xml
