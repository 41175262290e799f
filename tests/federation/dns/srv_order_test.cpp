// RFC 2782 ordering of SRV records (federation/dns/srv_order.hpp), with the randomness scripted.
#include "federation/dns/srv_order.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <stdexcept>

namespace parley::federation::dns {
namespace {

SrvRecord xmpp(std::string target, std::uint16_t priority, std::uint16_t weight,
               std::uint16_t port = 5269) {
  return SrvRecord{kXmppServerService, std::move(target), port, priority, weight, false};
}

SrvRecord xmpps(std::string target, std::uint16_t priority, std::uint16_t weight,
                std::uint16_t port = 5223) {
  return SrvRecord{kXmppsServerService, std::move(target), port, priority, weight, true};
}

// Answers with the values given, in turn, and notes the `max` of each call.
struct ScriptedRandom {
  std::deque<std::uint32_t> values;
  std::vector<std::uint32_t> maxima;

  RandomSource source() {
    return [this](std::uint32_t max) {
      maxima.push_back(max);
      if (values.empty()) throw std::logic_error("random called more often than scripted");
      const auto v = values.front();
      values.pop_front();
      return v;
    };
  }
};

std::vector<std::string> targets(const std::vector<SrvRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.target);
  return out;
}

TEST(SrvOrderTest, PrioritiesAscendRegardlessOfTheOrderReceived) {
  ScriptedRandom random;
  const auto ordered =
      order_srv({xmpp("c", 30, 0), xmpp("a", 10, 0), xmpp("b", 20, 0)}, random.source());
  EXPECT_EQ(targets(ordered), (std::vector<std::string>{"a", "b", "c"}));
  // One record per priority: nothing to choose, so no random draw.
  EXPECT_TRUE(random.maxima.empty());
}

TEST(SrvOrderTest, TheFirstRecordWhoseRunningSumReachesTheDrawIsChosen) {
  // Listing order within the priority (all weights non-zero): by target. Running sums: a=10,
  // b=40, c=100. Draw 11 → b (10 < 11 <= 40); then a=10, c=70: draw 70 → c; then a.
  ScriptedRandom random{{11, 70}, {}};
  const auto ordered =
      order_srv({xmpp("c", 5, 60), xmpp("a", 5, 10), xmpp("b", 5, 30)}, random.source());
  EXPECT_EQ(targets(ordered), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(random.maxima, (std::vector<std::uint32_t>{100, 70}));
}

TEST(SrvOrderTest, ADrawOfTheRunningSumItselfChoosesThatRecord) {
  // RFC 2782: "the first [record] with running sum greater than or equal to the random number".
  ScriptedRandom random{{10, 0}, {}};
  const auto ordered =
      order_srv({xmpp("a", 0, 10), xmpp("b", 0, 20), xmpp("c", 0, 30)}, random.source());
  EXPECT_EQ(targets(ordered).front(), "a");
}

TEST(SrvOrderTest, ZeroWeightRecordsAreListedFirstSoOnlyADrawOfZeroPicksThem) {
  // RFC 2782: weight-0 records go to the beginning of the list; running sums: z=0, a=50, b=100.
  ScriptedRandom zero{{0, 0}, {}};
  EXPECT_EQ(targets(order_srv({xmpp("a", 1, 50), xmpp("z", 1, 0), xmpp("b", 1, 50)}, zero.source()))
                .front(),
            "z");
  ScriptedRandom one{{1, 0}, {}};
  EXPECT_EQ(targets(order_srv({xmpp("a", 1, 50), xmpp("z", 1, 0), xmpp("b", 1, 50)}, one.source()))
                .front(),
            "a");
}

TEST(SrvOrderTest, XmppsAndXmppRecordsAreOneListByPriority) {
  // XEP-0368 §3 rule 1: priorities are compared across both services.
  ScriptedRandom random;
  const auto ordered = order_srv(
      {xmpp("starttls-low", 20, 0), xmpps("tls-high", 5, 0), xmpp("starttls-high", 10, 0)},
      random.source());
  EXPECT_EQ(targets(ordered),
            (std::vector<std::string>{"tls-high", "starttls-high", "starttls-low"}));
  EXPECT_TRUE(ordered[0].direct_tls);
  EXPECT_FALSE(ordered[1].direct_tls);
}

TEST(SrvOrderTest, AtEqualPriorityAndZeroWeightDirectTlsComesFirst) {
  // The RFC leaves the listing order free; Parley lists direct TLS first (one round trip less),
  // so with all weights 0 (every draw is 0) it is tried first.
  ScriptedRandom random{{0}, {}};
  const auto ordered =
      order_srv({xmpp("a.example", 0, 0), xmpps("z.example", 0, 0)}, random.source());
  EXPECT_EQ(targets(ordered), (std::vector<std::string>{"z.example", "a.example"}));
  EXPECT_EQ(random.maxima, (std::vector<std::uint32_t>{0}));
}

TEST(SrvOrderTest, TheSameTargetOnTwoPortsStaysTwoRecords) {
  ScriptedRandom random{{0}, {}};
  const auto ordered = order_srv({xmpp("x", 0, 0, 5270), xmpp("x", 0, 0, 5269)}, random.source());
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[0].port, 5269);
  EXPECT_EQ(ordered[1].port, 5270);
}

TEST(SrvOrderTest, ADrawAboveTheSumIsTakenAsTheSum) {
  ScriptedRandom random{{1000}, {}};
  const auto ordered = order_srv({xmpp("a", 0, 1), xmpp("b", 0, 1)}, random.source());
  EXPECT_EQ(targets(ordered), (std::vector<std::string>{"b", "a"}));
}

TEST(SrvOrderTest, LargeWeightsDoNotOverflow) {
  std::vector<SrvRecord> records;
  for (int i = 0; i < 100; ++i) records.push_back(xmpp("t" + std::to_string(100 + i), 0, 65535));
  ScriptedRandom random;
  for (int i = 0; i < 99; ++i) random.values.push_back(0xffffffffu);
  const auto ordered = order_srv(records, random.source());
  EXPECT_EQ(ordered.size(), 100u);
  EXPECT_EQ(random.maxima.front(), 100u * 65535u);
  EXPECT_EQ(ordered.front().target, "t199");  // the draw of the whole sum picks the last one
}

TEST(SrvOrderTest, FirstChoiceFrequencyIsProportionalToWeight) {
  // RFC 2782: "Larger weights SHOULD be given a proportionately higher probability of being
  // selected." Fixed seed: the test is deterministic, and a wrong algorithm misses by far.
  std::mt19937 engine(12345);
  RandomSource random = [&](std::uint32_t max) {
    return std::uniform_int_distribution<std::uint32_t>(0, max)(engine);
  };
  std::map<std::string, int> first;
  const int runs = 20000;
  for (int i = 0; i < runs; ++i) {
    ++first[order_srv({xmpp("light", 0, 10), xmpp("heavy", 0, 30), xmpp("middle", 0, 60)}, random)
                .front()
                .target];
  }
  // Expected shares 10/100, 30/100, 60/100, except for the draw of 0 (1 in 101), which goes to
  // the first listed ("heavy" by name): within 2 points of each.
  EXPECT_NEAR(first["light"] / double(runs), 0.10, 0.02);
  EXPECT_NEAR(first["heavy"] / double(runs), 0.30, 0.02);
  EXPECT_NEAR(first["middle"] / double(runs), 0.60, 0.02);
}

TEST(SrvOrderTest, DefaultRandomSourceStaysInRange) {
  auto random = default_random_source();
  for (int i = 0; i < 1000; ++i) EXPECT_LE(random(3), 3u);
  EXPECT_EQ(random(0), 0u);
}

TEST(SrvOrderTest, OnlyALoneDotSaysNotAvailable) {
  EXPECT_TRUE(says_not_available({xmpp(".", 0, 0)}));
  EXPECT_FALSE(says_not_available({xmpp(".", 0, 0), xmpp("x.example", 10, 0)}));
  EXPECT_FALSE(says_not_available({xmpp("x.example", 0, 0)}));
  EXPECT_FALSE(says_not_available({}));
}

}  // namespace
}  // namespace parley::federation::dns
