#include "core/auth_throttle.hpp"

#include <gtest/gtest.h>

#include "core/session_registry.hpp"

namespace parley::core {
namespace {

using std::chrono::milliseconds;
using Clock = AuthThrottle::Clock;

TEST(AuthThrottleTest, FirstFailureIsAnsweredAtOnceThenDelaysDouble) {
  AuthThrottle t;
  const auto now = Clock::now();
  EXPECT_EQ(t.on_failure("192.0.2.1", now), milliseconds(0));
  EXPECT_EQ(t.on_failure("192.0.2.1", now), milliseconds(500));
  EXPECT_EQ(t.on_failure("192.0.2.1", now), milliseconds(1000));
  EXPECT_EQ(t.on_failure("192.0.2.1", now), milliseconds(2000));
  for (int i = 0; i < 10; ++i) t.on_failure("192.0.2.1", now);
  EXPECT_EQ(t.on_failure("192.0.2.1", now), AuthThrottle::kMaxDelay);
}

TEST(AuthThrottleTest, AddressesAreThrottledSeparately) {
  AuthThrottle t;
  const auto now = Clock::now();
  t.on_failure("192.0.2.1", now);
  t.on_failure("192.0.2.1", now);
  EXPECT_EQ(t.on_failure("192.0.2.2", now), milliseconds(0));
}

TEST(AuthThrottleTest, SuccessClearsTheRecord) {
  AuthThrottle t;
  const auto now = Clock::now();
  t.on_failure("192.0.2.1", now);
  t.on_failure("192.0.2.1", now);
  t.on_success("192.0.2.1");
  EXPECT_EQ(t.on_failure("192.0.2.1", now), milliseconds(0));
}

TEST(AuthThrottleTest, FailuresOutsideTheWindowAreForgotten) {
  AuthThrottle t;
  const auto now = Clock::now();
  t.on_failure("192.0.2.1", now);
  t.on_failure("192.0.2.1", now);
  EXPECT_EQ(t.on_failure("192.0.2.1", now + AuthThrottle::kWindow + milliseconds(1)),
            milliseconds(0));
}

TEST(AuthThrottleTest, MemoryIsBoundedUnderAFloodOfAddresses) {
  AuthThrottle t;
  const auto now = Clock::now();
  for (std::size_t i = 0; i < AuthThrottle::kMaxAddresses + 500; ++i) {
    t.on_failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), now);
  }
  EXPECT_LE(t.size(), AuthThrottle::kMaxAddresses);
}

TEST(SessionRegistryTest, UnbindOfAReplacedSessionKeepsTheNewOne) {
  SessionRegistry r;
  auto jid = Jid::parse("alice@localhost/phone");
  ASSERT_TRUE(jid);
  // Sessions are only compared by address here; no C2sSession is constructed.
  std::shared_ptr<C2sSession> first(reinterpret_cast<C2sSession*>(0x10), [](C2sSession*) {});
  std::shared_ptr<C2sSession> second(reinterpret_cast<C2sSession*>(0x20), [](C2sSession*) {});
  EXPECT_EQ(r.bind(*jid, first), nullptr);
  EXPECT_EQ(r.bind(*jid, second), first);  // the first is displaced
  r.unbind(*jid, first.get());             // the displaced one closing must not unbind the new
  EXPECT_EQ(r.find(*jid), second);
  r.unbind(*jid, second.get());
  EXPECT_EQ(r.find(*jid), nullptr);
  EXPECT_EQ(r.size(), 0U);
}

TEST(SessionRegistryTest, SessionsOfABareJidListEveryResource) {
  SessionRegistry r;
  std::shared_ptr<C2sSession> a(reinterpret_cast<C2sSession*>(0x10), [](C2sSession*) {});
  std::shared_ptr<C2sSession> b(reinterpret_cast<C2sSession*>(0x20), [](C2sSession*) {});
  r.bind(*Jid::parse("alice@localhost/a"), a);
  r.bind(*Jid::parse("alice@localhost/b"), b);
  r.bind(*Jid::parse("bob@localhost/a"), a);
  EXPECT_EQ(r.sessions_of(*Jid::parse("alice@localhost")).size(), 2U);
  EXPECT_EQ(r.size(), 3U);
}

}  // namespace
}  // namespace parley::core
