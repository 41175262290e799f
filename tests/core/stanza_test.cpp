#include "core/stanza.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::core {
namespace {

StanzaPtr presence(std::string_view xml) { return Stanza::parse(xml); }

TEST(KeptStanzaTest, KeepsTheSerialisedStanzaAndParsesItAgain) {
  KeptStanza kept;
  EXPECT_FALSE(kept);
  EXPECT_EQ(kept.get(), nullptr);

  const auto original = presence(
      "<presence from='juliet@example.com/balcony' to='romeo@example.net'>"
      "<show>away</show><status>out &amp; about</status><priority>5</priority></presence>");
  ASSERT_NE(original, nullptr);
  kept = original;
  ASSERT_TRUE(kept);
  const StanzaPtr again = kept.get();
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again.get(), original.get());  // a new tree, not the one given
  EXPECT_EQ(again->kind(), StanzaKind::Presence);
  EXPECT_EQ(again->from().full(), "juliet@example.com/balcony");
  ASSERT_TRUE(again->to().has_value());
  EXPECT_EQ(again->to()->full(), "romeo@example.net");
  EXPECT_EQ(again->bytes(), original->bytes());
}

TEST(KeptStanzaTest, AssigningNullForgetsIt) {
  KeptStanza kept;
  kept = presence("<presence from='juliet@example.com/balcony'/>");
  ASSERT_TRUE(kept);
  kept = StanzaPtr();
  EXPECT_FALSE(kept);
  EXPECT_EQ(kept.get(), nullptr);
}

}  // namespace
}  // namespace parley::core
