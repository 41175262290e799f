// Unit tests of parley-load's arithmetic: if these are wrong, every figure it prints is wrong.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/body_codec.hpp"
#include "bench/load/connection_memory.hpp"
#include "bench/load/latency.hpp"
#include "bench/load/layout.hpp"
#include "bench/load/process_stats.hpp"
#include "bench/load/rate_schedule.hpp"
#include "bench/load/report.hpp"
#include "bench/load/saturation.hpp"
#include "bench/load/stall_probe.hpp"

namespace parley::load {
namespace {

TEST(BodyCodecTest, RoundTripsEveryField) {
  const MessageStamp stamp{17, 18, 123456789, 987654321012345};
  const std::string body = encode_body(stamp);
  EXPECT_EQ(body, "plm1 s=17 r=18 q=123456789 t=987654321012345");
  EXPECT_EQ(decode_body(body), stamp);
}

TEST(BodyCodecTest, RoundTripsExtremes) {
  const MessageStamp zero{0, 0, 0, 0};
  EXPECT_EQ(decode_body(encode_body(zero)), zero);
  const MessageStamp max{
      std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint32_t>::max(),
      std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::int64_t>::max()};
  EXPECT_EQ(decode_body(encode_body(max)), max);
}

TEST(BodyCodecTest, RefusesAnythingItDidNotWrite) {
  for (const char* body : {
           "",
           "hello",
           "plm1",
           "plm1 ",
           "plm2 s=1 r=2 q=3 t=4",
           "plm1 s=1 r=2 q=3",
           "plm1 s=1 r=2 q=3 t=4 ",
           "plm1 s=1 r=2 q=3 t=4 x=5",
           "plm1 s=1 q=3 r=2 t=4",
           "plm1 s=1 r=2 q=3 t=-4",
           "plm1 s=+1 r=2 q=3 t=4",
           "plm1 s=01 r=2 q=3 t=4",
           "plm1 s= r=2 q=3 t=4",
           "plm1 s=1  r=2 q=3 t=4",
           "plm1 s=1 r=2 q=3 t=4x",
           "plm1 s=4294967296 r=2 q=3 t=4",           // sender overflows 32 bits
           "plm1 s=1 r=2 q=3 t=9223372036854775808",  // time overflows int64
           " plm1 s=1 r=2 q=3 t=4",
       }) {
    EXPECT_FALSE(decode_body(body).has_value()) << body;
  }
}

TEST(PercentileTest, NearestRankOfOneToHundred) {
  std::vector<std::int64_t> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 500), 50);
  EXPECT_EQ(percentile(v, 900), 90);
  EXPECT_EQ(percentile(v, 990), 99);
  EXPECT_EQ(percentile(v, 999), 100);  // ceil(99.9) = 100th
  EXPECT_EQ(percentile(v, 1000), 100);
  EXPECT_EQ(percentile(v, 1), 1);
}

TEST(PercentileTest, RoundsTheRankUp) {
  const std::vector<std::int64_t> seven{10, 20, 30, 40, 50, 60, 70};
  EXPECT_EQ(percentile(seven, 500), 40);  // ceil(3.5) = 4th
  EXPECT_EQ(percentile(seven, 990), 70);  // ceil(6.93) = 7th
  const std::vector<std::int64_t> one{42};
  EXPECT_EQ(percentile(one, 1), 42);
  EXPECT_EQ(percentile(one, 500), 42);
  EXPECT_EQ(percentile(one, 1000), 42);
}

TEST(PercentileTest, P99OfAThousandIsTheNineHundredAndNinetieth) {
  // Floating point would give ceil(0.99 * 1000) = 991 on some inputs; the integer rank does not.
  std::vector<std::int64_t> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 990), 990);
  EXPECT_EQ(percentile(v, 500), 500);
}

