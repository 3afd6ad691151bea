// The readers behind load_reference_data, for the other places reference data comes from (the
// office's published files, a device's downloaded bundle), so that every source is checked alike.
// Private to fieldlog_config.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <string>

#include "fieldlog/config/reference.hpp"
#include "toml_reader.hpp"

namespace fieldlog::config::detail {

// Reads the [[class]] tables of one standards document into standards; places remembers where
// each class was defined, across documents, to report duplicates.
void read_standards(const toml::table& document, StandardMap& standards,
                    std::map<std::string, std::string>& places, Diagnostics& diag);

// Reads the [[site]] tables of a sites document into data.sites, checking each site's standard
// against data.standards.
void read_sites(const toml::table& document, ReferenceData& data, Diagnostics& diag);

}  // namespace fieldlog::config::detail
