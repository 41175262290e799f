// Element and Document: namespace resolution of parsed trees (Namespaces in XML 1.0), attribute
// lookup, xml:lang inheritance, navigation, builders, and deep_equal.
#include "xml/element.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "tests/xml/test_util.hpp"
#include "xml/namespaces.hpp"
#include "xml/writer.hpp"

namespace parley::xml {
namespace {

Document client(std::string_view stanza) {
  return test::parse_element(stanza, test::kClientHeader);
}

// --- Element namespaces ------------------------------------------------------------------------

TEST(NamespaceTest, UnprefixedStanzaIsInTheStreamsContentNamespace) {
  Document d = client("<message><body>x</body></message>");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().ns(), ns::kClient);
  EXPECT_EQ(d.root().child("body").ns(), ns::kClient);
  Document s = test::parse_element("<message><body>x</body></message>", test::kServerHeader);
  ASSERT_TRUE(s);
  EXPECT_EQ(s.root().ns(), ns::kServer);
}

TEST(NamespaceTest, PrefixedElementIsInItsPrefixesNamespace) {
  Document d = client("<iq><x:foo xmlns:x='urn:x'><x:baz/></x:foo></iq>");
  ASSERT_TRUE(d);
  Element foo = d.root().first_child();
  EXPECT_EQ(foo.name(), "foo");  // local name, no prefix
  EXPECT_EQ(foo.ns(), "urn:x");
  Element baz = foo.first_child();
  EXPECT_EQ(baz.name(), "baz");
  EXPECT_EQ(baz.ns(), "urn:x");
}

// Namespaces in XML §6.2: an unprefixed element is in the default namespace, even inside an
// element with a prefix.
TEST(NamespaceTest, UnprefixedChildOfPrefixedElementStaysInTheDefaultNamespace) {
  Document d = client("<iq><x:foo xmlns:x='urn:x'><bar/></x:foo></iq>");
  ASSERT_TRUE(d);
  Element foo = d.root().first_child();
  Element bar = foo.first_child();
  EXPECT_EQ(bar.name(), "bar");
  EXPECT_EQ(bar.ns(), ns::kClient);
  EXPECT_TRUE(foo.child("bar", ns::kClient));
  EXPECT_FALSE(foo.child("bar", "urn:x"));
}

// Regression (fixed in 41a7bd6): canonicalisation rewrote the element's own `xmlns` in place, and
// the children, whose scope still pointed at those bytes, ended up in the prefix's namespace.
TEST(NamespaceTest, DefaultDeclaredOnThePrefixedElementAppliesToItsChildren) {
  // D = urn:d is declared on the prefixed element itself; the element is in urn:x, its
  // unprefixed children in urn:d.
  Document d = client("<iq><x:foo xmlns='urn:d' xmlns:x='urn:x'><bar/><x:baz/></x:foo></iq>");
  ASSERT_TRUE(d);
  Element foo = d.root().first_child();
  EXPECT_EQ(foo.ns(), "urn:x");
  EXPECT_EQ(foo.first_child().name(), "bar");
  EXPECT_EQ(foo.first_child().ns(), "urn:d");
  EXPECT_EQ(foo.first_child().next_sibling().ns(), "urn:x");
}

// The same, with a replacement shorter and one longer than the declared default.
TEST(NamespaceTest, DefaultOfDifferentLengthDeclaredOnThePrefixedElement) {
  Document d = client(
      "<iq><x:foo xmlns='urn:a-much-longer-default' xmlns:x='urn:x'><bar/></x:foo>"
      "<y:foo xmlns='urn:d' xmlns:y='urn:a-much-longer-prefixed'><bar/></y:foo></iq>");
  ASSERT_TRUE(d);
  Element foo = d.root().first_child();
  EXPECT_EQ(foo.ns(), "urn:x");
  EXPECT_EQ(foo.first_child().ns(), "urn:a-much-longer-default");
  Element foo2 = foo.next_sibling();
  EXPECT_EQ(foo2.ns(), "urn:a-much-longer-prefixed");
  EXPECT_EQ(foo2.first_child().ns(), "urn:d");
}

TEST(NamespaceTest, EmptyDefaultNamespaceUndeclares) {
  Document d = client("<iq><query xmlns='urn:q'><item xmlns=''><sub/></item><item2/></query></iq>");
  ASSERT_TRUE(d);
  Element query = d.root().child("query", "urn:q");
  ASSERT_TRUE(query);
  Element item = query.child("item", "");
  ASSERT_TRUE(item);
  EXPECT_EQ(item.ns(), "");
  EXPECT_EQ(item.first_child().ns(), "");
  EXPECT_TRUE(item.child("sub", ""));
  EXPECT_EQ(query.child("item2").ns(), "urn:q");
  EXPECT_FALSE(query.child("item", "urn:q"));
}

TEST(NamespaceTest, RedeclaredPrefixIsScopedToItsElement) {
  Document d =
      client("<iq><x:a xmlns:x='urn:1'><x:b xmlns:x='urn:2'><x:c/></x:b><x:d/></x:a></iq>");
  ASSERT_TRUE(d);
  Element a = d.root().first_child();
  EXPECT_TRUE(a.is("a", "urn:1"));
  EXPECT_TRUE(a.child("b", "urn:2"));
  EXPECT_TRUE(a.child("b", "urn:2").child("c", "urn:2"));
  EXPECT_TRUE(a.child("d", "urn:1"));
}

TEST(NamespaceTest, PrefixDeclaredOnTheStreamHeader) {
  Document d = test::parse_element("<message><db:result from='a'>k</db:result><db:x/></message>",
                                   test::kServerHeader);
  ASSERT_TRUE(d);
  Element result = d.root().first_child();
  EXPECT_TRUE(result.is("result", ns::kDialback));
  // Canonical form is self-contained: a copy out of the stream still knows its namespace.
  Document copy = Document::copy_of(result);
  EXPECT_TRUE(copy.root().is("result", ns::kDialback));
  EXPECT_EQ(serialize(copy.root()), "<result xmlns='jabber:server:dialback' from='a'>k</result>");
}

TEST(NamespaceTest, StreamPrefixOnAStanzaLevelElement) {
  Document d = test::parse_element(
      "<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'"
      ">x</text></stream:error>",
      test::kClientHeader);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d.root().is("error", ns::kStream));
  EXPECT_EQ(d.root().child("text", ns::kStreamErrors).text(), "x");
}

