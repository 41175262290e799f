// parley-load-accounts: creates the benchmark accounts PREFIX<first>…PREFIX<first+count-1> in a
// Parley data directory, in one process, as `parley adduser` would (core/accounts.hpp: SCRAM
// credentials only, the configured default iteration count). A loop of `parley adduser` costs a
// process start per account; hundreds of accounts take minutes that way. Existing accounts are
// left as they are. The password is the first line of standard input, as for adduser.
//
//   parley-load-accounts --data-dir DIR --domain localhost --users pres --count 501 < password
//
// Parley-specific, like run-parley.sh: parley-load itself only needs the accounts to exist.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "core/accounts.hpp"
#include "core/sasl/credentials.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"

int main(int argc, char** argv) {
  std::string data_dir;
  std::string domain = "localhost";
  std::string users;
  std::size_t first = 1;
  std::size_t count = 0;
  std::uint32_t iterations = parley::core::sasl::kDefaultIterations;
  CLI::App app{"Creates the accounts PREFIX<first>... for parley-load (password on stdin).",
               "parley-load-accounts"};
  app.add_option("--data-dir", data_dir, "Parley's data directory (holds parley.sqlite)")
      ->required();
  app.add_option("--domain", domain, "Domain of the accounts")->capture_default_str();
  app.add_option("--users", users, "Account name prefix")->required();
  app.add_option("--first", first, "Number of the first account")->capture_default_str();
  app.add_option("--count", count, "How many accounts")->required();
  app.add_option("--scram-iterations", iterations, "PBKDF2 iterations (Parley's default)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::cerr << "parley-load-accounts: give the password as the first line of standard input\n";
    return 2;
  }
  try {
    auto db = parley::storage::open_database(std::filesystem::path(data_dir) / "parley.sqlite");
    parley::storage::SqliteAccountStore store(db);
    parley::core::Accounts accounts(store, iterations);
    std::size_t created = 0;
    for (std::size_t i = first; i < first + count; ++i) {
      const parley::core::AccountName name{users + std::to_string(i), domain};
      if (accounts.exists(name)) continue;
      accounts.add(name, password);
      ++created;
    }
    std::cout << "created " << created << " account(s), " << count - created
              << " existed already\n";
  } catch (const std::exception& e) {
    std::cerr << "parley-load-accounts: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
