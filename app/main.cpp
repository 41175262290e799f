// `parley`: the command line of the Parley XMPP server. Subcommands: `serve` runs the server;
// `check` says what is wrong with a configuration; `adduser`, `passwd`, `deluser` and `users`
// manage accounts in the same data directory (also while the server runs: SQLite's WAL and busy
// timeout let both write). Every subcommand takes --config FILE and the flags that override it.
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/accounts.hpp"
#include "core/check.hpp"
#include "core/config.hpp"
#include "core/config_file.hpp"
#include "core/jid.hpp"
#include "core/modules/modules.hpp"
#include "core/pid_file.hpp"
#include "core/server.hpp"
#include "federation/check.hpp"
#include "federation/manager.hpp"
#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"
#include "storage/sqlite_group_store.hpp"

namespace {

namespace fs = std::filesystem;
using parley::core::Config;
using parley::core::ConfigError;
using parley::core::ConfigOverrides;

// --- the flags every subcommand shares: --config and the overrides ---------------------------

// "5222", "0" or "off".
std::optional<ConfigOverrides::Port> parse_port(const std::string& text) {
  if (text == "off" || text == "false") return ConfigOverrides::Port(std::nullopt);
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int port = std::stoi(text);
  if (port > 65535) return std::nullopt;
  return ConfigOverrides::Port(static_cast<std::uint16_t>(port));
}

const CLI::Validator kPortValidator(
    [](std::string& text) {
      return parse_port(text) ? std::string()
                              : "'" + text +
                                    "' is not a port: give a number from 0 to 65535, "
                                    "or off";
    },
    "PORT|off", "port");

struct ConfigFlags {
  std::string config_file;
  std::string domain, data_dir, bind, c2s_port, c2s_tls_port, cert, key, log;
  std::string s2s_port, s2s_tls_port, ca_file, resolv_conf;
  unsigned threads = 0;
  bool no_federation = false;
  CLI::Option* config_opt = nullptr;
  CLI::Option* domain_opt = nullptr;
  CLI::Option* data_dir_opt = nullptr;
  CLI::Option* bind_opt = nullptr;
  CLI::Option* c2s_port_opt = nullptr;
  CLI::Option* c2s_tls_port_opt = nullptr;
  CLI::Option* cert_opt = nullptr;
  CLI::Option* key_opt = nullptr;
  CLI::Option* log_opt = nullptr;
  CLI::Option* s2s_port_opt = nullptr;
  CLI::Option* s2s_tls_port_opt = nullptr;
  CLI::Option* ca_file_opt = nullptr;
  CLI::Option* resolv_conf_opt = nullptr;
  CLI::Option* no_federation_opt = nullptr;
  CLI::Option* threads_opt = nullptr;