// --- Attributes ----------------------------------------------------------------------------------

TEST(AttributeTest, PrefixedAttributeByNamespace) {
  Document d = client("<message><a xmlns:p='urn:p' p:attr='v' attr='w'/></message>");
  ASSERT_TRUE(d);
  Element a = d.root().first_child();
  EXPECT_EQ(a.find_attr("urn:p", "attr"), "v");
  EXPECT_EQ(a.find_attr("attr"), "w");
  EXPECT_EQ(a.find_attr("", "attr"), "w");
  EXPECT_EQ(a.find_attr("urn:other", "attr"), std::nullopt);
  EXPECT_EQ(a.find_attr("urn:p", "other"), std::nullopt);
  EXPECT_EQ(a.attr("missing"), "");
  EXPECT_EQ(a.find_attr("missing"), std::nullopt);
}

TEST(AttributeTest, PrefixedAttributeWhosePrefixIsDeclaredOnAnAncestor) {
  Document d = client("<message xmlns:p='urn:p'><a><b p:attr='v'/></a></message>");
  ASSERT_TRUE(d);
  Element b = d.root().first_child().first_child();
  EXPECT_EQ(b.find_attr("urn:p", "attr"), "v");
  // ... and the element keeps it when copied out of its tree.
  Document copy = Document::copy_of(b);
  EXPECT_EQ(copy.root().find_attr("urn:p", "attr"), "v");
}

TEST(AttributeTest, PrefixedAttributeWhosePrefixIsDeclaredOnTheHeader) {
  Document d = test::parse_element("<db:result db:x='1' y='2'/>", test::kServerHeader);
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().find_attr(ns::kDialback, "x"), "1");
  EXPECT_EQ(d.root().find_attr(ns::kDialback, "y"), std::nullopt);  // unprefixed: no namespace
  EXPECT_EQ(d.root().find_attr("y"), "2");
}

TEST(AttributeTest, TwoPrefixesForOneNamespaceOnDifferentAttributes) {
  Document d = client("<message xmlns:a='urn:z' xmlns:b='urn:z' a:x='1' b:y='2'/>");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().find_attr("urn:z", "x"), "1");
  EXPECT_EQ(d.root().find_attr("urn:z", "y"), "2");
}

