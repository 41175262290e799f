#include "core/check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <tuple>

#include "core/tls/openssl_util.hpp"
#include "storage/account_store.hpp"
#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_account_store.hpp"

namespace parley::core {

namespace {

using tls::BioPtr;
using tls::Deleter;
using tls::GeneralNamesPtr;
using tls::openssl_reason;
using tls::PkeyPtr;
using tls::X509Ptr;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> read_file(const std::filesystem::path& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return std::nullopt;
  }
  return out.str();
}

// Refuses to prompt for a passphrase: an encrypted key is reported, not unlocked.
int no_passphrase(char*, int, int, void*) { return 0; }

std::optional<std::time_t> to_time_t(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return ::timegm(&tm);
}

std::string format_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M UTC", &tm);
  return text.data();
}

std::string asn1_string(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

struct CertificateNames {
  std::vector<std::string> dns;   // subjectAltName dNSName
  std::vector<std::string> xmpp;  // subjectAltName otherName id-on-xmppAddr (RFC 6120 §13.7.1.4)
  std::vector<std::string> common_names;
};

CertificateNames names_of(X509* cert) {
  CertificateNames names;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
      if (name->type == GEN_DNS) {
        names.dns.push_back(asn1_string(name->d.dNSName));
      } else if (name->type == GEN_OTHERNAME &&
                 OBJ_obj2nid(name->d.otherName->type_id) == NID_XmppAddr &&
                 name->d.otherName->value->type == V_ASN1_UTF8STRING) {
        names.xmpp.push_back(asn1_string(name->d.otherName->value->value.utf8string));
      }
    }
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    names.common_names.push_back(
        asn1_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  }
  return names;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string issuer_common_name(X509* cert) {
  const X509_NAME* issuer = X509_get_issuer_name(cert);
  const int i = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
  if (i < 0) return {};
  return asn1_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, i)));
}

// Issued by itself: the issuer is the subject and its own key verifies the signature.
// (X509_check_issued() would also demand the keyCertSign usage that end-entity certificates,
// self-signed ones included, do not have.)
bool is_self_signed(X509* cert) {
  ERR_clear_error();
  const bool self = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 &&
                    X509_verify(cert, X509_get0_pubkey(cert)) == 1;
  ERR_clear_error();
  return self;
}

void check_validity(std::string_view domain, X509* leaf, CheckReport& report,
                    const CheckOptions& options) {
  const auto not_before = to_time_t(X509_get0_notBefore(leaf));
  const auto not_after = to_time_t(X509_get0_notAfter(leaf));
  const std::string subject = "the certificate for " + std::string(domain);
  if (!not_before || !not_after) {
    report.error(subject + " has validity dates OpenSSL cannot read");
    return;
  }
  const std::time_t now = std::chrono::system_clock::to_time_t(options.now);
  if (*not_after < now) {
    report.error(subject + " expired on " + format_date(*not_after) +
                 ": clients and servers will refuse it; renew it");
    return;
  }
  if (*not_before > now) {
    report.error(subject + " is not valid before " + format_date(*not_before) +
                 ": check this machine's clock, or wait");
    return;
  }
  const auto left = std::chrono::duration_cast<std::chrono::hours>(
      std::chrono::system_clock::from_time_t(*not_after) - options.now);
  const long days = static_cast<long>(left.count() / 24);
  const std::string until = format_date(*not_after) + " (" + std::to_string(days) +
                            (days == 1 ? " day" : " days") + " from now)";
  if (left < options.expiry_warning) {
    report.warning(subject + " expires on " + until + ": renew it soon");
  } else {
    report.ok(subject + " is valid until " + until);
  }
}

void check_names(std::string_view domain, X509* leaf, CheckReport& report) {
  const CertificateNames names = names_of(leaf);
  const std::string subject = "the certificate for " + std::string(domain);
  for (const auto& dns : names.dns) {
    if (dns_name_matches(dns, domain)) {
      report.ok(subject + " covers " + std::string(domain) + " (subjectAltName " + dns + ")");
      return;
    }
  }
  for (const auto& xmpp : names.xmpp) {
    if (lower_ascii(xmpp) == lower_ascii(domain)) {
      report.ok(subject + " covers " + std::string(domain) + " (XmppAddr " + xmpp + ")");
      return;
    }
  }
  std::vector<std::string> all = names.dns;
  all.insert(all.end(), names.xmpp.begin(), names.xmpp.end());
  if (all.empty()) {
    // RFC 6125 §6.4.4: the Common Name is a last resort that current clients no longer use.
    for (const auto& cn : names.common_names) {
      if (dns_name_matches(cn, domain)) {
        report.warning(subject + " names " + std::string(domain) +
                       " only in its Common Name, which current clients ignore (RFC 6125 "
                       "§6.4.4): get one with " +
                       std::string(domain) + " as a subjectAltName");
        return;
      }
    }
    all = names.common_names;
  }
  report.error(subject + " does not cover " + std::string(domain) + " (it names " +
               (all.empty() ? std::string("no domain at all") : join(all)) +
               "): clients and servers will refuse it; get a certificate that includes " +
               std::string(domain));
}

