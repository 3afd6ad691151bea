// Reading [gpio] (fieldlog/config/gpio_config.hpp); private to fieldlog_config.
#pragma once

#include "fieldlog/config/gpio_config.hpp"
#include "toml_reader.hpp"

namespace fieldlog::config::detail {

// Reads [gpio] and its line tables into config when the document has the table, reporting every
// problem with its file, line and key. root is the document's reader; [gpio] becomes a known key.
void read_gpio(const toml::table& document, TableReader& root, GpioConfig& config);

}  // namespace fieldlog::config::detail