TEST(AttributeTest, XmlLangByNamespaceAndInheritance) {
  Document d = client(
      "<presence xml:lang='fr'><status>Absent</status><status xml:lang='de'>Weg</status>"
      "<x xmlns='urn:x'><y/></x></presence>");
  ASSERT_TRUE(d);
  Element p = d.root();
  EXPECT_EQ(p.find_attr(ns::kXml, "lang"), "fr");
  EXPECT_EQ(p.find_attr("lang"), std::nullopt);  // not an unqualified attribute
  EXPECT_EQ(p.lang(), "fr");
  Element first = p.first_child();
  EXPECT_EQ(first.find_attr(ns::kXml, "lang"), std::nullopt);
  EXPECT_EQ(first.lang(), "fr");
  EXPECT_EQ(first.next_sibling().lang(), "de");
  EXPECT_EQ(p.child("x", "urn:x").first_child().lang(), "fr");
}

TEST(AttributeTest, LangIsEmptyWithoutXmlLang) {
  Document d = client("<message><body>x</body></message>");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().lang(), "");
  EXPECT_EQ(d.root().first_child().lang(), "");
}

// --- Navigation and text -------------------------------------------------------------------------

TEST(NavigationTest, ChildByNameAndNamespace) {
  Document d = client(
      "<message><body>one</body><body xmlns='urn:other'>two</body><thread>t</thread></message>");
  ASSERT_TRUE(d);
  Element m = d.root();
  EXPECT_EQ(m.child("body", ns::kClient).text(), "one");
  EXPECT_EQ(m.child("body", "urn:other").text(), "two");
  EXPECT_FALSE(m.child("body", "urn:none"));
  EXPECT_FALSE(m.child("subject", ns::kClient));
  EXPECT_EQ(m.child("body").text(), "one");  // first in any namespace
  EXPECT_EQ(m.child("thread").text(), "t");
  EXPECT_FALSE(m.child("nothing"));
}

TEST(NavigationTest, ChildrenSiblingsParentAndCount) {
  Document d = client("<iq>text<a/> <b/><c><d/></c></iq>");
  ASSERT_TRUE(d);
  Element iq = d.root();
  EXPECT_EQ(iq.child_count(), 3u);
  std::vector<std::string> names;
  for (Element c : iq.children()) names.emplace_back(c.name());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(iq.first_child().name(), "a");
  EXPECT_EQ(iq.first_child().next_sibling().name(), "b");
  EXPECT_FALSE(iq.child("c").next_sibling());
  EXPECT_EQ(iq.child("c").first_child().parent().name(), "c");
  EXPECT_FALSE(iq.parent());
  EXPECT_FALSE(iq.child("a").first_child());
  EXPECT_EQ(iq.child("a").child_count(), 0u);
}

TEST(NavigationTest, TextIsTheDirectTextOnly) {
  Document d = client("<body>a &amp; <b>bold</b> c<![CDATA[<d>]]>&#x263A;</body>");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().text(), "a &  c<d>☺");
  EXPECT_EQ(d.root().child("b").text(), "bold");
}

// element.hpp's canonical form: CDATA sections become text, adjacent texts are one node.
TEST(CanonicalFormTest, CDataAndAdjacentTextsAreOnePcdataNode) {
  Document d = client("<body>a<![CDATA[<b>]]>&amp;<![CDATA[c]]>d<e/>f</body>");
  ASSERT_TRUE(d);
  pugi::xml_node first = d.root().node().first_child();
  EXPECT_EQ(first.type(), pugi::node_pcdata);
  EXPECT_STREQ(first.value(), "a<b>&cd");
  ASSERT_EQ(first.next_sibling().type(), pugi::node_element);
  EXPECT_EQ(first.next_sibling().next_sibling().type(), pugi::node_pcdata);
  EXPECT_FALSE(first.next_sibling().next_sibling().next_sibling());
}

// element.hpp's canonical form: local names, xmlns on the root and where the namespace changes,
// prefixed attributes with their declaration on the same element.
TEST(CanonicalFormTest, PrefixesAreResolvedAway) {
  Document d =
      client("<iq><x:foo xmlns:x='urn:x' xmlns:unused='urn:u'><x:bar x:a='1'/></x:foo></iq>");
  ASSERT_TRUE(d);
  pugi::xml_node iq = d.root().node();
  EXPECT_STREQ(iq.attribute("xmlns").value(), "jabber:client");
  pugi::xml_node foo = iq.first_child();
  EXPECT_STREQ(foo.name(), "foo");
  EXPECT_STREQ(foo.attribute("xmlns").value(), "urn:x");
  pugi::xml_node bar = foo.first_child();
  EXPECT_STREQ(bar.name(), "bar");
  EXPECT_FALSE(bar.attribute("xmlns"));  // same namespace as its parent
  EXPECT_STREQ(bar.attribute("xmlns:x").value(), "urn:x");
  EXPECT_STREQ(bar.attribute("x:a").value(), "1");
}

