// Errors as values: a code a caller can branch on plus a message a person can act on.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace fieldlog {

enum class Errc {
    invalid_argument = 1,  // the request or input is malformed; nothing was changed
    not_found,
    conflict,  // the request contradicts the stored state (e.g. no open inspection)
    io,
    database,
    corrupt,  // stored data fails an integrity check
    no_space,
    too_large,
    permission,
    unavailable,
    internal,
};

// Stable lower-case name of a code, used on the wire and as a CLI exit-code key.
std::string_view errc_name(Errc code);

class Error {
public:
    // result<T, Error>::error() on a value returns a default Error; it never reaches a user.
    Error() : code_(Errc::internal) {}
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

    Errc code() const { return code_; }
    const std::string& message() const { return message_; }

    // Prefixes the message with where the error happened: "sites.toml:3: ...".
    Error& context(std::string_view where) &;
    Error&& context(std::string_view where) &&;

    std::string to_string() const;

private:
    Errc code_;
    std::string message_;
};

template <class T>
using Result = boost::system::result<T, Error>;
using Status = Result<void>;

// Lets Result<T>::value() throw when a caller chose exceptions over checking.
[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& loc);

class ErrorException : public std::runtime_error {
public:
    explicit ErrorException(Error error)
        : std::runtime_error(error.to_string()), error_(std::move(error)) {}
    const Error& error() const { return error_; }

private:
    Error error_;
};

}  // namespace fieldlog