  void add_to(CLI::App* cmd) {
    add_options(cmd);
    // A flag given twice takes its last value, as in most Unix tools (scripts append overrides).
    for (CLI::Option* option :
         {config_opt, domain_opt, data_dir_opt, bind_opt, c2s_port_opt, c2s_tls_port_opt, cert_opt,
          key_opt, log_opt, s2s_port_opt, s2s_tls_port_opt, ca_file_opt, resolv_conf_opt}) {
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }

  void add_options(CLI::App* cmd) {
    config_opt = cmd->add_option("-c,--config", config_file,
                                 "The configuration file (TOML; sample: etc/parley.toml). Without "
                                 "it: built-in defaults, serving localhost")
                     ->type_name("FILE");
    domain_opt = cmd->add_option("--domain", domain,
                                 "Serve this one XMPP domain instead of the file's [[host]] list "
                                 "(default: localhost)")
                     ->type_name("DOMAIN");
    data_dir_opt = cmd->add_option("--data-dir", data_dir,
                                   "Directory for Parley's data: database, generated certificates; "
                                   "created if missing (default: ./parley-data)")
                       ->type_name("DIR");
    bind_opt = cmd->add_option("--bind", bind,
                               "IP address to listen on, and to connect to other servers from "
                               "(default: all interfaces, IPv6 and IPv4)")
                   ->type_name("ADDRESS");
    c2s_port_opt = cmd->add_option("--c2s-port", c2s_port,
                                   "TCP port for client connections with STARTTLS (default 5222; "
                                   "0: any free port; off)")
                       ->check(kPortValidator)
                       ->type_name("PORT");
    c2s_tls_port_opt = cmd->add_option("--c2s-tls-port", c2s_tls_port,
                                       "TCP port for client connections with direct TLS, XEP-0368 "
                                       "(default 5223; 0: any free port; off)")
                           ->check(kPortValidator)
                           ->type_name("PORT");
    s2s_port_opt = cmd->add_option("--s2s-port", s2s_port,
                                   "TCP port for other XMPP servers (federation) with STARTTLS "
                                   "(default 5269; 0: any free port; off)")
                       ->check(kPortValidator)
                       ->type_name("PORT");
    s2s_tls_port_opt = cmd->add_option("--s2s-tls-port", s2s_tls_port,
                                       "TCP port for other XMPP servers with direct TLS, XEP-0368 "
                                       "(default 5270; 0: any free port; off)")
                           ->check(kPortValidator)
                           ->type_name("PORT");
    ca_file_opt = cmd->add_option("--ca-file", ca_file,
                                  "PEM file of the CAs trusted to certify other servers (default: "
                                  "the system's CAs)")
                      ->type_name("FILE");
    resolv_conf_opt = cmd->add_option("--resolv-conf", resolv_conf,
                                      "Find other servers with the DNS servers named in this file "
                                      "(resolv.conf format; default: /etc/resolv.conf)")
                          ->type_name("FILE");
    no_federation_opt = cmd->add_flag("--no-federation", no_federation,
                                      "Do not talk to other XMPP servers: no federation listeners, "
                                      "no outgoing connections ([s2s] enabled = false)");
    cert_opt = cmd->add_option("--cert", cert,
                               "PEM certificate chain for the (first) domain (default: a "
                               "self-signed one generated in the data directory)")
                   ->type_name("FILE");
    key_opt = cmd->add_option("--key", key, "PEM private key for --cert")->type_name("FILE");
    log_opt = cmd->add_option("--log", log,
                              "Also write the log to this file (default: standard error only)")
                  ->type_name("FILE");
  }

  // Flags only `serve` has.
  void add_serve_options(CLI::App* cmd) {
    threads_opt = cmd->add_option("--threads", threads,
                                  "Threads serving connections; the first also routes stanzas "
                                  "(default: the file's threads, else 1; 0: one per CPU core)")
                      ->check(CLI::Range(0u, parley::core::kMaxThreads))
                      ->type_name("N")
                      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }

  std::optional<fs::path> file() const {
    if (config_opt->count() == 0) return std::nullopt;
    return fs::path(config_file);
  }

  ConfigOverrides overrides() const {
    ConfigOverrides o;
    if (domain_opt->count()) o.domain = domain;
    if (data_dir_opt->count()) o.data_dir = data_dir;
    if (bind_opt->count()) o.bind_address = bind;
    if (c2s_port_opt->count()) o.c2s_port = parse_port(c2s_port);
    if (c2s_tls_port_opt->count()) o.c2s_tls_port = parse_port(c2s_tls_port);
    if (cert_opt->count()) o.certificate = cert;
    if (key_opt->count()) o.key = key;
    if (log_opt->count()) o.log_file = log;
    if (s2s_port_opt->count()) o.s2s_port = parse_port(s2s_port);
    if (s2s_tls_port_opt->count()) o.s2s_tls_port = parse_port(s2s_tls_port);
    if (ca_file_opt->count()) o.ca_file = ca_file;
    if (resolv_conf_opt->count()) o.resolv_conf = resolv_conf;
    if (no_federation_opt->count()) o.s2s_enabled = false;
    if (threads_opt != nullptr && threads_opt->count()) o.threads = threads;
    return o;
  }

  // The configuration to run with; on error prints it and returns nullopt.
  std::optional<Config> load(const std::string& command) const {
    try {
      return parley::core::load_config(file(), overrides());
    } catch (const ConfigError& e) {
      std::cerr << "parley " << command << ": " << e.what() << '\n';
      return std::nullopt;
    }
  }
};

// --- serve ----------------------------------------------------------------------------------

struct ServeOptions {
  ConfigFlags flags;
  std::filesystem::path port_file;
  bool verbose = false;
  bool demo_account = false;
};

spdlog::level::level_enum to_spdlog_level(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> make_logger(const Config& config, bool verbose) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!config.log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.log_file.string()));
  }
  auto logger = std::make_shared<spdlog::logger>("parley", sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  const auto level = to_spdlog_level(config.log_level);
  logger->set_level(verbose ? std::min(level, spdlog::level::debug) : level);
  // Operators tail the log and tests read it: every line reaches the file at once.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

// Written after binding, so that whoever started us with --c2s-port 0 learns the port. The rename
// makes the file appear complete or not at all.
// Line 1: the c2s (STARTTLS) port; line 2: the c2s direct TLS port; line 3: the s2s (STARTTLS)
// port; line 4: the s2s direct TLS port (0 when disabled).
void write_port_file(const std::filesystem::path& path, const parley::core::Server& server) {
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << server.c2s_port() << '\n'
        << server.c2s_tls_port() << '\n'
        << server.s2s_port() << '\n'
        << server.s2s_tls_port() << '\n';
    out.close();
    if (!out) throw std::runtime_error("cannot write the port file " + temporary.string());
  }
  std::filesystem::rename(temporary, path);
}