TEST(LatencySamplesTest, SummarySortsAndAverages) {
  LatencySamples s;
  for (std::int64_t v : {5, 1, 4, 2, 3}) s.add(v);
  const LatencySummary sum = s.summary();
  EXPECT_EQ(sum.count, 5u);
  EXPECT_EQ(sum.min, 1);
  EXPECT_EQ(sum.p50, 3);
  EXPECT_EQ(sum.p99, 5);
  EXPECT_EQ(sum.max, 5);
  EXPECT_DOUBLE_EQ(sum.mean, 3.0);
}

TEST(LatencySamplesTest, EmptySummaryIsZero) {
  LatencySamples s;
  const LatencySummary sum = s.summary();
  EXPECT_EQ(sum.count, 0u);
  EXPECT_EQ(sum.p50, 0);
  EXPECT_EQ(sum.max, 0);
}

TEST(LatencySamplesTest, OutlierOnlyMovesTheTopPercentile) {
  LatencySamples s;
  for (int i = 0; i < 999; ++i) s.add(1'000'000);  // 1 ms
  s.add(500'000'000);                              // one 500 ms outlier
  const LatencySummary sum = s.summary();
  EXPECT_EQ(sum.p50, 1'000'000);
  EXPECT_EQ(sum.p99, 1'000'000);
  EXPECT_EQ(sum.max, 500'000'000);
}

TEST(ProcStatTest, AddsUtimeAndStimeAfterTheCommandName) {
  // Fields 14 and 15 are 1234 and 56; the command holds spaces and a ')'.
  const std::string stat =
      "4242 (parley (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 3 0 99 "
      "123456789 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  EXPECT_EQ(stat_cpu_ticks(stat), 1290u);
  EXPECT_FALSE(stat_cpu_ticks("4242 (parley S 1 2").has_value());
  EXPECT_FALSE(stat_cpu_ticks("4242 (parley) S 1 2 3").has_value());
}

TEST(ProcSchedstatTest, ReadsRunAndWaitTimes) {
  const auto s = parse_schedstat("123456789 98765 4321\n");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->run_ns, 123456789u);
  EXPECT_EQ(s->wait_ns, 98765u);
  EXPECT_FALSE(parse_schedstat("123456789").has_value());
  EXPECT_FALSE(parse_schedstat("12x 5 6").has_value());
}

TEST(ProcStatusTest, ReadsVmRss) {
  EXPECT_EQ(
      status_rss_kib("Name:\tparley\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nRssAnon: 1 kB\n"),
      5120);
  EXPECT_FALSE(status_rss_kib("Name:\tparley\n").has_value());
}

TEST(ProcStatTest, ReadsThisProcess) {
  const auto sample = sample_process(getpid());
  ASSERT_TRUE(sample.has_value());
  EXPECT_GE(sample->cpu_seconds, 0.0);
  EXPECT_GT(sample->rss_kib, 0);
  EXPECT_GE(sample->wait_ns, 0);
}

TEST(LayoutTest, OneServerIsARingOfSenders) {
  const Layout l = Layout::single(4);
  EXPECT_FALSE(l.federated());
  EXPECT_EQ(l.per_server(), 4u);
  EXPECT_EQ(l.senders(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(l.server(i), 0);
    EXPECT_EQ(l.account(i), i);
    EXPECT_TRUE(l.sends(i));
    EXPECT_EQ(l.partner(i), (i + 1) % 4);
  }
  EXPECT_THROW(Layout::single(1), std::invalid_argument);
  EXPECT_NO_THROW(Layout::single(3));
}

TEST(LayoutTest, OneServerRandomChoicesAreEveryOtherClient) {
  const Layout l = Layout::single(5);
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_EQ(l.choices(), 4u);
    std::set<std::size_t> seen;
    for (std::size_t r = 0; r < l.choices(); ++r) seen.insert(l.choice(i, r));
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen.count(i), 0u) << "client " << i << " writes to itself";
    EXPECT_LT(*seen.rbegin(), 5u);
  }
}

