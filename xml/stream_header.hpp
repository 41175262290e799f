// The opening <stream:stream> tag of an XML stream (RFC 6120 §4.7), as received or to be sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::xml {

struct StreamHeader {
  // Prefix the stream element used for the stream namespace ("stream" in practice).
  std::string prefix = "stream";
  // The default namespace declared on the header (jabber:client, jabber:server, ...); "" when the
  // peer uses prefix-free canonicalisation (RFC 6120 §4.8.2) and declared none.
  std::string content_namespace;
  // Every namespace declaration on the header, in order: (prefix, URI), prefix "" for the default.
  std::vector<std::pair<std::string, std::string>> namespaces;
  // The other attributes in order, by qualified name as sent ("to", "version", "xml:lang").
  std::vector<std::pair<std::string, std::string>> attributes;

  std::optional<std::string_view> find(std::string_view qname) const {
    for (const auto& [n, v] : attributes) {
      if (n == qname) return std::string_view(v);
    }
    return std::nullopt;
  }
  std::string_view attr(std::string_view qname) const { return find(qname).value_or(""); }
  void set(std::string_view qname, std::string_view value) {
    for (auto& [n, v] : attributes) {
      if (n == qname) {
        v = value;
        return;
      }
    }
    attributes.emplace_back(qname, value);
  }
  // The URI a prefix is bound to on the header; nullopt when not declared there.
  std::optional<std::string_view> namespace_of(std::string_view of_prefix) const {
    for (const auto& [p, uri] : namespaces) {
      if (p == of_prefix) return std::string_view(uri);
    }
    return std::nullopt;
  }
};

}  // namespace parley::xml
