// `parley`: the command line of the Parley XMPP server. Subcommands: `serve` runs the server;
// account management (adduser, passwd, deluser, users) and `check` come with later issues.
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/server.hpp"

namespace {

using parley::core::Config;

struct ServeOptions {
  Config config;
  std::filesystem::path port_file;
  bool verbose = false;
};

std::shared_ptr<spdlog::logger> make_logger(const std::filesystem::path& log_file, bool verbose) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file.string()));
  }
  auto logger = std::make_shared<spdlog::logger>("parley", sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  // Operators tail the log and tests read it: every line reaches the file at once.
  logger->flush_on(spdlog::level::debug);
  return logger;
}

// Written after binding, so that whoever started us with --c2s-port 0 learns the port. The rename
// makes the file appear complete or not at all.
void write_port_file(const std::filesystem::path& path, std::uint16_t port) {
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
    out.close();
    if (!out) throw std::runtime_error("cannot write the port file " + temporary.string());
  }
  std::filesystem::rename(temporary, path);
}

int serve(const ServeOptions& options) {
  std::shared_ptr<spdlog::logger> log;
  try {
    log = make_logger(options.config.log_file, options.verbose);
  } catch (const std::exception& e) {
    std::cerr << "parley: cannot open the log file: " << e.what() << '\n';
    return 1;
  }
  try {
    log->info("parley {} starting: domain {}, data in {}", PARLEY_VERSION,
              options.config.default_host().domain, options.config.data_dir.string());
    parley::core::Server server(options.config, log);
    server.start();
    if (!options.port_file.empty()) write_port_file(options.port_file, server.c2s_port());
    server.stop_on_signals();
    server.run();
    return 0;
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    log->error("parley did not start; see the message above");
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Parley, a federated XMPP server.", "parley"};
  app.set_version_flag("--version", std::string("parley ") + PARLEY_VERSION,
                       "Print the version and exit");
  app.require_subcommand(0, 1);
  ServeOptions options;
  options.config.data_dir = "./parley-data";
  CLI::App* serve_cmd = app.add_subcommand(
      "serve", "Run the server until SIGINT/SIGTERM (clients on port 5222, data in ./parley-data)");
  serve_cmd->add_option("--domain", options.config.hosts.front().domain, "The XMPP domain to serve")
      ->capture_default_str();
  serve_cmd
      ->add_option("--data-dir", options.config.data_dir,
                   "Directory for Parley's data (certificates; created if missing)")
      ->capture_default_str();
  serve_cmd->add_option("--bind", options.config.bind_address,
                        "IP address to listen on (default: all interfaces, IPv6 and IPv4)");
  int c2s_port = parley::core::kDefaultC2sPort;
  serve_cmd
      ->add_option("--c2s-port", c2s_port, "TCP port for client connections (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--log", options.config.log_file,
                        "Also write the log to this file (default: stderr only)");
  serve_cmd->add_option("--port-file", options.port_file,
                        "After binding, write the c2s port to this file (for scripts and tests)");
  serve_cmd->add_flag("-v,--verbose", options.verbose, "Log debug messages too");

  // Set after add_subcommand() so that `serve --help` does not inherit it.
  app.footer(
      "Run `parley serve` to start the server: by default it serves the domain localhost, keeps\n"
      "its data in ./parley-data and listens for clients on port 5222 on all interfaces.\n"
      "`parley SUBCOMMAND --help` describes a subcommand's options.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (serve_cmd->parsed()) {
    options.config.c2s.port = static_cast<std::uint16_t>(c2s_port);
    return serve(options);
  }
  std::cerr << app.help()
            << "\nparley: no subcommand given; to start the server, run: parley serve\n";
  return 1;
}
