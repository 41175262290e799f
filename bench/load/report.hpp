// The result of one parley-load scenario: named values printed twice, as a table for people and
// as one JSON object on one line for scripts (`parley-load ... | grep '^{'`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::load {

class Report {
 public:
  Report() = default;
  explicit Report(std::string scenario) : scenario_(std::move(scenario)) {}

  // A heading in the table; not in the JSON.
  void section(std::string title);
  // `key` is the JSON name (snake_case); `label` the table's wording; `unit` follows the value
  // in the table only (the key names the unit, e.g. "latency_p50_ms").
  void add(std::string key, std::string label, std::int64_t value, std::string unit = {});
  // Non-finite values (a rate over zero seconds) are "n/a" in the table and null in JSON.
  void add(std::string key, std::string label, double value, int decimals, std::string unit = {});
  void add(std::string key, std::string label, std::string value);
  void add(std::string key, std::string label, const char* value) {
    add(std::move(key), std::move(label), std::string(value));
  }
  void add(std::string key, std::string label, bool value);

  const std::string& scenario() const { return scenario_; }
  std::string table() const;
  // {"scenario":"…",key:value,…} without a trailing newline.
  std::string json() const;

 private:
  struct Row {
    std::string key;  // empty for a section heading
    std::string label;
    std::string text;  // as shown in the table, unit included
    std::string json;  // the JSON value
  };
  std::vector<Row> rows_;
  std::string scenario_;
};

// A JSON string literal for `s` (quotes included), escaping as RFC 8259 §7 requires.
std::string json_string(std::string_view s);

}  // namespace parley::load