TEST(LayoutTest, TwoServersSplitTheClientsInHalves) {
  const Layout l = Layout::two_servers(6, Direction::OneWay);
  EXPECT_TRUE(l.federated());
  EXPECT_EQ(l.per_server(), 3u);
  // A: clients 0 1 2 as accounts 0 1 2; B: clients 3 4 5 as accounts 0 1 2.
  const int servers[] = {0, 0, 0, 1, 1, 1};
  const std::size_t accounts[] = {0, 1, 2, 0, 1, 2};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(l.server(i), servers[i]) << i;
    EXPECT_EQ(l.account(i), accounts[i]) << i;
  }
}

TEST(LayoutTest, OneWayOnlyAsClientsSendEachToItsPartnerOnB) {
  const Layout l = Layout::two_servers(6, Direction::OneWay);
  EXPECT_EQ(l.senders(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(l.sends(i));
    EXPECT_EQ(l.partner(i), i + 3);
    EXPECT_EQ(l.account(l.partner(i)), l.account(i));  // msg1@a.test → msg1@b.test
  }
  for (std::size_t i = 3; i < 6; ++i) EXPECT_FALSE(l.sends(i));
}

TEST(LayoutTest, BothDirectionsEveryClientSendsToTheOtherServer) {
  const Layout l = Layout::two_servers(4, Direction::Both);
  EXPECT_EQ(l.senders(), 4u);
  const std::size_t partners[] = {2, 3, 0, 1};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(l.sends(i));
    EXPECT_EQ(l.partner(i), partners[i]);
    EXPECT_NE(l.server(l.partner(i)), l.server(i));
  }
}

TEST(LayoutTest, TwoServersRandomChoicesAreEveryClientOfTheOtherServer) {
  const Layout l = Layout::two_servers(6, Direction::Both);
  for (std::size_t i = 0; i < 6; ++i) {
    ASSERT_EQ(l.choices(), 3u);
    std::set<std::size_t> seen;
    for (std::size_t r = 0; r < l.choices(); ++r) {
      const std::size_t to = l.choice(i, r);
      EXPECT_NE(l.server(to), l.server(i)) << i << " → " << to;
      seen.insert(to);
    }
    EXPECT_EQ(seen.size(), 3u);
  }
}

TEST(LayoutTest, TwoServersNeedAnEvenNumberOfClients) {
  EXPECT_THROW(Layout::two_servers(0, Direction::OneWay), std::invalid_argument);
  EXPECT_THROW(Layout::two_servers(5, Direction::OneWay), std::invalid_argument);
  const Layout two = Layout::two_servers(2, Direction::OneWay);
  EXPECT_EQ(two.partner(0), 1u);
  EXPECT_EQ(two.senders(), 1u);
}

