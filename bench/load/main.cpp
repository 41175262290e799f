// parley-load: a load generator for XMPP servers (c2s), to measure Parley and to compare it with
// Prosody and ejabberd under the same load. Every client is a standard RFC 6120/6121 client
// (xmpp_client.hpp); the scenarios (messages, presence, logins, idle, subscribe) are listed in
// scenario.hpp and described by --help.
//
//   parley-load --scenario messages --port 5222 --users load --password secret --server-pid PID
//   parley-load --scenario messages --rate 20000 ...      (open loop: fixed offered load)
//   parley-load --scenario logins --clients 1000 ...      (the login storm)
//   parley-load --scenario idle --clients 5000 ...        (server memory per idle connection)
//   parley-load --scenario subscribe --users pres --contacts 500 ...   (then --scenario presence)
//
// It raises its own open-file limit (RLIMIT_NOFILE) to the hard limit at start: one socket per
// client.
//
// Across two federated servers (A at --host:--port, B at --host2:--port2):
//
//   parley-load --scenario messages --host 127.0.0.31 --port 5222 --domain a.test
//       --host2 127.0.0.32 --port2 5222 --domain2 b.test --users msg --password secret
//       --server-pid PID_A --server2-pid PID_B [--both-directions]
//
// Output: a table per scenario, then one JSON line per scenario (starting with '{'). Exit status
// 0 when every figure is valid, 1 when messages were lost or errors occurred (the reasons go to
// standard error), 2 for bad options or clients that could not log in.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <iostream>
#include <map>

#include "bench/load/scenario.hpp"
#include "bench/load/stall_probe.hpp"

namespace {

namespace load = parley::load;
namespace asio = boost::asio;

// One socket per client: thousands of clients need more descriptors than the usual soft limit
// of 1024. Raising the soft limit up to the hard one needs no privilege.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  raise_descriptor_limit();
  load::Options o;
  CLI::App app{
      "parley-load: drives many XMPP clients (STARTTLS, SASL, bind, roster, presence) against a "
      "server and measures throughput, latency and the server's CPU time.",
      "parley-load"};
  std::string scenario_help = "What to measure:";
  std::vector<std::string> names;
  for (const auto& s : load::scenarios()) {
    names.emplace_back(s.name);
    scenario_help += "\n  " + std::string(s.name) + ": " + std::string(s.summary);
  }
  app.add_option("--scenario", o.scenario, scenario_help)->required()->check(CLI::IsMember(names));
  app.add_option("--host", o.host, "Server address to connect to")->capture_default_str();
  app.add_option("--port", o.port, "Server c2s port (STARTTLS)")->capture_default_str();
  app.add_option("--domain", o.domain, "XMPP domain of the accounts")->capture_default_str();
  app.add_option("--users", o.users,
                 "Account name prefix: accounts PREFIX1, PREFIX2, ... (see --first) must exist")
      ->capture_default_str();
  app.add_option("--first", o.first, "Number of the first account")->capture_default_str();
  app.add_option("--password", o.password, "Password of every account")->required();
  std::map<std::string, load::Mechanism> mechanisms{
      {"PLAIN", load::Mechanism::Plain},
      {"SCRAM-SHA-1", load::Mechanism::ScramSha1},
      {"SCRAM-SHA-256", load::Mechanism::ScramSha256}};
  app.add_option("--mechanism", o.mechanism, "SASL mechanism (always over TLS)")
      ->transform(CLI::CheckedTransformer(mechanisms))
      ->default_str("SCRAM-SHA-1");
  app.add_option("--resource", o.resource, "Resource every client binds")->capture_default_str();
  app.add_flag("--batch-writes", o.batch_writes,
               "Write what a client queued while handling one read together (several stanzas per "
               "TLS record and send(), like a bot sending in bulk) rather than each stanza at once "
               "(like a person's client)");
  app.add_option("--login-concurrency", o.login_concurrency,
                 "Logins in progress at once (from connecting until initial presence is sent)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--login-timeout", o.login_timeout_seconds,
                 "Seconds one client may take to log in and get its roster")
      ->capture_default_str();
  app.add_flag("!--no-roster", o.fetch_roster,
               "Do not ask for the roster before initial presence (clients normally do)");
  app.add_option("--server-pid", o.server_pid,
                 "The server's process id: its CPU time and memory are read from /proc");

  auto* two = app.add_option_group(
      "second server",
      "Scenario 'messages' between two federated servers: --host/--port/--domain/--users are "
      "server A, these server B. Half the --clients log in to each; client k of A and client k "
      "of B are partners, so every message crosses the server-to-server link");
  auto* port2 = two->add_option(
      "--port2", o.port2,
      "Server B's c2s port (STARTTLS); given, the messages scenario runs across A and B");
  two->add_option("--host2", o.host2, "Server B's address to connect to")
      ->capture_default_str()
      ->needs(port2);
  two->add_option("--domain2", o.domain2, "XMPP domain of the accounts on server B")->needs(port2);
  two->add_option("--users2", o.users2,
                  "Account name prefix on server B (default: --users): PREFIX2<first>, ...")
      ->needs(port2);
  two->add_option("--server2-pid", o.server2_pid, "Server B's process id, as --server-pid")
      ->needs(port2);
  two->add_flag("--both-directions", o.both_directions,
                "B's clients send to their partners on A as well (default: A to B only)")
      ->needs(port2);