void check_chain(std::string_view domain, X509* leaf, STACK_OF(X509) * intermediates,
                 CheckReport& report, const CheckOptions& options) {
  const std::string subject = "the certificate for " + std::string(domain);
  if (is_self_signed(leaf) && sk_X509_num(intermediates) == 0) {
    report.warning(subject +
                   " is self-signed: clients will ask their users whether to trust it, and "
                   "federated servers will fall back to dialback; use one from a CA (e.g. Let's "
                   "Encrypt) for production");
    return;
  }
  if (!options.verify_chain) return;
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_set_default_paths(store.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, intermediates) != 1) {
    report.warning("could not verify the certificate chain for " + std::string(domain) + ": " +
                   openssl_reason());
    return;
  }
  // Expiry is reported on its own; this is about who issued it.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  if (X509_verify_cert(ctx.get()) == 1) {
    const std::string issuer = issuer_common_name(leaf);
    report.ok(subject + " chains to a CA this system trusts" +
              (issuer.empty() ? std::string() : " (issued by " + issuer + ")"));
  } else {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    report.warning(subject + " does not chain to a CA this system trusts (" +
                   X509_verify_cert_error_string(error) +
                   "): clients may refuse it; if the file lacks the intermediate certificates, "
                   "append them after the domain's certificate");
  }
}

void check_key(std::string_view domain, X509* leaf, const std::filesystem::path& key_file,
               CheckReport& report) {
  std::string why;
  const auto pem = read_file(key_file, why);
  if (!pem) {
    report.error("cannot read the private key " + key_file.string() + " for " +
                 std::string(domain) + ": " + why);
    return;
  }
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    report.error("the file " + key_file.string() +
                 " holds no PEM private key that Parley can use (it must be unencrypted, "
                 "starting with -----BEGIN PRIVATE KEY----- or similar)");
    return;
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    report.error("the private key " + key_file.string() +
                 " does not belong to the certificate for " + std::string(domain) +
                 ": configure the key that was issued with it");
    return;
  }
  report.ok("the private key " + key_file.string() + " matches the certificate for " +
            std::string(domain));
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    report.warning("the private key " + key_file.string() +
                   " can be read by every user on this machine (mode " + mode + "): chmod o-r it");
  }
}

// Whether a new file can be created in `dir` (as the server will need to).
bool writable_directory(const std::filesystem::path& dir, std::string& why) {
  std::string pattern = (dir / ".parley-check-XXXXXX").string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    why = std::strerror(errno);
    return false;
  }
  ::close(fd);
  ::unlink(pattern.c_str());
  return true;
}

std::string format_address(const sockaddr_storage& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &a6.sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(ntohs(a6.sin6_port));
  }
  const auto& a4 = reinterpret_cast<const sockaddr_in&>(address);
  ::inet_ntop(AF_INET, &a4.sin_addr, text.data(), text.size());
  return std::string(text.data()) + ":" + std::to_string(ntohs(a4.sin_port));
}

// Binds (and listens on) `address`:`port` as the server's listener does, then closes. Returns 0
// or the errno of the failure.
int try_bind(const sockaddr_storage& address, socklen_t length) {
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int one = 1;
  const int zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.ss_family == AF_INET6) {
    // "::" accepts IPv4 too, as the server's listener does.
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  int result = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      ::listen(fd, 1) != 0) {
    result = errno;
  }
  ::close(fd);
  return result;
}

std::pair<sockaddr_storage, socklen_t> make_address(const std::string& ip, std::uint16_t port) {
  sockaddr_storage storage{};
  auto* a4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (::inet_pton(AF_INET, ip.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    return {storage, sizeof(sockaddr_in)};
  }
  storage = {};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&storage);
  ::inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr);
  a6->sin6_family = AF_INET6;
  a6->sin6_port = htons(port);
  return {storage, sizeof(sockaddr_in6)};
}

