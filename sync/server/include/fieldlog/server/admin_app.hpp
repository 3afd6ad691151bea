// fieldlog-admin behind main(): enrol and revoke devices, list them, read records, device logs,
// summaries and chain checks from a fieldlog-server, as text or (--json) as the server's JSON.
#pragma once

#include <ostream>
#include <span>
#include <string>

namespace fieldlog::server {

// The exit statuses of fieldlog-admin, one per outcome a script may want to branch on.
enum class AdminExit : int {
    ok = 0,
    failure = 1,           // a server error or a reply that is not valid
    usage = 2,             // bad arguments, found before anything was sent
    unreachable = 3,       // no reply: refused, timed out, or TLS verification failed
    not_found = 4,         // no such device or blob
    conflict = 5,          // e.g. the device is already enrolled
    verify_problems = 6,   // `verify` found problems in the stored chain
    invalid_argument = 7,  // the server refused a value
    unauthorized = 8,      // wrong admin token
};

// args excludes the program name. Results go to out, errors to err as
// "fieldlog-admin: <code>: <message>".
int run_admin(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace fieldlog::server