int serve(const ServeOptions& options) {
  const auto config = options.flags.load("serve");
  if (!config) return 1;
  std::shared_ptr<spdlog::logger> log;
  try {
    log = make_logger(*config, options.verbose);
  } catch (const std::exception& e) {
    std::cerr << "parley serve: cannot open the log file: " << e.what() << '\n';
    return 1;
  }
  try {
    std::string domains;
    for (const auto& host : config->hosts) domains += (domains.empty() ? "" : ", ") + host.domain;
    log->info("parley {} starting: {} {}, data in {}{}", PARLEY_VERSION,
              config->hosts.size() == 1 ? "domain" : "domains", domains, config->data_dir.string(),
              config->source_file.empty() ? std::string()
                                          : ", configuration " + config->source_file.string());
    parley::core::Server server(*config, log);
    server.set_modules(parley::core::modules::builtin());
    server.set_federation([](parley::core::ServerState& state) {
      return std::make_unique<parley::federation::Manager>(state);
    });
    // SIGHUP: the same file and the same flags over it, read again.
    server.set_reloader([file = options.flags.file(), overrides = options.flags.overrides()] {
      return parley::core::load_config(file, overrides);
    });
    server.start();
    if (options.demo_account) {
      // The quick start: an account to log in with at once, announced where the user looks.
      const std::string jid = "demo@" + config->default_host().domain;
      if (auto password = server.ensure_demo_account("demo")) {
        log->info("created the demo account {} with the password {}", jid, *password);
        std::cout << "\n  Demo account: " << jid << "\n  Password:     " << *password
                  << "\n  (change it with: parley passwd " << jid << ")\n\n"
                  << std::flush;
      } else {
        log->info("the demo account {} exists; `parley passwd {}` sets a new password", jid, jid);
      }
    }
    // Signals are handled before the port file says the server is ready: a SIGINT or SIGTERM
    // sent as soon as it appears must stop the server cleanly, not kill it (it did, now and then).
    server.stop_on_signals();
    if (!options.port_file.empty()) {
      write_port_file(options.port_file, server);
    }
    server.run();
    return 0;
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    log->error("parley did not start; see the message above");
    return 1;
  }
}

// --- check ----------------------------------------------------------------------------------

