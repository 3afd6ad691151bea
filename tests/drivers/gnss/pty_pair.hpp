// A pseudo-terminal pair standing in for a GNSS receiver's serial port: the code under test opens
// the slave path as it would /dev/ttyACM0, and the test writes NMEA into the master.
#pragma once

#include <string>
#include <string_view>

#include "fieldlog/files.hpp"

namespace fieldlog::gnss::testing {

class PtyPair {
public:
    // Throws std::runtime_error when the system has no ptys to give.
    PtyPair();

    const std::string& slave_path() const { return slave_path_; }
    // Writes all of bytes into the master; throws on failure.
    void write(std::string_view bytes);
    // Like unplugging the receiver: reads on the slave fail from now on.
    void close_master() { master_.reset(); }

private:
    UniqueFd master_;
    std::string slave_path_;
};

}  // namespace fieldlog::gnss::testing