TEST(SaturationTest, OneServerKeepsItsWording) {
  const auto one = [](double server, double tool) {
    const Busy s[] = {{"server", server}};
    return saturated_processes(s, Busy{"parley-load", tool});
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(one(0.5, 0.5), "neither process was saturated");
  EXPECT_EQ(one(0.95, 0.5), "server");
  EXPECT_EQ(one(0.99, 0.97), "server and parley-load");
  EXPECT_EQ(one(0.2, 0.99), "parley-load (the server's rate is then a lower bound)");
  EXPECT_EQ(one(nan, 0.5), "unknown (no --server-pid)");
  EXPECT_EQ(one(nan, 0.99), "parley-load (the server's rate is then a lower bound)");
}

TEST(SaturationTest, TwoServersNameEach) {
  const auto two = [](double a, double b, double tool) {
    const Busy s[] = {{"server A", a}, {"server B", b}};
    return saturated_processes(s, Busy{"parley-load", tool});
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(two(0.5, 0.5, 0.5), "no process was saturated");
  EXPECT_EQ(two(0.5, 0.96, 0.5), "server B");
  EXPECT_EQ(two(0.99, 0.96, 0.5), "server A and server B");
  EXPECT_EQ(two(0.99, 0.5, 0.99), "server A and parley-load");
  EXPECT_EQ(two(0.5, 0.5, 0.99), "parley-load (the servers' rate is then a lower bound)");
  EXPECT_EQ(two(0.5, nan, 0.5), "unknown (no --server-pid)");
  EXPECT_EQ(two(nan, 0.97, 0.5), "server B");
}

TEST(SaturationTest, ProcessesPinnedToOneCpuAreSaturatedTogether) {
  // Two servers on CPU 0, the tool on CPU 1 (run-s2s.sh's default).
  const auto shared = [](double a, double b, double tool) {
    const Busy s[] = {{"server A", a, 0}, {"server B", b, 0}};
    return saturated_processes(s, Busy{"parley-load", tool, 1});
  };
  EXPECT_EQ(shared(0.5, 0.49, 0.7), "server A + server B (sharing CPU 0)");
  EXPECT_EQ(shared(0.5, 0.49, 0.97), "server A + server B (sharing CPU 0) and parley-load");
  EXPECT_EQ(shared(0.3, 0.3, 0.7), "no process was saturated");
  // One of them saturated alone is named alone.
  EXPECT_EQ(shared(0.96, 0.02, 0.5), "server A");
  // Different CPUs, or not pinned: no adding up.
  const Busy apart[] = {{"server A", 0.5, 0}, {"server B", 0.49, 1}};
  EXPECT_EQ(saturated_processes(apart, Busy{"parley-load", 0.5}), "no process was saturated");
  const Busy unpinned[] = {{"server A", 0.5}, {"server B", 0.49}};
  EXPECT_EQ(saturated_processes(unpinned, Busy{"parley-load", 0.5}), "no process was saturated");
  // A server sharing the tool's CPU.
  const Busy one[] = {{"server", 0.6, 1}};
  EXPECT_EQ(saturated_processes(one, Busy{"parley-load", 0.38, 1}),
            "server + parley-load (sharing CPU 1)");
}

TEST(ProcStatusTest, ReadsTheOneAllowedCpu) {
  EXPECT_EQ(status_only_cpu("Name:\tparley\nCpus_allowed:\t1\nCpus_allowed_list:\t0\nMems:\t1\n"),
            0);
  EXPECT_EQ(status_only_cpu("Name:\tx\nCpus_allowed_list:\t13\n"), 13);
  EXPECT_EQ(status_only_cpu("Name:\tx\nCpus_allowed_list:\t3-3\n"), 3);
  EXPECT_FALSE(status_only_cpu("Name:\tx\nCpus_allowed_list:\t0-1\n").has_value());
  EXPECT_FALSE(status_only_cpu("Name:\tx\nCpus_allowed_list:\t0,2\n").has_value());
  EXPECT_FALSE(status_only_cpu("Name:\tx\nCpus_allowed_list:\t\n").has_value());
  EXPECT_FALSE(status_only_cpu("Name:\tx\n").has_value());
}

TEST(ReportTest, JsonLineHoldsEveryValueAndNullForNonFinite) {
  Report r("messages");
  r.section("settings");
  r.add("clients", "clients", std::int64_t{200});
  r.add("rate", "rate", 1234.567, 1, "msg/s");
  r.add("cpu", "cpu", std::numeric_limits<double>::quiet_NaN(), 2);
  r.add("name", "name", "a \"quoted\"\\ name\n");
  r.add("ok", "ok", true);
  EXPECT_EQ(r.json(),
            "{\"scenario\":\"messages\",\"clients\":200,\"rate\":1234.6,\"cpu\":null,"
            "\"name\":\"a \\\"quoted\\\"\\\\ name\\n\",\"ok\":true}");
  const std::string table = r.table();
  EXPECT_NE(table.find("1234.6 msg/s"), std::string::npos);
  EXPECT_NE(table.find("n/a"), std::string::npos);
}

TEST(ReportTest, JsonEscapesControlCharacters) {
  EXPECT_EQ(json_string(std::string("a\x01"
                                    "b",
                                    3)),
            "\"a\\u0001b\"");
}

TEST(RateScheduleTest, SpreadsTheRateEvenlyOverTheSenders) {
  // 1000/s over 4 senders: one message every ms, round-robin; each sender every 4 ms.
  const RateSchedule s(1000, 4);
  for (std::uint64_t g = 0; g < 12; ++g) {
    EXPECT_EQ(s.due_at(g), static_cast<std::int64_t>(g) * 1'000'000) << g;
    EXPECT_EQ(s.sender(g), g % 4) << g;
    EXPECT_EQ(s.nth_of_sender(g), g / 4) << g;
  }
  EXPECT_DOUBLE_EQ(s.sender_interval_seconds(), 0.004);
}

TEST(RateScheduleTest, CountsWhatIsDueIncludingTheMessageAtTheStart) {
  const RateSchedule s(1000, 3);
  EXPECT_EQ(s.due_by(-1), 0u);
  EXPECT_EQ(s.due_by(0), 1u);  // message 0 is due at once
  EXPECT_EQ(s.due_by(999'999), 1u);
  EXPECT_EQ(s.due_by(1'000'000), 2u);
  EXPECT_EQ(s.due_by(1'000'000'000), 1001u);  // one second: 1000 after the first
}

TEST(RateScheduleTest, LateToolSendsEverythingDueAtOnce) {
  // Waking 50 ms late at 20,000/s: the 1,001 messages due by then, none skipped.
  const RateSchedule s(20000, 200);
  EXPECT_EQ(s.due_by(50'000'000), 1001u);
  EXPECT_EQ(s.due_at(1000), 50'000'000);
}

TEST(RateScheduleTest, DueByAndDueAtAgreeAtEveryBoundary) {
  // Rates whose interval is not a whole number of nanoseconds: rounding must never make a
  // message due twice or skip one.
  for (double rate : {3.0, 7.0, 20000.0, 33333.0, 0.3}) {
    const RateSchedule s(rate, 7);
    for (std::uint64_t g = 1; g < 5000; g += 37) {
      const std::int64_t at = s.due_at(g);
      EXPECT_EQ(s.due_by(at), g + 1) << rate << " " << g;
      EXPECT_EQ(s.due_by(at - 1), g) << rate << " " << g;
    }
  }
}

TEST(RateScheduleTest, RefusesNoRateAndNoSenders) {
  EXPECT_THROW(RateSchedule(0, 1), std::invalid_argument);
  EXPECT_THROW(RateSchedule(-5, 1), std::invalid_argument);
  EXPECT_THROW(RateSchedule(std::nan(""), 1), std::invalid_argument);
  EXPECT_THROW(RateSchedule(100, 0), std::invalid_argument);
}

TEST(ConnectionMemoryTest, GrowthPerConnection) {
  EXPECT_DOUBLE_EQ(kib_per_connection(10'000, 60'000, 5000), 10.0);
  EXPECT_DOUBLE_EQ(kib_per_connection(10'000, 10'300, 200), 1.5);
  EXPECT_DOUBLE_EQ(kib_per_connection(10'000, 9'000, 100), -10.0);  // memory given back
}

TEST(ConnectionMemoryTest, UnknownWithoutSamplesOrConnections) {
  EXPECT_TRUE(std::isnan(kib_per_connection(-1, 60'000, 5000)));
  EXPECT_TRUE(std::isnan(kib_per_connection(10'000, -1, 5000)));
  EXPECT_TRUE(std::isnan(kib_per_connection(10'000, 60'000, 0)));
}

TEST(ConnectionMemoryTest, DescriptorsLeaveRoomBeyondTheSockets) {
  EXPECT_TRUE(descriptors_suffice(5000, 65536));
  EXPECT_TRUE(descriptors_suffice(5000, 5000 + kSpareDescriptors));
  EXPECT_FALSE(descriptors_suffice(5000, 5000 + kSpareDescriptors - 1));
  EXPECT_FALSE(descriptors_suffice(5000, 1024));
  EXPECT_FALSE(descriptors_suffice(2000, 1024));  // more clients than the limit: no underflow
  EXPECT_TRUE(descriptors_suffice(1'000'000, RLIM_INFINITY));
}

// --- the stall probe ------------------------------------------------------------------------

TEST(StallProbeTest, AWakeUpIsAStallOnlyWhenLaterThanTheThreshold) {
  EXPECT_FALSE(late_wakeup(0, 100, 1'000, 1'000, 500).has_value());
  EXPECT_FALSE(late_wakeup(0, 100, 1'000, 1'500, 500).has_value());  // exactly the threshold
  const std::optional<Stall> s = late_wakeup(1, 100, 1'000, 1'501, 500);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->cpu, 1);
  EXPECT_EQ(s->begin_ns, 100);  // from the previous wake-up: the freeze began after it
  EXPECT_EQ(s->end_ns, 1'501);
}

TEST(StallProbeTest, SummaryAddsLengthsAndFindsTheLongest) {
  const std::vector<Stall> stalls{{0, 10, 15}, {1, 12, 30}, {0, 40, 41}};
  const StallSummary s = summarize(stalls);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.total_ns, 5 + 18 + 1);
  EXPECT_EQ(s.longest_ns, 18);
  EXPECT_EQ(summarize({}).count, 0u);
}

TEST(StallProbeTest, OverlapIsFoundAcrossCpusWhoseStallsNest) {
  // CPU 1's long stall begins first and ends after CPU 0's short one.
  std::vector<Stall> stalls{{0, 200, 210}, {1, 100, 400}, {0, 1'000, 1'100}};
  sort_stalls(stalls);
  EXPECT_EQ(stalls.front().begin_ns, 100);
  EXPECT_TRUE(overlaps_stall(stalls, 300, 350));    // inside CPU 1's only
  EXPECT_TRUE(overlaps_stall(stalls, 50, 100));     // touches its start
  EXPECT_TRUE(overlaps_stall(stalls, 400, 500));    // touches its end
  EXPECT_FALSE(overlaps_stall(stalls, 401, 999));   // between
  EXPECT_TRUE(overlaps_stall(stalls, 900, 2'000));  // spans the last
  EXPECT_FALSE(overlaps_stall(stalls, 1'101, 1'200));
  EXPECT_FALSE(overlaps_stall(stalls, 0, 99));
  EXPECT_FALSE(overlaps_stall({}, 0, 1'000'000));
}

TEST(StallProbeTest, ParsesCpuLists) {
  EXPECT_EQ(parse_cpu_list("0"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("1,0"), (std::vector<int>{0, 1}));
  EXPECT_EQ(parse_cpu_list("0-3,2"), (std::vector<int>{0, 1, 2, 3}));
  for (const char* bad : {"", "a", "0,", "3-1", "-1", "0--1", "1,,2", "99999"}) {
    EXPECT_THROW(parse_cpu_list(bad), std::invalid_argument) << bad;
  }
}

TEST(StallProbeTest, RunsAndStopsOnARealCpu) {
  StallProbe probe;
  const std::vector<int> cpus{0};
  probe.start(cpus, 1.0, 50.0);  // a 50 ms threshold: no stall on a sane machine
  EXPECT_TRUE(probe.running());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  probe.stop();
  EXPECT_FALSE(probe.running());
  probe.stop();  // idempotent
  for (const Stall& s : probe.stalls()) {
    EXPECT_EQ(s.cpu, 0);
    EXPECT_LT(s.begin_ns, s.end_ns);
  }
}

}  // namespace
}  // namespace parley::load