struct CheckCommand {
  ConfigFlags flags;
  bool skip_ports = false;
  bool skip_dns = false;
};

int check(const CheckCommand& command) {
  parley::core::CheckReport report;
  const auto config =
      parley::core::check_configuration(command.flags.file(), command.flags.overrides(), report);
  if (config) {
    parley::core::CheckOptions options;
    options.check_listeners = !command.skip_ports;
    const auto rest = parley::core::run_checks(*config, options);
    for (const auto& finding : rest.findings()) report.add(finding.severity, finding.message);
    const auto modules = parley::core::modules::builtin();
    for (const auto& host : config->hosts) {
      try {
        std::string names;
        for (const auto* m : parley::core::enabled_modules(host, modules)) {
          names += (names.empty() ? "" : ", ") + m->name;
        }
        report.ok(host.domain + " enables the modules " + (names.empty() ? "(none)" : names) +
                  " (docs/MODULES.md)");
      } catch (const std::invalid_argument& e) {
        report.error(std::string(e.what()) + "; fix the modules or disabled_modules list");
      }
    }
    // What other servers (and clients) find in DNS and make of the certificates; the routes.
    parley::federation::FederationCheckOptions federation;
    federation.check_dns = !command.skip_dns;
    const auto remote = parley::federation::check_federation(*config, federation);
    for (const auto& finding : remote.findings()) report.add(finding.severity, finding.message);
  }
  std::cout << report.to_text();
  return report.has_errors() ? 1 : 0;
}

// --- passwords ------------------------------------------------------------------------------

// The terminal's settings while echo is off, for the signal handler that restores them: a
// password prompt interrupted by Ctrl-C must not leave the terminal without echo. File-scope
// because a signal handler can reach nothing else.
termios g_saved_terminal{};
volatile std::sig_atomic_t g_echo_off = 0;

extern "C" void restore_terminal_and_die(int signal) {
  if (g_echo_off) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_terminal);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

