#include "receiver.hpp"

#include <utility>

namespace fieldlog::gnss::detail {

namespace {

// GGA qualities that are satellite positions. 6 (dead reckoning), 7 (manual input) and
// 8 (simulator) are not, and evidence must not claim they are.
bool is_satellite_fix(int quality) { return quality >= 1 && quality <= 5; }

}  // namespace

void NmeaReceiver::feed(std::string_view bytes, TimePoint now) {
    std::lock_guard lock(mutex_);
    bytes_received_ += bytes.size();
    if (parser_.feed(bytes) > 0) last_sentence_ = now;
    if (parser_.state().gga_sequence != gga_sequence_) {
        gga_sequence_ = parser_.state().gga_sequence;
        gga_received_ = now;
    }
}

void NmeaReceiver::connected() {
    std::lock_guard lock(mutex_);
    parser_.clear_state();
    gga_sequence_ = 0;
    gga_received_.reset();
    connected_ = true;
}

void NmeaReceiver::disconnected() {
    std::lock_guard lock(mutex_);
    connected_ = false;
}

void NmeaReceiver::io_error(std::string message) {
    std::lock_guard lock(mutex_);
    connected_ = false;
    ++io_errors_;
    last_error_ = std::move(message);
}

FixState NmeaReceiver::evaluate(TimePoint now, std::optional<GnssFix>* fix) const {
    const NmeaState& state = parser_.state();
    if (!gga_received_) {
        return last_sentence_ ? FixState::no_fix : FixState::no_data;
    }
    if (now - *gga_received_ > options_.max_fix_age) return FixState::stale;
    if (!is_satellite_fix(state.quality) || !state.lat_deg || !state.lon_deg) {
        return FixState::no_fix;
    }
    auto time = state.gga_utc_ms();
    if (!time) return FixState::no_date;
    // GGA's HDOP belongs to the same solution as its position; GSA's is the fallback.
    std::optional<double> hdop = state.hdop ? state.hdop : state.gsa_hdop;
    if ((hdop && *hdop > options_.max_hdop) || state.satellites_used < options_.min_satellites) {
        return FixState::poor;
    }
    *fix = GnssFix{*state.lat_deg, *state.lon_deg,        state.altitude_m,
                   state.quality,  state.satellites_used, hdop,
                   *time,          *gga_received_};
    return FixState::fix;
}

std::optional<GnssFix> NmeaReceiver::current_fix(TimePoint now) const {
    std::lock_guard lock(mutex_);
    std::optional<GnssFix> fix;
    evaluate(now, &fix);
    return fix;
}

GnssStatus NmeaReceiver::status(TimePoint now) const {
    std::lock_guard lock(mutex_);
    const NmeaState& state = parser_.state();
    GnssStatus status;
    std::optional<GnssFix> fix;
    status.fix_state = evaluate(now, &fix);
    status.connected = connected_;
    status.quality = state.quality;
    status.fix_mode = state.fix_mode;
    status.satellites_used = state.satellites_used;
    status.satellites_in_view = state.satellites_in_view();
    status.hdop = state.hdop ? state.hdop : state.gsa_hdop;
    status.pdop = state.pdop;
    status.vdop = state.vdop;
    status.gnss_time_ms = state.gga_utc_ms();
    status.last_sentence = last_sentence_;
    status.bytes_received = bytes_received_;
    status.nmea = parser_.stats();
    status.io_errors = io_errors_;
    status.last_error = last_error_;
    return status;
}

}  // namespace fieldlog::gnss::detail