  auto* msg = app.add_option_group("messages",
                                   "Scenario 'messages' (--clients, --seconds: also "
                                   "'logins' and 'idle')");
  msg->add_option("--clients", o.clients,
                  "messages: clients online, each sending and receiving (with two servers: an "
                  "even number, half on each; B's only receive unless --both-directions); "
                  "logins, idle: clients that log in")
      ->capture_default_str();
  msg->add_option("--window", o.window,
                  "Messages each sender keeps in flight (closed loop; ignored with --rate)")
      ->capture_default_str();
  msg->add_option("--rate", o.rate,
                  "Open loop: send this many messages per second in all, spread evenly over the "
                  "senders on a fixed schedule, whether or not earlier ones have arrived "
                  "(--window is ignored); one due while parley-load is late goes out at once. "
                  "Latency counts from the moment each message is handed to its client's socket "
                  "writer, not from its scheduled time (the lateness is reported as send_lag). "
                  "Besides the end-to-end latency, arrival_latency ends when the server's bytes "
                  "reached the recipient's socket (its kernel receive timestamp), leaving out "
                  "parley-load's own lateness in reading them")
      ->check(CLI::PositiveNumber);
  msg->add_flag("--random-partner", o.random_partner,
                "Send each message to a random other client (default: client i to i+1); with two "
                "servers, to a random client of the other server (default: its partner)");
  msg->add_option("--warmup", o.warmup_seconds, "Seconds of traffic before measuring")
      ->capture_default_str();
  msg->add_option("--seconds", o.seconds,
                  "messages: seconds measured; idle: seconds the connections stay open, silent, "
                  "before the server's memory is read")
      ->capture_default_str();
  msg->add_option("--drain", o.drain_seconds,
                  "Seconds the messages in flight get to arrive after the measurement; any "
                  "still missing then are lost and fail the run")
      ->capture_default_str();
  msg->add_option("--seed", o.seed, "Seed for --random-partner")->capture_default_str();
  std::string stall_cpus;
  msg->add_option(
      "--stall-probe", stall_cpus,
      "CPUs (like 0,1) to watch for stalls while measuring: a real-time thread on "
      "each wakes every --stall-period ms and counts a wake-up later than --stall-threshold as "
      "a time the CPU ran nothing (a virtual machine's host running something else); "
      "reports the stalls and the latency figures of the messages no stall overlapped (logins: "
      "the stalls during the storm)");
  msg->add_option("--stall-threshold", o.stall_threshold_ms,
                  "Milliseconds a probe wake-up may be late before it counts as a stall")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  msg->add_option("--stall-period", o.stall_period_ms,
                  "Milliseconds each stall probe sleeps between wake-ups")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  msg->add_option("--latency-log", o.latency_log,
                  "Write one line per measured delivery to this file: the send time in ms since "
                  "the measurement started, the end-to-end latency and (open loop) the latency to "
                  "the recipient's socket in ms (-1 when not stamped), sender, recipient; to see "
                  "when a tail happened, not only how long it was");

  auto* pres = app.add_option_group("presence", "Scenarios 'presence' and 'subscribe'");
  pres->add_option("--contacts", o.contacts,
                   "Online contacts of the user (the accounts after the first). presence: each "
                   "must be subscribed to the user's presence (with Parley a shared roster group; "
                   "elsewhere run --scenario subscribe first)")
      ->capture_default_str();
  pres->add_option("--changes", o.changes, "Presence changes measured")->capture_default_str();
  pres->add_option("--change-timeout", o.change_timeout_seconds,
                   "Seconds a change may take to reach every contact")
      ->capture_default_str();
  pres->add_option("--change-gap", o.change_gap_seconds,
                   "Seconds to wait after a change has reached everyone")
      ->capture_default_str();
  pres->add_option("--subscribe-timeout", o.subscribe_timeout_seconds,
                   "subscribe: seconds every contact's subscription may take")
      ->capture_default_str();
  app.add_option("--settle", o.settle_seconds,
                 "After login, wait until no stanza has arrived for this many seconds")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!stall_cpus.empty()) {
    try {
      o.stall_probe_cpus = load::parse_cpu_list(stall_cpus);
    } catch (const std::invalid_argument& e) {
      std::cerr << "parley-load: --stall-probe: " << e.what() << "\n";
      return 2;
    }
  }

  if (o.two_servers()) {
    if (o.scenario != "messages") {
      std::cerr << "parley-load: --port2 (a second server) is for the messages scenario only\n";
      return 2;
    }
    if (o.domain2.empty()) {
      std::cerr << "parley-load: --port2 needs --domain2, the domain of server B's accounts\n";
      return 2;
    }
    if (o.domain2 == o.domain) {
      std::cerr << "parley-load: --domain2 must differ from --domain: messages between two "
                   "servers go to another domain\n";
      return 2;
    }
    if (o.users2.empty()) o.users2 = o.users;
  }

  const load::ScenarioInfo* scenario = nullptr;
  for (const auto& s : load::scenarios()) {
    if (s.name == o.scenario) scenario = &s;
  }

  asio::io_context io(1);
  // STARTTLS always; any certificate is accepted (the server's is usually self-signed here).
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_verify_mode(asio::ssl::verify_none);
  load::Context context{o, io.get_executor(), tls};

  std::optional<load::Outcome> outcome;
  std::exception_ptr error;
  asio::co_spawn(io, scenario->run(context),
                 [&](std::exception_ptr e, std::optional<load::Outcome> result) {
                   error = e;
                   outcome = std::move(result);
                 });
  io.run();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "parley-load: " << o.scenario << ": " << e.what() << '\n';
    }
    return 2;
  }
  std::cout << outcome->report.table() << outcome->report.json() << std::endl;
  if (!outcome->problems.empty()) {
    std::cerr << "\nparley-load: " << o.scenario << ": FAILED, the figures above are not valid:\n";
    for (const auto& p : outcome->problems) std::cerr << "  - " << p << '\n';
    return 1;
  }
  return 0;
}