// Reads one line from the terminal without echoing it.
std::optional<std::string> prompt_hidden(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  const bool have_terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (have_terminal) {
    g_saved_terminal = saved;
    std::signal(SIGINT, restore_terminal_and_die);
    std::signal(SIGTERM, restore_terminal_and_die);
    std::signal(SIGHUP, restore_terminal_and_die);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    g_echo_off = 1;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (have_terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    g_echo_off = 0;
  }
  if (!got) return std::nullopt;
  return line;
}

struct PasswordError {
  std::string message;
};

// The new password for `jid`: asked twice on a terminal (no echo), or the first line of standard
// input when that is not a terminal (a pipe, a file) — never from the command line, where other
// users could see it in the process list. Returns it SASLprepped. Throws PasswordError.
std::string read_new_password(const std::string& jid) {
  std::string typed;
  if (::isatty(STDIN_FILENO)) {
    auto first = prompt_hidden("New password for " + jid + ": ");
    if (!first) throw PasswordError{"no password typed"};
    auto second = prompt_hidden("Type it again: ");
    if (!second) throw PasswordError{"no password typed"};
    if (*first != *second) throw PasswordError{"the two passwords differ; nothing was changed"};
    typed = std::move(*first);
  } else {
    if (!std::getline(std::cin, typed)) {
      throw PasswordError{
          "no password on standard input: type it on a terminal, or give it as the first line "
          "of standard input, e.g. parley adduser " +
          jid + " < password-file"};
    }
    if (!typed.empty() && typed.back() == '\r') typed.pop_back();
  }
  try {
    return parley::core::prepare_password(typed);
  } catch (const parley::core::AccountError& e) {
    throw PasswordError{e.what()};
  }
}

// --- adduser, passwd, deluser, users --------------------------------------------------------

enum class AccountCommand { Add, Passwd, Delete, List };

struct AccountOptions {
  ConfigFlags flags;
  std::string argument;  // the JID, or the domain for `users`
};

int accounts(AccountCommand command, const std::string& name, const AccountOptions& options) {
  const auto config = options.flags.load(name);
  if (!config) return 1;
  const fs::path database = config->database_file();
  try {
    if (command == AccountCommand::List) {
      std::string domain;
      if (!options.argument.empty()) {
        auto prepared = parley::core::Jid::prepare_domain(options.argument);
        if (!prepared) {
          std::cerr << "parley users: '" << options.argument << "' is not a domain name\n";
          return 1;
        }
        domain = *prepared;
        if (config->host(domain) == nullptr) {
          std::cerr << "parley users: note: " << domain << " is not served here\n";
        }
      }
      std::vector<std::string> jids;
      if (fs::exists(database)) {
        auto db = parley::storage::open_database(database);
        parley::storage::SqliteAccountStore store(db);
        jids = parley::core::Accounts(store, config->scram_iterations).list(domain);
      }
      for (const auto& jid : jids) std::cout << jid << '\n';
      if (jids.empty()) {
        std::cerr << "parley users: no accounts" << (domain.empty() ? "" : " on " + domain) << '\n';
      }
      return 0;
    }

    // deluser may remove an account of a domain that is no longer configured.
    const auto account = parley::core::parse_account_jid(*config, options.argument,
                                                         command != AccountCommand::Delete);
    if (command != AccountCommand::Add && !fs::exists(database)) {
      std::cerr << "parley " << name << " " << options.argument << ": there is no such account "
                << "(there is no database at " << database.string() << " yet)\n";
      return 1;
    }
    auto db = parley::storage::open_database(database);
    parley::storage::SqliteAccountStore store(db);
    parley::core::Accounts accounts(store, config->scram_iterations);
    switch (command) {
      case AccountCommand::Add: {
        // Refused before the password is asked for.
        if (accounts.exists(account)) {
          throw parley::core::AccountError(account.jid() + ": the account already exists");
        }
        const std::string password = read_new_password(account.jid());
        accounts.add(account, password);
        std::cout << "Created the account " << account.jid() << ".\n";
        break;
      }
      case AccountCommand::Passwd: {
        if (!accounts.exists(account)) {
          throw parley::core::AccountError(account.jid() + ": there is no such account");
        }
        const std::string password = read_new_password(account.jid());
        accounts.set_password(account, password);
        std::cout << "Changed the password of " << account.jid()
                  << "; its open sessions stay logged in until they disconnect.\n";
        break;
      }
      case AccountCommand::Delete:
        accounts.remove(account);
        std::cout << "Deleted the account " << account.jid() << " and everything stored for it.\n";
        break;
      case AccountCommand::List:
        break;
    }
    return 0;
  } catch (const parley::core::AccountError& e) {
    // The message starts with the address as typed: "parley adduser bob@x: ...".
    std::cerr << "parley " << name << " " << e.what() << '\n';
  } catch (const PasswordError& e) {
    std::cerr << "parley " << name << " " << options.argument << ": " << e.message << '\n';
  } catch (const parley::storage::Error& e) {
    std::cerr << "parley " << name << ": the database " << database.string()
              << " cannot be used: " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "parley " << name << ": " << e.what() << '\n';
  }
  return 1;
}

// --- group ------------------------------------------------------------------------------------

enum class GroupCommand { List, Add, Remove };

struct GroupOptions {
  ConfigFlags flags;
  std::string group;
  std::string jid;
};

// Shared roster groups kept in the database; [[group]] tables of the config file add to them.
// A running server is told with SIGHUP, and pushes the change to the online members at once.
int groups(GroupCommand command, const GroupOptions& options) {
  const char* name = command == GroupCommand::List  ? "group list"
                     : command == GroupCommand::Add ? "group add"
                                                    : "group remove";
  const auto config = options.flags.load(name);
  if (!config) return 1;
  const fs::path database = config->database_file();
  try {
    if (command == GroupCommand::List) {
      for (const auto& g : config->groups) {
        std::cout << g.name << " (config file " << config->source_file.string() << "):";
        for (const auto& m : g.members) std::cout << ' ' << m;
        std::cout << '\n';
      }
      std::size_t stored = 0;
      if (fs::exists(database)) {
        auto db = parley::storage::open_database(database);
        parley::storage::SqliteGroupStore store(db);
        for (const auto& g : store.groups()) {
          ++stored;
          std::cout << g.name << ":";
          for (const auto& m : g.members) std::cout << ' ' << m;
          std::cout << '\n';
        }
      }
      if (stored == 0 && config->groups.empty()) std::cerr << "parley group list: no groups\n";
      return 0;
    }
    if (options.group.empty()) {
      std::cerr << "parley " << name << ": the group name is empty\n";
      return 1;
    }
    // Members are local accounts' bare JIDs (they need not exist yet).
    const auto account = parley::core::parse_account_jid(*config, options.jid, true);
    auto db = parley::storage::open_database(database);
    parley::storage::SqliteGroupStore store(db);
    const auto result = command == GroupCommand::Add
                            ? store.add_member(options.group, account.jid())
                            : store.remove_member(options.group, account.jid());
    if (result == parley::storage::Result::AlreadyExists) {
      std::cerr << "parley " << name << ": " << account.jid() << " is already in the group "
                << options.group << '\n';
      return 1;
    }
    if (result == parley::storage::Result::NotFound) {
      std::cerr << "parley " << name << ": " << account.jid() << " is not in the group "
                << options.group << " (see `parley group list`)\n";
      return 1;
    }
    std::cout << (command == GroupCommand::Add ? "Added " : "Removed ") << account.jid()
              << (command == GroupCommand::Add ? " to" : " from") << " the group " << options.group
              << ".\n";
    if (auto pid = parley::core::running_server(config->data_dir)) {
      if (::kill(*pid, SIGHUP) == 0) {
        std::cout << "The running server (pid " << *pid
                  << ") was told to reload: online members see the change now.\n";
      }
    }
    return 0;
  } catch (const parley::core::AccountError& e) {
    std::cerr << "parley " << name << " " << e.what() << '\n';
  } catch (const parley::storage::Error& e) {
    std::cerr << "parley " << name << ": the database " << database.string()
              << " cannot be used: " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "parley " << name << ": " << e.what() << '\n';
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Parley, a federated XMPP server.", "parley"};
  app.set_version_flag("--version", std::string("parley ") + PARLEY_VERSION,
                       "Print the version and exit");
  app.require_subcommand(0, 1);

  ServeOptions serve_options;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "Run the server until SIGINT/SIGTERM; SIGHUP reloads the configuration");
  serve_options.flags.add_to(serve_cmd);
  serve_options.flags.add_serve_options(serve_cmd);
  serve_cmd->add_option("--port-file", serve_options.port_file,
                        "After binding, write the ports to this file, one per line: c2s, c2s direct "
                        "TLS, s2s, s2s direct TLS (0 for one that is off; for scripts and tests)");
  serve_cmd->add_flag("-v,--verbose", serve_options.verbose, "Log debug messages too");
  serve_cmd->add_flag("--demo-account", serve_options.demo_account,
                      "Create the account demo@DOMAIN with a random password on first start and "
                      "print it (the quick start uses this)");

  CheckCommand check_options;
  CLI::App* check_cmd = app.add_subcommand(
      "check",
      "Check the configuration, certificates, data directory, ports and DNS records, and say "
      "what is wrong (exit status 1 if anything would stop Parley or keep others out)");
  check_options.flags.add_to(check_cmd);
  check_cmd->add_flag("--skip-ports", check_options.skip_ports,
                      "Do not try the listening ports (they are in use while Parley runs)");
  check_cmd->add_flag("--skip-dns", check_options.skip_dns,
                      "Do not ask DNS for the domains' SRV and A/AAAA records and the routes' "
                      "hosts (offline; otherwise DNS gets at most 5 s in all)");

  struct AccountSubcommand {
    AccountCommand command;
    const char* name;
    const char* description;
    const char* argument;
    const char* argument_help;
  };
  const AccountSubcommand account_subcommands[] = {
      {AccountCommand::Add, "adduser",
       "Create an account; the password is asked for on the terminal, or read as the first line "
       "of standard input",
       "JID", "The account's address, e.g. alice@example.org"},
      {AccountCommand::Passwd, "passwd", "Set an account's password (asked for as with adduser)",
       "JID", "The account's address"},
      {AccountCommand::Delete, "deluser", "Delete an account and everything stored for it", "JID",
       "The account's address"},
      {AccountCommand::List, "users", "List the accounts, of one domain or of all", "DOMAIN",
       "Only this domain's accounts"},
  };
  std::vector<std::unique_ptr<AccountOptions>> account_options;
  std::vector<CLI::App*> account_cmds;
  for (const auto& sub : account_subcommands) {
    auto options = std::make_unique<AccountOptions>();
    CLI::App* cmd = app.add_subcommand(sub.name, sub.description);
    auto* positional = cmd->add_option(sub.argument, options->argument, sub.argument_help);
    if (sub.command != AccountCommand::List) positional->required();
    options->flags.add_to(cmd);
    account_cmds.push_back(cmd);
    account_options.push_back(std::move(options));
  }

  CLI::App* group_cmd = app.add_subcommand(
      "group",
      "Manage shared roster groups: every member has every other member in the roster, "
      "subscribed both ways, without asking");
  group_cmd->require_subcommand(1);
  struct GroupSubcommand {
    GroupCommand command;
    const char* name;
    const char* description;
  };
  const GroupSubcommand group_subcommands[] = {
      {GroupCommand::List, "list", "List the groups (from the config file and the database)"},
      {GroupCommand::Add, "add", "Add an account to a group (created when it does not exist)"},
      {GroupCommand::Remove, "remove",
       "Remove an account from a group (a group without members is gone)"},
  };
  std::vector<std::unique_ptr<GroupOptions>> group_options;
  std::vector<CLI::App*> group_cmds;
  for (const auto& sub : group_subcommands) {
    auto options = std::make_unique<GroupOptions>();
    CLI::App* cmd = group_cmd->add_subcommand(sub.name, sub.description);
    if (sub.command != GroupCommand::List) {
      cmd->add_option("GROUP", options->group, "The group's name, e.g. Staff")->required();
      cmd->add_option("JID", options->jid, "The member's address, e.g. alice@example.org")
          ->required();
    }
    options->flags.add_to(cmd);
    group_cmds.push_back(cmd);
    group_options.push_back(std::move(options));
  }

  // Set after add_subcommand() so that the subcommands' --help does not inherit it.
  app.footer(
      "Run `parley serve` to start the server: by default it serves the domain localhost, keeps\n"
      "its data in ./parley-data and listens for clients on ports 5222 (STARTTLS) and 5223\n"
      "(direct TLS) on all interfaces, and for other servers (federation) on 5269 and 5270\n"
      "(--no-federation turns that off). `parley serve --config FILE` reads a configuration file\n"
      "(etc/parley.toml is a commented sample); flags override it.\n"
      "`parley SUBCOMMAND --help` describes a subcommand's options.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every mistake on the command line exits 1, like every other
    // error (CLI11's own codes, 105, 106, ..., tell a script nothing more).
    return app.exit(e) == 0 ? 0 : 1;
  }

  if (serve_cmd->parsed()) return serve(serve_options);
  if (check_cmd->parsed()) return check(check_options);
  for (std::size_t i = 0; i < account_cmds.size(); ++i) {
    if (account_cmds[i]->parsed()) {
      return accounts(account_subcommands[i].command, account_subcommands[i].name,
                      *account_options[i]);
    }
  }
  for (std::size_t i = 0; i < group_cmds.size(); ++i) {
    if (group_cmds[i]->parsed()) return groups(group_subcommands[i].command, *group_options[i]);
  }
  std::cerr << app.help()
            << "\nparley: no subcommand given; to start the server, run: parley serve\n";
  return 1;
}
