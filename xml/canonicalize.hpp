// Namespace resolution (Namespaces in XML 1.0) and rewriting of a parsed pugixml tree into the
// canonical form of element.hpp. Internal to xml/.
#pragma once

#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "xml/stream_error.hpp"

namespace parley::xml::detail {

struct NsBinding {
  std::string_view prefix;  // "" for the default namespace
  std::string_view uri;     // "" only for an undeclared default namespace
};

struct NsError {
  StreamError condition;
  std::string text;
};

// Checks the namespace declarations and prefixes of the tree under `root` against `scope` (the
// bindings in force around it, e.g. those of the stream header) and rewrites it in canonical form.
// With merge_text, CDATA sections become text and adjacent texts are merged.
// REQUIRES: the strings of `scope` and of the tree's in-situ buffer outlive the call.
std::optional<NsError> canonicalize(pugi::xml_node root, std::vector<NsBinding>& scope,
                                    bool merge_text);

// Checks one namespace declaration attribute (`xmlns` or `xmlns:prefix`) per Namespaces in XML §3.
std::optional<NsError> check_declaration(std::string_view prefix, std::string_view uri,
                                         bool is_default);

}  // namespace parley::xml::detail