TEST(NavigationTest, WhitespaceTextIsKept) {
  Document d = client("<body> \n <b/>\t</body>");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.root().text(), " \n \t");
}

TEST(NavigationTest, NullElementIsFalsyAndSafe) {
  Element none;
  EXPECT_FALSE(none);
  EXPECT_EQ(none.name(), "");
  EXPECT_EQ(none.ns(), "");
  EXPECT_FALSE(none.child("x"));
  EXPECT_EQ(none.text(), "");
  EXPECT_EQ(none.child_count(), 0u);
  Document empty;
  EXPECT_FALSE(empty);
  EXPECT_FALSE(empty.root());
}

// --- Builders
// -------------------------------------------------------------------------------------

TEST(BuilderTest, CreateAndAppendKeepCanonicalForm) {
  Document d = Document::create("iq", ns::kClient);
  Element iq = d.root();
  iq.set_attr("type", "result");
  iq.set_attr("id", "1");
  iq.set_attr("type", "get");  // replaces
  Element q = iq.append_child("query", "jabber:iq:roster");
  Element item = q.append_child("item");  // the parent's namespace
  item.set_attr("jid", "a@b");
  item.append_child("group").append_text("Friends");
  Element same = iq.append_child("x", ns::kClient);
  same.append_text("a");
  same.append_text("b");
  EXPECT_TRUE(iq.is("iq", ns::kClient));
  EXPECT_TRUE(q.is("query", "jabber:iq:roster"));
  EXPECT_TRUE(item.is("item", "jabber:iq:roster"));
  EXPECT_EQ(same.ns(), ns::kClient);
  EXPECT_EQ(same.text(), "ab");
  EXPECT_EQ(serialize(iq),
            "<iq xmlns='jabber:client' type='get' id='1'><query xmlns='jabber:iq:roster'>"
            "<item jid='a@b'><group>Friends</group></item></query><x>ab</x></iq>");
  Document parsed = client(
      "<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'><group>Friends"
      "</group></item></query><x>ab</x></iq>");
  EXPECT_TRUE(deep_equal(iq, parsed.root()));
}

TEST(BuilderTest, RemoveAttrAndChild) {
  Document d = client("<message to='a' id='1'><body/><thread/></message>");
  ASSERT_TRUE(d);
  Element m = d.root();
  m.remove_attr("id");
  m.remove_child(m.child("body"));
  EXPECT_EQ(m.find_attr("id"), std::nullopt);
  EXPECT_EQ(serialize(m), "<message xmlns='jabber:client' to='a'><thread/></message>");
}

TEST(BuilderTest, AppendCopyKeepsTheNamespaceOfTheCopy) {
  Document src = client("<message><body>hi</body></message>");
  ASSERT_TRUE(src);
  Document fwd = Document::create("forwarded", "urn:xmpp:forward:0");
  Element copy = fwd.root().append_copy(src.root());
  EXPECT_TRUE(copy.is("message", ns::kClient));
  EXPECT_TRUE(copy.child("body", ns::kClient));
  // A child copied on its own (it declares no namespace itself) keeps its namespace too.
  Element body = fwd.root().append_copy(src.root().child("body"));
  EXPECT_TRUE(body.is("body", ns::kClient));
  // Copying into an element of the same namespace adds no declaration.
  Document other = client("<message/>");
  Element body2 = other.root().append_copy(src.root().child("body"));
  EXPECT_TRUE(body2.is("body", ns::kClient));
  EXPECT_EQ(serialize(other.root()), "<message xmlns='jabber:client'><body>hi</body></message>");
}

TEST(BuilderTest, CopyOfIsIndependentOfTheSource) {
  Document copy;
  {
    Document src = client("<message><body>hi</body></message>");
    ASSERT_TRUE(src);
    copy = Document::copy_of(src.root().child("body"));
  }
  EXPECT_TRUE(copy.root().is("body", ns::kClient));
  EXPECT_EQ(copy.root().text(), "hi");
}

// --- deep_equal ----------------------------------------------------------------------------------

struct EqualCase {
  const char* name;
  const char* a;
  const char* b;
  bool equal;
};