void check_listener(const Config& config, const ListenerConfig& listener, std::string_view what,
                    CheckReport& report) {
  if (!listener.port) {
    report.ok("the listener for " + std::string(what) + " is turned off");
    return;
  }
  const std::uint16_t port = *listener.port;
  const std::string& configured = listener.address.empty() ? config.bind_address : listener.address;
  auto [address, length] = make_address(configured.empty() ? "::" : configured, port);
  int error = try_bind(address, length);
  if (configured.empty() && (error == EAFNOSUPPORT || error == EADDRNOTAVAIL)) {
    // No IPv6 on this host: the server falls back to IPv4 only.
    std::tie(address, length) = make_address("0.0.0.0", port);
    error = try_bind(address, length);
  }
  const std::string where = format_address(address);
  if (error == 0) {
    report.ok(port == 0 ? "Parley can listen for " + std::string(what) + " on " + where +
                              " (port 0: a free port is chosen at each start)"
                        : "Parley can listen for " + std::string(what) + " on " + where);
    return;
  }
  std::string why;
  switch (error) {
    case EADDRINUSE:
      why = "port " + std::to_string(port) +
            " is in use (by another program, or by a Parley that is already running)";
      break;
    case EACCES:
      why =
          "permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE "
          "capability; the standard XMPP ports do not)";
      break;
    case EADDRNOTAVAIL:
      why = "the address " + configured + " is not one of this machine's";
      break;
    default:
      why = std::strerror(error);
  }
  report.error("Parley cannot listen for " + std::string(what) + " on " + where + ": " + why);
}

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::Ok:
      return "ok";
    case Severity::Warning:
      return "warning";
    case Severity::Error:
      return "error";
  }
  return "error";
}

std::size_t CheckReport::count(Severity severity) const {
  return static_cast<std::size_t>(
      std::count_if(findings_.begin(), findings_.end(),
                    [severity](const Finding& f) { return f.severity == severity; }));
}

std::string CheckReport::to_text() const {
  std::string text;
  for (const auto& finding : findings_) {
    text += std::string(to_string(finding.severity)) + ": " + finding.message + "\n";
  }
  const std::size_t errors = count(Severity::Error);
  const std::size_t warnings = count(Severity::Warning);
  const auto plural = [](std::size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  if (errors == 0 && warnings == 0) {
    text += "No problems found.\n";
  } else if (errors == 0) {
    text += plural(warnings, "warning") + ", no errors: Parley can run as configured.\n";
  } else {
    text += plural(errors, "error") + " and " + plural(warnings, "warning") +
            ": fix the errors before starting Parley.\n";
  }
  return text;
}

bool dns_name_matches(std::string_view reference, std::string_view domain) {
  std::string ref = lower_ascii(reference);
  std::string dom = lower_ascii(domain);
  // A fully qualified name's trailing dot does not change it (RFC 6125 §6.2.1 compares labels).
  if (!ref.empty() && ref.back() == '.') ref.pop_back();
  if (!dom.empty() && dom.back() == '.') dom.pop_back();
  if (ref.empty() || dom.empty()) return false;
  if (ref.rfind("*.", 0) != 0) return ref.find('*') == std::string::npos && ref == dom;
  // RFC 6125 §6.4.3: "*" as the complete leftmost label matches exactly one label; partial
  // wildcards ("w*.example.org") and wildcards in other labels are not honoured.
  const std::string_view rest = std::string_view(ref).substr(2);
  if (rest.find('*') != std::string_view::npos) return false;
  // "*.org" would cover a whole top-level domain: RFC 6125 §7.2 and every browser refuse it.
  if (rest.find('.') == std::string_view::npos) return false;
  const auto dot = dom.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  return std::string_view(dom).substr(dot + 1) == rest;
}

std::optional<Config> check_configuration(const std::optional<std::filesystem::path>& file,
                                          const ConfigOverrides& overrides, CheckReport& report) {
  try {
    Config config = load_config(file, overrides);
    std::string domains;
    for (const auto& host : config.hosts) domains += (domains.empty() ? "" : ", ") + host.domain;
    const std::string served = config.hosts.size() == 1
                                   ? "the domain " + domains
                                   : std::to_string(config.hosts.size()) + " domains: " + domains;
    if (file) {
      report.ok("the configuration file " + file->string() + " is valid; it serves " + served);
    } else {
      report.ok("no configuration file given: the built-in defaults and the flags serve " + served);
    }
    return config;
  } catch (const ConfigError& e) {
    report.error(e.what());
    return std::nullopt;
  }
}

void check_certificate(std::string_view domain, const std::filesystem::path& certificate_file,
                       const std::filesystem::path& key_file, CheckReport& report,
                       const CheckOptions& options) {
  std::string why;
  const auto pem = read_file(certificate_file, why);
  if (!pem) {
    report.error("cannot read the certificate " + certificate_file.string() + " for " +
                 std::string(domain) + ": " + why);
    return;
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  if (!leaf) {
    ERR_clear_error();
    report.error("the file " + certificate_file.string() +
                 " holds no PEM certificate (a block starting with -----BEGIN CERTIFICATE-----)");
    return;
  }
  X509StackPtr intermediates(sk_X509_new_null());
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    sk_X509_push(intermediates.get(), next);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  report.ok(
      "the certificate " + certificate_file.string() + " for " + std::string(domain) +
      " is readable (" + std::to_string(1 + sk_X509_num(intermediates.get())) +
      (sk_X509_num(intermediates.get()) == 0 ? " certificate)" : " certificates in the chain)"));
  check_validity(domain, leaf.get(), report, options);
  check_names(domain, leaf.get(), report);
  check_key(domain, leaf.get(), key_file, report);
  check_chain(domain, leaf.get(), intermediates.get(), report, options);
}

void check_host_certificate(const Config& config, const VirtualHost& host, CheckReport& report,
                            const CheckOptions& options) {
  const auto certificate = config.certificate_file(host);
  const auto key = config.private_key_file(host);
  if (host.certificate.empty()) {
    std::error_code ec;
    const bool have_cert = std::filesystem::exists(certificate, ec);
    const bool have_key = std::filesystem::exists(key, ec);
    if (!have_cert && !have_key) {
      report.warning(host.domain +
                     " has no certificate configured: parley serve will generate "
                     "a self-signed one in " +
                     certificate.string() +
                     ", which clients will ask their users to trust; set certificate and key in "
                     "its [[host]] for production");
      return;
    }
    if (have_cert != have_key) {
      report.error("of the generated certificate pair for " + host.domain + ", only " +
                   (have_cert ? certificate.string() : key.string()) +
                   " exists: Parley will not overwrite it; remove it to have both generated "
                   "again, or configure certificate and key");
      return;
    }
  }
  check_certificate(host.domain, certificate, key, report, options);
}

void check_data_dir(const Config& config, CheckReport& report) {
  const auto& dir = config.data_dir;
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  std::string why;
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status)) {
      report.error("the data directory " + dir.string() + " exists but is not a directory");
    } else if (!writable_directory(dir, why)) {
      report.error("Parley cannot write in the data directory " + dir.string() + ": " + why +
                   "; give the user Parley runs as write access to it");
    } else {
      report.ok("the data directory " + dir.string() + " exists and is writable");
    }
    return;
  }
  // Find what serve's create_directories() would start from.
  auto parent = std::filesystem::absolute(dir, ec).parent_path();
  while (!parent.empty() && !std::filesystem::exists(parent, ec) && parent != parent.root_path()) {
    parent = parent.parent_path();
  }
  if (std::filesystem::is_directory(parent, ec) && writable_directory(parent, why)) {
    report.ok("the data directory " + dir.string() +
              " does not exist yet; parley serve will create it");
  } else {
    report.error("the data directory " + dir.string() +
                 " does not exist, and Parley cannot create "
                 "it in " +
                 parent.string() + (why.empty() ? "" : ": " + why) +
                 "; create it and give the user Parley runs as write access to it");
  }
}

