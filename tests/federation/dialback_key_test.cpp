// XEP-0185 dialback keys: the recommended HMAC, and that every input changes the key.
#include "federation/dialback_key.hpp"

#include <gtest/gtest.h>

namespace parley::federation {
namespace {

// HMAC-SHA256(key = hex(SHA256("s3cr3tf0rd14lb4ck")), "example.net example.com D60000229F"),
// computed independently with Python's hmac and hashlib.
TEST(DialbackKeyTest, FollowsXep0185) {
  EXPECT_EQ(dialback_key("s3cr3tf0rd14lb4ck", "example.net", "example.com", "D60000229F"),
            "008c689ff366b50c63d69a3e2d2c0e0e1f8404b0118eb688a0102c87cb691bdc");
}

TEST(DialbackKeyTest, EveryInputChangesTheKey) {
  const std::string key = dialback_key("secret", "b.test", "a.test", "id1");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_NE(dialback_key("secret2", "b.test", "a.test", "id1"), key);
  EXPECT_NE(dialback_key("secret", "c.test", "a.test", "id1"), key);
  EXPECT_NE(dialback_key("secret", "b.test", "c.test", "id1"), key);
  EXPECT_NE(dialback_key("secret", "b.test", "a.test", "id2"), key);
  // Receiving and originating are not interchangeable.
  EXPECT_NE(dialback_key("secret", "a.test", "b.test", "id1"), key);
}

TEST(DialbackKeyTest, KeysCompareExactly) {
  EXPECT_TRUE(keys_equal("abc", "abc"));
  EXPECT_FALSE(keys_equal("abc", "abd"));
  EXPECT_FALSE(keys_equal("abc", "abcd"));
  EXPECT_FALSE(keys_equal("", "a"));
}

}  // namespace
}  // namespace parley::federation

namespace parley::federation {
namespace {

TEST(DialbackElementTest, RequestsAnswersAndErrors) {
  EXPECT_EQ(dialback_element("result", "a.test", "b.test", {}, {}, "k&1"),
            "<db:result from='a.test' to='b.test'>k&amp;1</db:result>");
  EXPECT_EQ(dialback_element("verify", "b.test", "a.test", "id'1", "valid", {}),
            "<db:verify from='b.test' to='a.test' id='id&apos;1' type='valid'></db:verify>");
  EXPECT_EQ(dialback_element("result", "b.test", "x.test", {}, "error", {}, "item-not-found"),
            "<db:result from='b.test' to='x.test' type='error'><error type='cancel'>"
            "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>");
}

}  // namespace
}  // namespace parley::federation
