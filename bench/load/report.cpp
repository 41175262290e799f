// See report.hpp.
#include "bench/load/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace parley::load {

namespace {

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string with_unit(std::string text, const std::string& unit) {
  if (!unit.empty()) text += " " + unit;
  return text;
}

}  // namespace

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void Report::section(std::string title) { rows_.push_back({{}, std::move(title), {}, {}}); }

void Report::add(std::string key, std::string label, std::int64_t value, std::string unit) {
  rows_.push_back({std::move(key), std::move(label), with_unit(std::to_string(value), unit),
                   std::to_string(value)});
}

void Report::add(std::string key, std::string label, double value, int decimals, std::string unit) {
  if (!std::isfinite(value)) {
    rows_.push_back({std::move(key), std::move(label), "n/a", "null"});
    return;
  }
  rows_.push_back({std::move(key), std::move(label), with_unit(fixed(value, decimals), unit),
                   fixed(value, decimals)});
}

void Report::add(std::string key, std::string label, std::string value) {
  std::string json = json_string(value);
  rows_.push_back({std::move(key), std::move(label), std::move(value), std::move(json)});
}

void Report::add(std::string key, std::string label, bool value) {
  rows_.push_back(
      {std::move(key), std::move(label), value ? "yes" : "no", value ? "true" : "false"});
}

std::string Report::table() const {
  std::size_t width = 0;
  for (const auto& r : rows_) {
    if (!r.key.empty()) width = std::max(width, r.label.size());
  }
  std::string out = "== " + scenario_ + " ==\n";
  for (const auto& r : rows_) {
    if (r.key.empty()) {
      out += r.label + "\n";
      continue;
    }
    out += "  " + r.label + std::string(width - r.label.size() + 2, ' ') + r.text + "\n";
  }
  return out;
}

std::string Report::json() const {
  std::string out = "{\"scenario\":" + json_string(scenario_);
  for (const auto& r : rows_) {
    if (r.key.empty()) continue;
    out += ',';
    out += json_string(r.key);
    out += ':';
    out += r.json;
  }
  return out + "}";
}

}  // namespace parley::load