void check_database(const Config& config, CheckReport& report) {
  const auto file = config.database_file();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    report.ok("there is no database yet; parley serve or parley adduser will create " +
              file.string());
    return;
  }
  try {
    storage::Database db = storage::open_database(file);
    report.ok("the database " + file.string() + " opens (schema version " +
              std::to_string(db.user_version()) + ")");
    storage::SqliteAccountStore accounts(db);
    for (const auto& host : config.hosts) {
      const std::size_t n = accounts.count(host.domain);
      report.ok(host.domain + " has " + std::to_string(n) + (n == 1 ? " account" : " accounts"));
    }
    for (const auto& domain : accounts.list_domains()) {
      if (config.host(domain) != nullptr) continue;
      const std::size_t n = accounts.count(domain);
      report.warning("the database holds " + std::to_string(n) +
                     (n == 1 ? " account" : " accounts") + " of " + domain +
                     ", which is not configured: they cannot log in (parley users " + domain +
                     " lists them)");
    }
  } catch (const storage::Error& e) {
    report.error("the database " + file.string() + " cannot be used: " + e.what());
  }
}

void check_listeners(const Config& config, CheckReport& report) {
  check_listener(config, config.c2s, "clients (STARTTLS)", report);
  check_listener(config, config.c2s_tls, "clients (direct TLS)", report);
}

CheckReport run_checks(const Config& config, const CheckOptions& options) {
  CheckReport report;
  check_data_dir(config, report);
  check_database(config, report);
  for (const auto& host : config.hosts) check_host_certificate(config, host, report, options);
  if (options.check_listeners) check_listeners(config, report);
  return report;
}

}  // namespace parley::core
