// An incremental NMEA 0183 parser: raw bytes from a receiver in, what the receiver last reported
// out. Bytes arrive in any split (a sentence across reads, several sentences in one read, noise
// between them), so the parser keeps one bounded line buffer and never allocates.
//
// Every sentence is untrusted (design invariant 7): it is checked whole (framing, checksum,
// talker, field syntax, value ranges) before any of it is applied, so a rejected sentence changes
// nothing but a counter that names the reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fieldlog::gnss {

// Why a sentence was rejected.
enum class NmeaError : std::uint8_t {
    malformed,           // no "*hh" checksum, a control character, a bad address field
    bad_checksum,        // the "*hh" checksum does not match the sentence
    unsupported_talker,  // a talker other than GP, GN, GL, GA, GB or BD
    bad_field,           // a field with the wrong syntax, a missing required field, wrong count
    out_of_range,        // a well-formed value that cannot be true (latitude 91, hour 25, ...)
    too_long,            // more than NmeaParser::kMaxSentenceLength characters
    out_of_sequence,     // a GSV message that does not continue its group; the group is dropped
};
inline constexpr std::size_t kNmeaErrorCount = 7;

// Stable lower-case name of a reason ("bad_checksum"), for status output.
std::string_view nmea_error_name(NmeaError error);

struct NmeaStats {
    std::uint64_t accepted = 0;       // sentences applied to the state
    std::uint64_t ignored = 0;        // well-formed sentences fieldlog has no use for (VTG, $PUBX)
    std::uint64_t garbage_bytes = 0;  // bytes outside any sentence
    std::array<std::uint64_t, kNmeaErrorCount> rejected{};

    std::uint64_t rejected_for(NmeaError error) const {
        return rejected[static_cast<std::size_t>(error)];
    }
    std::uint64_t total_rejected() const;

    bool operator==(const NmeaStats&) const = default;
};

// Constellations as the talker id of GSV names them; GB and BD are both BeiDou.
enum class NmeaTalker : std::uint8_t { gps, glonass, galileo, beidou, combined };
inline constexpr std::size_t kNmeaTalkerCount = 5;

// What the receiver last reported, from accepted sentences only. Angles are degrees (negative
// south and west), times UTC milliseconds.
struct NmeaState {
    // GGA: the position report. gga_sequence counts accepted GGA sentences, so a change tells a
    // caller that a new report arrived even when its values repeat.
    std::uint64_t gga_sequence = 0;
    std::optional<std::int32_t> time_of_day_ms;
    std::optional<double> lat_deg, lon_deg;
    std::optional<double> altitude_m;  // above mean sea level
    int quality = 0;                   // 0 no fix, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR...
    int satellites_used = 0;
    std::optional<double> hdop;

    // RMC: the date, which GGA lacks, and motion.
    std::optional<bool> rmc_active;          // status A (true) or V (void)
    std::optional<std::int64_t> rmc_utc_ms;  // date and time of the latest RMC that had both
    std::optional<double> rmc_lat_deg, rmc_lon_deg;
    std::optional<double> speed_mps;
    std::optional<double> course_deg;  // true course over ground

    // GSA: the solution. NMEA 4.10+ receivers send one GSA per constellation, told apart by the
    // system id (1 GPS, 2 GLONASS, 3 Galileo, 4 BeiDou, 5 QZSS, 6 NavIC); older ones by talker.
    struct UsedSatellites {
        std::array<std::uint16_t, 12> ids{};
        std::uint8_t count = 0;

        bool operator==(const UsedSatellites&) const = default;
    };
    std::optional<int> fix_mode;  // 1 no fix, 2 2D, 3 3D
    std::optional<double> pdop, gsa_hdop, vdop;
    std::array<UsedSatellites, 16> used_by_system{};

    // GSV: satellites in view per constellation and signal (NMEA 4.11 reports each signal of
    // the same satellites as its own group, so a constellation counts its largest group); -1
    // for a group never completed.
    std::array<std::array<std::int16_t, 16>, kNmeaTalkerCount> in_view_by_signal = [] {
        std::array<std::array<std::int16_t, 16>, kNmeaTalkerCount> none{};
        for (auto& talker : none) talker.fill(-1);
        return none;
    }();

    int satellites_in_view() const;
    // Satellite ids listed by the latest GSA of each system.
    int gsa_satellite_count() const;
    // The GGA time of day placed on the date of the latest RMC. Receivers send RMC and GGA in
    // either order, so around midnight the two may straddle a date change: the GGA time is put
    // on whichever day (RMC's, the one before or the one after) lies within 12 hours of the RMC.
    std::optional<std::int64_t> gga_utc_ms() const;

    bool operator==(const NmeaState&) const = default;
};

class NmeaParser {
public:
    // From '$' through the checksum, excluding CR/LF. NMEA allows 82 with CR/LF; real receivers
    // exceed it slightly with NMEA 4.11 fields, so some headroom, but a bound all the same.
    static constexpr std::size_t kMaxSentenceLength = 120;

    // Feeds raw bytes in any split. Returns how many sentences were accepted.
    std::size_t feed(std::string_view bytes);

    const NmeaState& state() const { return state_; }
    const NmeaStats& stats() const { return stats_; }

    // Forgets a partial sentence and everything the receiver reported (a new connection may be a
    // different receiver); the counters carry on.
    void clear_state();

private:
    enum class Mode : std::uint8_t { between, in_sentence, skipping };
    // A GSV group being assembled; applied only once its last message arrives in order.
    struct GsvGroup {
        bool open = false;
        NmeaTalker talker = NmeaTalker::gps;
        std::uint8_t signal = 0;
        int total = 0;
        int last = 0;
        int in_view = 0;
    };

    void end_sentence();
    void reject(NmeaError error);
    void process(std::string_view sentence);
    using Fields = std::span<const std::string_view>;
    void dispatch(std::string_view type, NmeaTalker talker, Fields fields);
    std::optional<NmeaError> apply_gga(Fields f);
    std::optional<NmeaError> apply_rmc(Fields f);
    std::optional<NmeaError> apply_gsa(NmeaTalker talker, Fields f);
    std::optional<NmeaError> apply_gsv(NmeaTalker talker, Fields f);

    std::array<char, kMaxSentenceLength> buffer_{};
    std::size_t length_ = 0;
    Mode mode_ = Mode::between;
    GsvGroup gsv_;
    NmeaState state_;
    NmeaStats stats_;
};

}  // namespace fieldlog::gnss
