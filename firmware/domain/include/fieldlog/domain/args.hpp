// Typed, checked access to a request's "args" object: every field a request may carry is
// named by the operation, and anything else in it is an error rather than ignored.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/error.hpp"

namespace fieldlog::domain {

class Args {
public:
    // Fails when args holds a key outside allowed, naming it and the operation.
    [[nodiscard]] static Result<Args> check(std::string_view op, const boost::json::object& args,
                                            std::initializer_list<std::string_view> allowed);

    // Each getter fails with a message such as "measurement.add: value: expected a number,
    // got string". Texts are trimmed; required texts must not be empty. max_length is in bytes.
    [[nodiscard]] Result<std::string> text(std::string_view key,
                                           std::size_t max_length = 256) const;
    [[nodiscard]] Result<std::optional<std::string>> opt_text(std::string_view key,
                                                              std::size_t max_length = 256) const;
    [[nodiscard]] Result<double> number(std::string_view key) const;
    [[nodiscard]] Result<std::optional<double>> opt_number(std::string_view key) const;
    [[nodiscard]] Result<std::int64_t> integer(std::string_view key) const;
    [[nodiscard]] Result<std::optional<std::int64_t>> opt_integer(std::string_view key) const;
    [[nodiscard]] Result<std::optional<bool>> opt_boolean(std::string_view key) const;
    // A list of non-empty texts, at most max_items long.
    [[nodiscard]] Result<std::vector<std::string>> text_list(std::string_view key,
                                                             std::size_t max_items = 32,
                                                             std::size_t max_length = 128) const;
    // One of the given words.
    [[nodiscard]] Result<std::optional<std::string>> opt_choice(
        std::string_view key, std::span<const std::string_view> choices) const;
    [[nodiscard]] Result<std::optional<std::string>> opt_choice(
        std::string_view key, std::initializer_list<std::string_view> choices) const {
        return opt_choice(key, std::span(choices.begin(), choices.size()));
    }

    Error error(std::string_view key, std::string_view what) const;

private:
    Args(std::string_view op, const boost::json::object& args) : op_(op), args_(&args) {}
    const boost::json::value* find(std::string_view key) const;

    std::string op_;
    const boost::json::object* args_;
};

// A name that will be stored or shown as an identifier: letters, digits, '.', '_', '-', no
// path separators and no "..", so it can never be used to escape a directory.
[[nodiscard]] Status check_identifier(std::string_view what, std::string_view value);

}  // namespace fieldlog::domain
