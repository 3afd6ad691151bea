#include "fieldlog/error.hpp"

namespace fieldlog {

std::string_view errc_name(Errc code) {
    switch (code) {
        case Errc::invalid_argument:
            return "invalid_argument";
        case Errc::not_found:
            return "not_found";
        case Errc::conflict:
            return "conflict";
        case Errc::io:
            return "io";
        case Errc::database:
            return "database";
        case Errc::corrupt:
            return "corrupt";
        case Errc::no_space:
            return "no_space";
        case Errc::too_large:
            return "too_large";
        case Errc::permission:
            return "permission";
        case Errc::unavailable:
            return "unavailable";
        case Errc::internal:
            return "internal";
    }
    return "internal";
}

Error& Error::context(std::string_view where) & {
    message_ = std::string(where) + ": " + message_;
    return *this;
}

Error&& Error::context(std::string_view where) && {
    message_ = std::string(where) + ": " + message_;
    return std::move(*this);
}

std::string Error::to_string() const { return std::string(errc_name(code_)) + ": " + message_; }

void throw_exception_from_error(const Error& error, const boost::source_location&) {
    throw ErrorException(error);
}

}  // namespace fieldlog