// clang-format off
const EqualCase kEqualCases[] = {
    {"IdenticalTreesAreEqual", "<m a='1'><b>t</b></m>", "<m a='1'><b>t</b></m>", true},
    {"AttributeOrderDoesNotMatter", "<m a='1' b='2'/>", "<m b='2' a='1'/>", true},
    {"PrefixesDoNotMatter", "<x:m xmlns:x='urn:x'><x:c/></x:m>", "<m xmlns='urn:x'><c/></m>", true},
    {"AttributePrefixesDoNotMatter", "<m xmlns:p='urn:p' p:a='1'/>", "<m xmlns:q='urn:p' q:a='1'/>",
     true},
    {"CDataEqualsText", "<m><![CDATA[a<b]]></m>", "<m>a&lt;b</m>", true},
    {"DifferentTextIsUnequal", "<m><b>t</b></m>", "<m><b>u</b></m>", false},
    {"MissingTextIsUnequal", "<m><b>t</b></m>", "<m><b/></m>", false},
    {"WhitespaceTextIsSignificant", "<m><b/></m>", "<m> <b/></m>", false},
    {"TextPositionMatters", "<m>a<b/></m>", "<m><b/>a</m>", false},
    {"DifferentAttributeValueIsUnequal", "<m a='1'/>", "<m a='2'/>", false},
    {"MissingAttributeIsUnequal", "<m a='1' b='2'/>", "<m a='1'/>", false},
    {"ExtraAttributeIsUnequal", "<m a='1'/>", "<m a='1' b='2'/>", false},
    {"DifferentAttributeNameIsUnequal", "<m a='1'/>", "<m b='1'/>", false},
    {"DifferentAttributeNamespaceIsUnequal", "<m xmlns:p='urn:p' p:a='1'/>",
     "<m xmlns:p='urn:q' p:a='1'/>", false},
    {"QualifiedVersusUnqualifiedAttributeIsUnequal", "<m xmlns:p='urn:p' p:a='1'/>", "<m a='1'/>",
     false},
    {"DifferentNamespaceIsUnequal", "<m xmlns='urn:a'/>", "<m xmlns='urn:b'/>", false},
    {"DifferentChildNamespaceIsUnequal", "<m><c xmlns='urn:a'/></m>", "<m><c xmlns='urn:b'/></m>",
     false},
    {"NoNamespaceVersusNamespaceIsUnequal", "<m xmlns='urn:a'><c xmlns=''/></m>",
     "<m xmlns='urn:a'><c/></m>", false},
    {"DifferentNameIsUnequal", "<m/>", "<n/>", false},
    {"ChildOrderMatters", "<m><a/><b/></m>", "<m><b/><a/></m>", false},
    {"ExtraChildIsUnequal", "<m><a/></m>", "<m><a/><a/></m>", false},
    {"DeepDifferenceIsUnequal", "<m><a><b><c x='1'/></b></a></m>", "<m><a><b><c x='2'/></b></a></m>",
     false},
    {"DeepTextDifferenceIsUnequal", "<m><a><b>x</b></a></m>", "<m><a><b>y</b></a></m>", false},
};
// clang-format on

void PrintTo(const EqualCase& c, std::ostream* os) { *os << c.name; }

class DeepEqualTest : public ::testing::TestWithParam<EqualCase> {};

TEST_P(DeepEqualTest, Compares) {
  const EqualCase& c = GetParam();
  Document a = test::parse_element(c.a);
  Document b = test::parse_element(c.b);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(deep_equal(a.root(), b.root()), c.equal) << c.a << " vs " << c.b;
  EXPECT_EQ(deep_equal(b.root(), a.root()), c.equal) << c.b << " vs " << c.a;
  EXPECT_TRUE(deep_equal(a.root(), a.root()));
}

INSTANTIATE_TEST_SUITE_P(Cases, DeepEqualTest, ::testing::ValuesIn(kEqualCases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(DeepEqualNullTest, NullElements) {
  Document a = test::parse_element("<m/>");
  EXPECT_TRUE(deep_equal(Element(), Element()));
  EXPECT_FALSE(deep_equal(a.root(), Element()));
  EXPECT_FALSE(deep_equal(Element(), a.root()));
}

// Built and parsed trees compare equal, and a change made with a builder is seen.
TEST(DeepEqualBuilderTest, SeesBuilderChanges) {
  Document parsed = client("<message to='a'><body>hi</body></message>");
  Document built = Document::create("message", ns::kClient);
  built.root().set_attr("to", "a");
  built.root().append_child("body").append_text("hi");
  EXPECT_TRUE(deep_equal(parsed.root(), built.root()));
  built.root().child("body").append_text("!");
  EXPECT_FALSE(deep_equal(parsed.root(), built.root()));
}

}  // namespace
}  // namespace parley::xml
