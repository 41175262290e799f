#include "federation/pki/identity.hpp"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "core/tls/openssl_util.hpp"

namespace parley::federation::pki {
namespace {

constexpr std::string_view kServerService = "_xmpp-server.";  // RFC 6120 §13.7.1.2

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

enum class SanType { Dns, Srv, XmppAddr, Uri };

struct San {
  SanType type;
  std::string value;
  // False when the ASN.1 string type is not the one the identifier requires, or when the value
  // holds a NUL byte (the classic "www.bank.com\0.evil.org" trick): listed, never matched.
  bool usable;
};

// The bytes of an ASN.1 string, and whether it is of `type` and free of NUL bytes.
San make_san(SanType san_type, const ASN1_STRING* s, int type) {
  if (s == nullptr) return San{san_type, {}, false};
  const int length = ASN1_STRING_length(s);
  std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                    length > 0 ? static_cast<std::size_t>(length) : 0);
  const bool usable = ASN1_STRING_type(s) == type && value.find('\0') == std::string::npos;
  return San{san_type, std::move(value), usable};
}

// The subjectAltName entries Parley knows; IP addresses, e-mail addresses and other otherNames
// are not identifiers of an XMPP domain and are skipped.
std::vector<San> subject_alt_names(X509* cert) {
  std::vector<San> sans;
  core::tls::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    switch (name->type) {
      case GEN_DNS:
        sans.push_back(make_san(SanType::Dns, name->d.dNSName, V_ASN1_IA5STRING));
        break;
      case GEN_URI:
        sans.push_back(make_san(SanType::Uri, name->d.uniformResourceIdentifier, V_ASN1_IA5STRING));
        break;
      case GEN_OTHERNAME: {
        const OTHERNAME* other = name->d.otherName;
        const int nid = OBJ_obj2nid(other->type_id);
        const ASN1_TYPE* value = other->value;
        if (nid == NID_SRVName) {
          // RFC 4985 §2: SRVName ::= IA5String.
          const ASN1_STRING* s = value != nullptr && value->type == V_ASN1_IA5STRING
                                     ? value->value.ia5string
                                     : nullptr;
          sans.push_back(make_san(SanType::Srv, s, V_ASN1_IA5STRING));
        } else if (nid == NID_XmppAddr) {
          // RFC 6120 §13.7.1.4: XmppAddr ::= UTF8String.
          const ASN1_STRING* s = value != nullptr && value->type == V_ASN1_UTF8STRING
                                     ? value->value.utf8string
                                     : nullptr;
          sans.push_back(make_san(SanType::XmppAddr, s, V_ASN1_UTF8STRING));
        }
        break;
      }
      default:
        break;
    }
  }
  return sans;
}

// Every CN of the subject as UTF-8, in certificate order; an entry that cannot be converted or
// holds a NUL byte comes back empty (and matches nothing).
std::vector<std::string> common_names(X509* cert) {
  std::vector<std::string> names;
  const X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr) return names;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, data);
    std::string value;
    if (length > 0) {
      value.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    }
    OPENSSL_free(utf8);
    if (value.find('\0') != std::string::npos) value.clear();
    names.push_back(std::move(value));
  }
  return names;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::DnsId:
      return "DNS-ID";
    case IdentityKind::SrvId:
      return "SRV-ID";
    case IdentityKind::XmppAddr:
      return "XmppAddr";
    case IdentityKind::CommonName:
      return "CN-ID";
  }
  return "?";
}

bool dns_name_matches(std::string_view presented, std::string_view domain) {
  if (presented.empty() || domain.empty()) return false;
  if (presented.find('*') == std::string_view::npos) return iequals(presented, domain);
  // RFC 6125 §6.4.3, applied strictly (as RFC 9525 §6.3 later made normative): "*" only as the
  // whole left-most label, matching one non-empty label, and not directly under a top-level
  // domain ("*.org" would claim a whole registry).
  if (!presented.starts_with("*.")) return false;
  const std::string_view rest = presented.substr(2);
  if (rest.find('*') != std::string_view::npos) return false;
  const std::size_t rest_dot = rest.find('.');
  if (rest_dot == std::string_view::npos || rest_dot == 0 || rest.back() == '.') return false;
  const std::size_t first_dot = domain.find('.');
  if (first_dot == std::string_view::npos || first_dot == 0) return false;
  return iequals(domain.substr(first_dot + 1), rest);
}

std::optional<IdentityKind> certificate_identifies(X509* cert, std::string_view domain) {
  if (cert == nullptr || domain.empty()) return std::nullopt;
  const std::vector<San> sans = subject_alt_names(cert);
  // Every kind is looked at so that the answer names the strongest match (DNS-ID, then SRV-ID,
  // then XmppAddr) whatever the order of the certificate's entries.
  bool dns = false;
  bool srv = false;
  bool xmpp = false;
  for (const San& san : sans) {
    if (!san.usable) continue;
    switch (san.type) {
      case SanType::Dns:
        dns = dns || dns_name_matches(san.value, domain);
        break;
      case SanType::Srv:
        // RFC 6120 §13.7.2.1: a server authenticates a peer server for the "_xmpp-server"
        // service; an "_xmpp-client" SRV-ID says nothing about federation.
        srv = srv ||
              (istarts_with(san.value, kServerService) &&
               dns_name_matches(std::string_view(san.value).substr(kServerService.size()), domain));
        break;
      case SanType::XmppAddr:
        // Only a bare domain names a server; "user@domain" names an account on it (XEP-0178 §3).
        xmpp = xmpp ||
               (san.value.find_first_of("@/") == std::string::npos && iequals(san.value, domain));
        break;
      case SanType::Uri:
        break;  // XMPP defines no URI-ID (RFC 6120 §13.7.1.2); it only disables the CN fallback
    }
  }
  if (dns) return IdentityKind::DnsId;
  if (srv) return IdentityKind::SrvId;
  if (xmpp) return IdentityKind::XmppAddr;
  // RFC 6125 §6.4.4: any subjectAltName identifier of a type we understand, usable or not, rules
  // out the CN; a certificate cannot fall back to its CN by carrying a spoiled SAN.
  if (!sans.empty()) return std::nullopt;
  // CN-ID fallback (RFC 6125 §6.4.4, which RFC 6120 §13.7.2.1 defers to): only the most specific
  // (last) CN, matched like a DNS-ID. Old private CAs still issue CN-only certificates.
  const std::vector<std::string> cns = common_names(cert);
  if (!cns.empty() && dns_name_matches(cns.back(), domain)) return IdentityKind::CommonName;
  return std::nullopt;
}

std::vector<std::string> certificate_identities(X509* cert) {
  std::vector<std::string> out;
  if (cert == nullptr) return out;
  for (const San& san : subject_alt_names(cert)) {
    std::string text;
    switch (san.type) {
      case SanType::Dns:
        text = "DNS:";
        break;
      case SanType::Srv:
        text = "SRV:";
        break;
      case SanType::XmppAddr:
        text = "xmppAddr:";
        break;
      case SanType::Uri:
        text = "URI:";
        break;
    }
    text += printable(san.value);
    if (!san.usable) text += " (malformed)";
    out.push_back(std::move(text));
  }
  for (const std::string& cn : common_names(cert)) out.push_back("CN:" + printable(cn));
  return out;
}

}  // namespace parley::federation::pki
