#include "fieldlog/gnss/nmea_parser.hpp"

#include <algorithm>

#include "nmea_fields.hpp"

namespace fieldlog::gnss {

namespace {

using detail::read_date;
using detail::read_decimal;
using detail::read_hex_digit;
using detail::read_latitude;
using detail::read_longitude;
using detail::read_time_of_day;
using detail::read_unsigned;

// The most fields a sentence fieldlog reads can have (GSV: address, 3, 4 x 4, signal id).
constexpr std::size_t kMaxFields = 24;
constexpr double kMpsPerKnot = 1852.0 / 3600.0;

std::optional<NmeaTalker> talker_of(std::string_view id) {
    if (id == "GP") return NmeaTalker::gps;
    if (id == "GL") return NmeaTalker::glonass;
    if (id == "GA") return NmeaTalker::galileo;
    if (id == "GB" || id == "BD") return NmeaTalker::beidou;
    if (id == "GN") return NmeaTalker::combined;
    return std::nullopt;
}

// NMEA 4.10 system ids, for GSA sentences that carry none.
std::uint8_t system_id_of(NmeaTalker talker) {
    switch (talker) {
        case NmeaTalker::gps:
            return 1;
        case NmeaTalker::glonass:
            return 2;
        case NmeaTalker::galileo:
            return 3;
        case NmeaTalker::beidou:
            return 4;
        case NmeaTalker::combined:
            return 0;
    }
    return 0;
}

std::optional<std::uint8_t> hex_value(char c) {
    auto digit = read_hex_digit(std::string_view(&c, 1));
    if (!digit) return std::nullopt;
    return *digit;
}

bool is_address_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A decimal field that may be empty; a value must lie in [low, high].
std::optional<NmeaError> read_optional(std::string_view field, double low, double high,
                                       std::optional<double>& out) {
    out.reset();
    if (field.empty()) return std::nullopt;
    auto value = read_decimal(field, low < 0);
    if (!value) return value.error();
    if (*value < low || *value > high) return NmeaError::out_of_range;
    out = *value;
    return std::nullopt;
}

// Latitude and longitude as the four fields lat, N/S, lon, E/W; all four empty is "none".
std::optional<NmeaError> read_position(std::span<const std::string_view> f,
                                       std::optional<double>& lat, std::optional<double>& lon) {
    lat.reset();
    lon.reset();
    if (f[0].empty() && f[1].empty() && f[2].empty() && f[3].empty()) return std::nullopt;
    auto latitude = read_latitude(f[0], f[1]);
    if (!latitude) return latitude.error();
    auto longitude = read_longitude(f[2], f[3]);
    if (!longitude) return longitude.error();
    lat = *latitude;
    lon = *longitude;
    return std::nullopt;
}

// DOP 0 is what some receivers send for "unknown"; it would pass any HDOP limit.
std::optional<double> known_dop(std::optional<double> dop) {
    if (dop && *dop <= 0.0) return std::nullopt;
    return dop;
}

}  // namespace

std::string_view nmea_error_name(NmeaError error) {
    switch (error) {
        case NmeaError::malformed:
            return "malformed";
        case NmeaError::bad_checksum:
            return "bad_checksum";
        case NmeaError::unsupported_talker:
            return "unsupported_talker";
        case NmeaError::bad_field:
            return "bad_field";
        case NmeaError::out_of_range:
            return "out_of_range";
        case NmeaError::too_long:
            return "too_long";
        case NmeaError::out_of_sequence:
            return "out_of_sequence";
    }
    return "malformed";
}

std::uint64_t NmeaStats::total_rejected() const {
    std::uint64_t total = 0;
    for (auto count : rejected) total += count;
    return total;
}

int NmeaState::satellites_in_view() const {
    int total = 0;
    for (const auto& signals : in_view_by_signal) {
        total += std::max<int>(0, *std::max_element(signals.begin(), signals.end()));
    }
    return total;
}

int NmeaState::gsa_satellite_count() const {
    int total = 0;
    for (const auto& system : used_by_system) total += system.count;
    return total;
}

std::optional<std::int64_t> NmeaState::gga_utc_ms() const {
    if (!time_of_day_ms || !rmc_utc_ms) return std::nullopt;
    constexpr std::int64_t kHalfDay = detail::kMsPerDay / 2;
    // RMC dates start in 1980, so the division needs no care for negative times.
    std::int64_t day_start = *rmc_utc_ms / detail::kMsPerDay * detail::kMsPerDay;
    std::int64_t rmc_time_of_day = *rmc_utc_ms - day_start;
    std::int64_t time = day_start + *time_of_day_ms;
    if (*time_of_day_ms - rmc_time_of_day > kHalfDay) {
        time -= detail::kMsPerDay;  // a late GGA from before midnight, after the new day's RMC
    } else if (rmc_time_of_day - *time_of_day_ms > kHalfDay) {
        time += detail::kMsPerDay;  // past midnight, before the new day's RMC
    }
    return time;
}

std::size_t NmeaParser::feed(std::string_view bytes) {
    const std::uint64_t accepted_before = stats_.accepted;
    for (char c : bytes) {
        if (c == '$') {
            // A '$' always starts a sentence: a line that lost its end to noise must not swallow
            // the next one. The one before counts only when it is complete up to its checksum.
            if (mode_ == Mode::in_sentence) end_sentence();
            buffer_[0] = c;
            length_ = 1;
            mode_ = Mode::in_sentence;
        } else if (c == '\r' || c == '\n') {
            if (mode_ == Mode::in_sentence) end_sentence();
            mode_ = Mode::between;
        } else if (mode_ == Mode::between) {
            ++stats_.garbage_bytes;
        } else if (mode_ == Mode::in_sentence) {
            if (c < 0x20 || c > 0x7E) {
                reject(NmeaError::malformed);
                mode_ = Mode::skipping;
            } else if (length_ == buffer_.size()) {
                reject(NmeaError::too_long);
                mode_ = Mode::skipping;
            } else {
                buffer_[length_++] = c;
            }
        }
        // Mode::skipping: the rest of a line already counted as rejected.
    }
    return static_cast<std::size_t>(stats_.accepted - accepted_before);
}

void NmeaParser::clear_state() {
    length_ = 0;
    mode_ = Mode::between;
    gsv_ = GsvGroup{};
    state_ = NmeaState{};
}

void NmeaParser::reject(NmeaError error) { ++stats_.rejected[static_cast<std::size_t>(error)]; }

void NmeaParser::end_sentence() {
    process(std::string_view(buffer_.data(), length_));
    length_ = 0;
    mode_ = Mode::between;
}

void NmeaParser::process(std::string_view sentence) {
    // "$" body "*" hh
    if (sentence.size() < 4 || sentence[sentence.size() - 3] != '*') {
        return reject(NmeaError::malformed);
    }
    auto high = hex_value(sentence[sentence.size() - 2]);
    auto low = hex_value(sentence[sentence.size() - 1]);
    if (!high || !low) return reject(NmeaError::malformed);
    std::string_view body = sentence.substr(1, sentence.size() - 4);
    std::uint8_t sum = 0;
    for (char c : body) sum = static_cast<std::uint8_t>(sum ^ static_cast<std::uint8_t>(c));
    if (sum != ((*high << 4) | *low)) return reject(NmeaError::bad_checksum);
    if (body.find('*') != std::string_view::npos) return reject(NmeaError::malformed);

    std::array<std::string_view, kMaxFields> fields;
    std::size_t count = 0;
    bool too_many = false;
    std::size_t start = 0;
    while (true) {
        std::size_t comma = body.find(',', start);
        std::string_view field = body.substr(start, comma - start);
        if (count < fields.size()) {
            fields[count++] = field;
        } else {
            too_many = true;
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }

    std::string_view address = fields[0];
    if (address.empty()) return reject(NmeaError::malformed);
    if (address[0] == 'P') {
        ++stats_.ignored;  // proprietary ($PUBX, $PMTK): valid, but not ours to read
        return;
    }
    if (address.size() != 5 || !std::all_of(address.begin(), address.end(), is_address_char)) {
        return reject(NmeaError::malformed);
    }
    auto talker = talker_of(address.substr(0, 2));
    if (!talker) return reject(NmeaError::unsupported_talker);
    std::string_view type = address.substr(2);
    if (type != "GGA" && type != "RMC" && type != "GSA" && type != "GSV") {
        ++stats_.ignored;  // VTG, GLL, ZDA, TXT, ...
        return;
    }
    if (too_many) return reject(NmeaError::bad_field);
    dispatch(type, *talker, std::span(fields.data(), count));
}

void NmeaParser::dispatch(std::string_view type, NmeaTalker talker, Fields fields) {
    std::optional<NmeaError> error;
    if (type == "GGA") {
        error = apply_gga(fields);
    } else if (type == "RMC") {
        error = apply_rmc(fields);
    } else if (type == "GSA") {
        error = apply_gsa(talker, fields);
    } else {
        error = apply_gsv(talker, fields);
    }
    if (error) return reject(*error);
    ++stats_.accepted;
}

// $--GGA,hhmmss.ss,llll.ll,a,yyyyy.yy,a,q,nn,h.h,a.a,M,g.g,M,age,station
std::optional<NmeaError> NmeaParser::apply_gga(Fields f) {
    const std::size_t count = f.size();
    if (count != 15) return NmeaError::bad_field;
    auto quality = read_unsigned(f[6], 1);
    if (!quality) return quality.error();
    if (*quality > 8) return NmeaError::out_of_range;
    std::optional<std::int32_t> time;
    if (!f[1].empty()) {
        auto parsed = read_time_of_day(f[1]);
        if (!parsed) return parsed.error();
        time = *parsed;
    }
    std::optional<double> lat, lon;
    if (auto error = read_position(f.subspan(2, 4), lat, lon)) return error;
    // A receiver reporting any kind of position must say where and when.
    if (*quality != 0 && (!time || !lat)) return NmeaError::bad_field;
    int satellites = 0;
    if (!f[7].empty()) {
        auto parsed = read_unsigned(f[7], 3);
        if (!parsed) return parsed.error();
        if (*parsed > 99) return NmeaError::out_of_range;
        satellites = static_cast<int>(*parsed);
    }
    std::optional<double> hdop, altitude, geoid, age;
    if (auto error = read_optional(f[8], 0.0, 100.0, hdop)) return error;
    if (auto error = read_optional(f[9], -1000.0, 50000.0, altitude)) return error;
    if (altitude ? f[10] != "M" : !(f[10].empty() || f[10] == "M")) return NmeaError::bad_field;
    if (auto error = read_optional(f[11], -200.0, 200.0, geoid)) return error;
    if (geoid ? f[12] != "M" : !(f[12].empty() || f[12] == "M")) return NmeaError::bad_field;
    if (auto error = read_optional(f[13], 0.0, 9999.0, age)) return error;
    if (!f[14].empty()) {
        auto station = read_unsigned(f[14], 4);
        if (!station) return station.error();
        if (*station > 1023) return NmeaError::out_of_range;
    }

    ++state_.gga_sequence;
    state_.time_of_day_ms = time;
    state_.lat_deg = lat;
    state_.lon_deg = lon;
    state_.altitude_m = altitude;
    state_.quality = static_cast<int>(*quality);
    state_.satellites_used = satellites;
    state_.hdop = known_dop(hdop);
    return std::nullopt;
}

// $--RMC,hhmmss.ss,A,llll.ll,a,yyyyy.yy,a,knots,course,ddmmyy,var,E[,mode[,nav status]]
std::optional<NmeaError> NmeaParser::apply_rmc(Fields f) {
    const std::size_t count = f.size();
    if (count < 12 || count > 14) return NmeaError::bad_field;
    if (f[2] != "A" && f[2] != "V") return NmeaError::bad_field;
    const bool active = f[2] == "A";
    std::optional<std::int32_t> time;
    if (!f[1].empty()) {
        auto parsed = read_time_of_day(f[1]);
        if (!parsed) return parsed.error();
        time = *parsed;
    }
    std::optional<std::int64_t> date;
    if (!f[9].empty()) {
        auto parsed = read_date(f[9]);
        if (!parsed) return parsed.error();
        date = *parsed;
    }
    std::optional<double> lat, lon;
    if (auto error = read_position(f.subspan(3, 4), lat, lon)) return error;
    if (active && (!time || !date || !lat)) return NmeaError::bad_field;
    std::optional<double> knots, course, variation;
    // 1000 knots is beyond anything an inspector rides in; more is a corrupt field.
    if (auto error = read_optional(f[7], 0.0, 1000.0, knots)) return error;
    if (auto error = read_optional(f[8], 0.0, 360.0, course)) return error;
    if (auto error = read_optional(f[10], 0.0, 180.0, variation)) return error;
    if (!f[11].empty() && f[11] != "E" && f[11] != "W") return NmeaError::bad_field;
    if (count >= 13 && f[12].size() > 1) return NmeaError::bad_field;
    if (count >= 13 && f[12].size() == 1 &&
        std::string_view("ADEFMNPRS").find(f[12][0]) == std::string_view::npos) {
        return NmeaError::bad_field;
    }
    if (count == 14 &&
        !(f[13].empty() || f[13] == "S" || f[13] == "C" || f[13] == "U" || f[13] == "V")) {
        return NmeaError::bad_field;
    }

    state_.rmc_active = active;
    // A sentence without a date keeps the date already known; GGA needs one to be placed.
    if (time && date) state_.rmc_utc_ms = *date + *time;
    state_.rmc_lat_deg = lat;
    state_.rmc_lon_deg = lon;
    state_.speed_mps = knots ? std::optional<double>(*knots * kMpsPerKnot) : std::nullopt;
    state_.course_deg = course;
    return std::nullopt;
}

// $--GSA,A,3,id x 12,pdop,hdop,vdop[,system id]
std::optional<NmeaError> NmeaParser::apply_gsa(NmeaTalker talker, Fields f) {
    const std::size_t count = f.size();
    if (count != 18 && count != 19) return NmeaError::bad_field;
    if (f[1] != "A" && f[1] != "M") return NmeaError::bad_field;
    auto mode = read_unsigned(f[2], 1);
    if (!mode) return mode.error();
    if (*mode < 1 || *mode > 3) return NmeaError::out_of_range;
    NmeaState::UsedSatellites used;
    for (std::size_t i = 3; i < 15; ++i) {
        if (f[i].empty()) continue;
        auto id = read_unsigned(f[i], 3);
        if (!id) return id.error();
        if (*id == 0) return NmeaError::out_of_range;
        used.ids[used.count++] = static_cast<std::uint16_t>(*id);
    }
    std::optional<double> pdop, hdop, vdop;
    if (auto error = read_optional(f[15], 0.0, 100.0, pdop)) return error;
    if (auto error = read_optional(f[16], 0.0, 100.0, hdop)) return error;
    if (auto error = read_optional(f[17], 0.0, 100.0, vdop)) return error;
    std::uint8_t system = system_id_of(talker);
    if (count == 19 && !f[18].empty()) {
        auto id = read_hex_digit(f[18]);
        if (!id) return id.error();
        system = *id;
    }

    state_.fix_mode = static_cast<int>(*mode);
    state_.pdop = known_dop(pdop);
    state_.gsa_hdop = known_dop(hdop);
    state_.vdop = known_dop(vdop);
    state_.used_by_system[system] = used;
    return std::nullopt;
}

// $--GSV,total,number,in view,(id,elevation,azimuth,snr) x 0..4[,signal id]
std::optional<NmeaError> NmeaParser::apply_gsv(NmeaTalker talker, Fields f) {
    const std::size_t count = f.size();
    if (count < 4) return NmeaError::bad_field;
    const std::size_t blocks = (count - 4) / 4;
    const std::size_t extra = (count - 4) % 4;
    if (blocks > 4 || extra > 1) return NmeaError::bad_field;
    auto total = read_unsigned(f[1], 2);
    if (!total) return total.error();
    auto number = read_unsigned(f[2], 2);
    if (!number) return number.error();
    auto in_view = read_unsigned(f[3], 3);
    if (!in_view) return in_view.error();
    if (*total < 1 || *number < 1 || *number > *total || *in_view > 99) {
        return NmeaError::out_of_range;
    }
    for (std::size_t b = 0; b < blocks; ++b) {
        auto block = f.subspan(4 + 4 * b, 4);
        if (block[0].empty() && block[1].empty() && block[2].empty() && block[3].empty()) {
            continue;  // padding some receivers send in a group's last message
        }
        auto id = read_unsigned(block[0], 3);
        if (!id) return id.error();
        if (*id == 0) return NmeaError::out_of_range;
        std::optional<double> elevation, azimuth, snr;
        if (auto error = read_optional(block[1], -90.0, 90.0, elevation)) return error;
        if (auto error = read_optional(block[2], 0.0, 360.0, azimuth)) return error;
        if (auto error = read_optional(block[3], 0.0, 99.0, snr)) return error;
    }
    std::uint8_t signal = 0;
    if (extra == 1 && !f[count - 1].empty()) {
        auto id = read_hex_digit(f[count - 1]);
        if (!id) return id.error();
        signal = *id;
    }

    const int total_messages = static_cast<int>(*total);
    const int message = static_cast<int>(*number);
    const int satellites = static_cast<int>(*in_view);
    if (message == 1) {
        if (gsv_.open) reject(NmeaError::out_of_sequence);  // the group left unfinished
        gsv_ = GsvGroup{true, talker, signal, total_messages, 1, satellites};
    } else {
        const bool continues = gsv_.open && gsv_.talker == talker && gsv_.signal == signal &&
                               gsv_.total == total_messages && gsv_.in_view == satellites &&
                               gsv_.last + 1 == message;
        if (!continues) {
            gsv_.open = false;
            return NmeaError::out_of_sequence;
        }
        gsv_.last = message;
    }
    if (message == total_messages) {
        state_.in_view_by_signal[static_cast<std::size_t>(talker)][signal] =
            static_cast<std::int16_t>(satellites);
        gsv_.open = false;
    }
    return std::nullopt;
}

}  // namespace fieldlog::gnss
