#include "fieldlog/cli/format.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace fieldlog::cli {
namespace {

namespace json = boost::json;

json::object object(std::string_view text) { return json::parse(text).as_object(); }

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

const char* exceeding_cod = R"({
    "id": "M-1", "inspection_id": "I-1", "parameter": "COD", "value": 75, "unit": "mg/L",
    "entered_value": 75, "entered_unit": "mg/L", "sampling_point": "outfall-1",
    "method": "field", "lab_sample_id": null, "water_temp_c": null, "limit_min": null,
    "limit_max": 50, "limit_source": "GB18918-2002/1A", "verdict": "exceeds",
    "exceedance_ratio": 0.5, "note": "max 50 mg/L of GB18918-2002/1A",
    "device_time_ms": 1795566600000, "gnss_time_ms": null, "lat": null, "lon": null})";

TEST(FormatHuman, MeasurementShowsExceedanceAsPercentage) {
    std::string text = format_human(
        "measurement.add", object(std::string(R"({"measurement": )") + exceeding_cod + "}"));
    EXPECT_TRUE(contains(text, "measurement M-1")) << text;
    EXPECT_TRUE(contains(text, "75 mg/L")) << text;
    EXPECT_TRUE(contains(text, "<= 50 mg/L (GB18918-2002/1A)")) << text;
    EXPECT_TRUE(contains(text, "exceeds, 50.0% over the limit")) << text;
    EXPECT_TRUE(contains(text, "2026-11-25T00:30:00.000Z")) << text;
    EXPECT_FALSE(contains(text, "lab sample")) << text;
}

TEST(FormatHuman, MeasurementListAlignsReadingsAndComparesFieldWithOnline) {
    std::string reply = std::string(R"({"measurements": [)") + exceeding_cod + R"(,
        {"id": "M-2", "parameter": "pH", "value": 7.25, "unit": "1", "sampling_point": "outfall-1",
         "method": "online", "limit_min": 6, "limit_max": 9, "verdict": "compliant",
         "exceedance_ratio": null, "device_time_ms": 1795566660000}],
        "comparisons": [{"parameter": "COD", "sampling_point": "outfall-1", "unit": "mg/L",
         "field": 40, "online": 52, "difference": 12, "relative_difference": 0.3}]})";
    std::string text = format_human("measurement.list", object(reply));
    EXPECT_EQ(text,
              "measurements\n"
              "TIME                      PARAMETER  VALUE  UNIT  POINT      METHOD  LIMIT   "
              "VERDICT    EXCEEDANCE\n"
              "2026-11-25T00:30:00.000Z  COD           75  mg/L  outfall-1  field   <= 50   "
              "exceeds        +50.0%\n"
              "2026-11-25T00:31:00.000Z  pH          7.25  1     outfall-1  online  6 to 9  "
              "compliant           -\n"
              "\n"
              "field vs online (difference = online - field)\n"
              "PARAMETER  POINT      UNIT  FIELD  ONLINE  DIFFERENCE  RELATIVE\n"
              "COD        outfall-1  mg/L     40      52         +12    +30.0%\n");
}

TEST(FormatHuman, EmptyMeasurementListSaysSo) {
    std::string text = format_human("measurement.list", object(R"({"measurements": []})"));
    EXPECT_EQ(text,
              "measurements: none\n\n"
              "field vs online (difference = online - field): no parameter has both a field and "
              "an online reading\n");
}

TEST(FormatHuman, WideCharactersKeepColumnsAligned) {
    std::string text = format_human("inspection.list", object(R"({"inspections": [
        {"id": "I-2", "started_ms": 1795566600000, "status": "open", "site_name": "东区污水厂",
         "kind": "wastewater_discharge", "inspectors": ["Li", "Wang"]},
        {"id": "I-1", "started_ms": 1793491200000, "status": "closed", "site_name": "Yard 3",
         "kind": "solid_waste_yard", "inspectors": []}]})"));
    EXPECT_EQ(text,
              "ID   STARTED                   STATUS  SITE        KIND                  "
              "INSPECTORS\n"
              "I-2  2026-11-25T00:30:00.000Z  open    东区污水厂  wastewater_discharge  Li, Wang\n"
              "I-1  2026-11-01T00:00:00.000Z  closed  Yard 3      solid_waste_yard      -\n");
}

TEST(FormatHuman, ComplaintSummaryPrintsTheDaemonsLine) {
    std::string text = format_human("complaint.summary", object(R"({
        "total": 11, "in_progress": 1, "forwarded_late": 2,
        "closed": {"total": 2, "substantiated": 1, "partly_substantiated": 0,
                   "not_substantiated": 1},
        "stage_closed": {"total": 8, "substantiated": 3, "partly_substantiated": 4,
                         "not_substantiated": 1},
        "text": "11 complaints: 2 closed (1 substantiated, 1 not), 8 stage-closed (3 substantiated, 4 partly, 1 not), 1 in progress"})"));
    EXPECT_EQ(text,
              "11 complaints: 2 closed (1 substantiated, 1 not), 8 stage-closed (3 substantiated, "
              "4 partly, 1 not), 1 in progress\n"
              "forwarded late: 2\n");
}

TEST(FormatHuman, VerifyReportsChainOrEachProblem) {
    auto good = object(R"({"ok": true, "entries_checked": 120, "records_checked": 87,
                           "head_seq": 120, "problems": []})");
    EXPECT_FALSE(verify_found_problems(good));
    EXPECT_EQ(format_human("verify", good),
              "evidence chain OK: 120 entries, 87 records; head signed at entry 120\n");

    auto bad = object(R"({"ok": false, "entries_checked": 120, "records_checked": 87,
        "head_seq": 120, "problems": [
        {"seq": 17, "kind": "measurement", "record_id": "M-4", "what": "payload hash differs"},
        {"seq": 90, "kind": "photo", "record_id": "P-2", "what": "blob missing"}]})");
    EXPECT_TRUE(verify_found_problems(bad));
    EXPECT_EQ(format_human("verify", bad),
              "seq 17: measurement M-4: payload hash differs\n"
              "seq 90: photo P-2: blob missing\n");

    EXPECT_TRUE(verify_found_problems(object(R"({"problems": []})")));
}

TEST(FormatHuman, VerifyNamesEntriesAfterTheSignedHead) {
    auto all_signed = object(R"({"ok": true, "entries_checked": 120, "records_checked": 87,
                                 "head_seq": 120, "unsigned_entries": 0, "problems": []})");
    EXPECT_EQ(format_human("verify", all_signed),
              "evidence chain OK: 120 entries, 87 records; head signed at entry 120\n");
    auto tail = object(R"({"ok": true, "entries_checked": 120, "records_checked": 87,
                           "head_seq": 117, "unsigned_entries": 3, "problems": []})");
    EXPECT_FALSE(verify_found_problems(tail));
    EXPECT_EQ(format_human("verify", tail),
              "evidence chain OK: 120 entries, 87 records; head signed at entry 117, 3 newer "
              "entries chained to it but not yet signed\n");
    auto one = object(R"({"ok": true, "entries_checked": 5, "records_checked": 4,
                          "head_seq": 4, "unsigned_entries": 1, "problems": []})");
    EXPECT_TRUE(contains(format_human("verify", one), "1 newer entry chained to it"));
}

TEST(FormatHuman, StatusShowsHowFarTheChainHeadIsSigned) {
    auto outbox_line = [](std::string_view outbox) {
        return format_human("status", object(std::string(R"({"device_id": "dev-1", "outbox": )") +
                                             std::string(outbox) + "}"));
    };
    std::string signed_text = outbox_line(
        R"({"pending_entries": 0, "pending_bytes": 0, "head_seq": 41, "signed_head_seq": 41})");
    EXPECT_TRUE(contains(signed_text, "waiting, chain head 41, signed\n")) << signed_text;
    std::string trailing = outbox_line(
        R"({"pending_entries": 2, "pending_bytes": 10, "head_seq": 41, "signed_head_seq": 39})");
    EXPECT_TRUE(contains(trailing,
                         "waiting, chain head 41, signed at 39 (2 newer entries chained, not yet "
                         "signed)\n"))
        << trailing;
    std::string beyond = outbox_line(
        R"({"pending_entries": 0, "pending_bytes": 0, "head_seq": 41, "signed_head_seq": 43})");
    EXPECT_TRUE(contains(beyond, "signed at 43, beyond the chain: run 'fieldlog verify'"))
        << beyond;
    // A daemon that does not report the signed head: the line as it was.
    std::string older =
        outbox_line(R"({"pending_entries": 0, "pending_bytes": 0, "head_seq": 41})");
    EXPECT_TRUE(contains(older, "waiting, chain head 41\n")) << older;
}

TEST(FormatHuman, ControlCharactersFromRecordsNeverReachTheTerminal) {
    std::string text = format_human("logs", object(R"({"entries": [{"id": 1,
        "time_ms": 0, "level": "warning", "event": "gnss", "message": "bad\u001b[31m fix\nagain"}]})"));
    EXPECT_FALSE(contains(text, "\x1b")) << text;
    EXPECT_TRUE(contains(text, "bad [31m fix again")) << text;
}

TEST(FormatHuman, MissingFieldsShowAsDashes) {
    std::string text = format_human("inspection.show", object("{}"));
    EXPECT_TRUE(contains(text, "inspection - (-)")) << text;
    EXPECT_TRUE(contains(text, "photos: none")) << text;
    EXPECT_TRUE(contains(text, "marks: none")) << text;
    EXPECT_EQ(format_human("some.future_op", object(R"({"a": 1})")), "{\"a\":1}\n");
}

TEST(FormatHuman, StatusShowsOutboxAndCounts) {
    std::string text = format_human("status", object(R"({"device_id": "dev-1", "version": "0.1.0",
        "uptime_s": 11520, "schema_version": 3, "data_dir": "/var/lib/fieldlog",
        "database_bytes": 1258291, "open_inspection": null,
        "outbox": {"pending_entries": 3, "pending_bytes": 2048, "head_seq": 41},
        "counts": {"inspections": 3, "measurements": 20, "photos": 5, "complaints": 11,
                   "document_batches": 2, "rectifications": 1}})"));
    EXPECT_TRUE(contains(text, "uptime           3 h 12 min\n")) << text;
    EXPECT_TRUE(contains(text, "database         1.2 MiB, schema 3\n")) << text;
    EXPECT_TRUE(contains(text, "open inspection  none\n")) << text;
    EXPECT_TRUE(contains(text, "outbox           3 entries (2.0 KiB) waiting, chain head 41\n"))
        << text;
    EXPECT_TRUE(contains(text, "20 measurements, 5 photos, 11 complaints, 2 document batches"))
        << text;
}

TEST(FormatHuman, StatusShowsSyncStateAndItsError) {
    std::string text = format_human("status", object(R"({"device_id": "dev-1",
        "sync": {"enabled": true, "state": "backoff", "pending_entries": 3, "pending_bytes": 2048,
                 "parked_entries": 1, "last_success_ms": 1795564800000,
                 "last_error": "HTTP 503 busy", "next_attempt_ms": 1795564860000}})"));
    EXPECT_TRUE(contains(text,
                         "sync             backoff, 3 entries (2.0 KiB) waiting, 1 parked, "
                         "last success 2026-11-25T00:00:00"))
        << text;
    EXPECT_TRUE(contains(text, "next attempt 2026-11-25T00:01:00")) << text;
    EXPECT_TRUE(contains(text, "sync error       HTTP 503 busy\n")) << text;
    std::string off = format_human("status", object(R"({"sync": {"enabled": false,
        "state": "stopped", "last_error": null}})"));
    EXPECT_TRUE(contains(off, "sync             disabled\n")) << off;
    EXPECT_FALSE(contains(off, "sync error")) << off;
    // A daemon from before sync has no such field: no row rather than a row of dashes.
    EXPECT_FALSE(contains(format_human("status", object("{}")), "sync"));
}

TEST(FormatHuman, StatusShowsWhichReferenceDataIsInUse) {
    std::string office = format_human("status", object(R"({"device_id": "dev-1",
        "sync": {"enabled": true, "state": "idle", "last_error": null,
                 "reference_error": "reference data refused: bad hash"},
        "reference": {"source": "office", "version": 3, "sha256": "ab", "published_ms": 1,
                      "applied_ms": 1795564800000, "sites": 8, "standards": 2,
                      "assigned_complaints": 1}})"));
    EXPECT_TRUE(contains(office,
                         "reference data   version 3 from the office, applied "
                         "2026-11-25T00:00:00.000Z: 8 sites, 2 standard classes, 1 assigned "
                         "complaint case\n"))
        << office;
    EXPECT_TRUE(contains(office, "reference error  reference data refused: bad hash\n")) << office;
    std::string files = format_human("status", object(R"({"reference": {"source": "config_files",
        "version": null, "sites": 7, "standards": 2, "assigned_complaints": 0}})"));
    EXPECT_TRUE(contains(files, "config files: 7 sites, 2 standard classes\n")) << files;
    EXPECT_FALSE(contains(format_human("status", object("{}")), "reference"));
}

const char* gpio_status = R"json({"device_id": "dev-1", "gpio": {"enabled": true,
    "backend": "libgpiod", "button": "released", "docked": true,
    "leds": {"status": "slow_blink", "battery": "double_flash"}, "last_error": null,
    "lines": {"button": {"line": "pinctrl-bcm2711:17 (active-low)", "debounce_ms": 30,
                         "long_press_ms": 1500},
              "dock": {"line": "pinctrl-bcm2711:27", "debounce_ms": 250},
              "status_led": {"line": "pinctrl-bcm2711:22"},
              "battery_led": {"line": "pinctrl-bcm2711:23"}},
    "led_timing": {"syncing_blink_ms": 1000, "error_blink_ms": 200, "low_battery_flash_ms": 120,
                   "low_battery_period_ms": 2000}},
    "power": {"enabled": true, "charge": "discharging", "external_power": false,
              "low_battery": true, "battery_percent": 12}})json";

TEST(FormatHuman, StatusShowsGpioStateAndLines) {
    std::string text = format_human("status", object(gpio_status));
    EXPECT_TRUE(contains(text,
                         "gpio             libgpiod: button released, docked, status LED slow "
                         "blink, battery LED double flash\n"))
        << text;
    EXPECT_TRUE(contains(text,
                         "gpio lines       button pinctrl-bcm2711:17 (active-low), debounce 30 "
                         "ms, long press 1500 ms; dock pinctrl-bcm2711:27, debounce 250 ms; "
                         "status LED pinctrl-bcm2711:22; battery LED pinctrl-bcm2711:23; LED "
                         "blinks: syncing 1000 ms, error 200 ms, low battery 120 ms flashes every "
                         "2000 ms\n"))
        << text;
    EXPECT_FALSE(contains(text, "gpio error")) << text;
}

TEST(FormatHuman, StatusShowsGpioErrorAndAbsentGpio) {
    std::string failed = format_human("status", object(R"({"gpio": {"enabled": true,
        "backend": "simulated", "button": null, "docked": false, "leds": {"status": "on",
        "battery": null}, "last_error": "[gpio.status_led] write failed\u001b[2J"}})"));
    EXPECT_TRUE(contains(failed, "gpio             simulated: not docked, status LED on\n"))
        << failed;
    EXPECT_TRUE(contains(failed, "gpio error       [gpio.status_led] write failed [2J\n"))
        << failed;
    EXPECT_TRUE(contains(format_human("status", object(R"({"gpio": {"enabled": false}})")),
                         "gpio             not configured\n"));
    // A daemon from before GPIO: no row rather than a row of dashes.
    EXPECT_FALSE(contains(format_human("status", object("{}")), "gpio"));
}

TEST(FormatHuman, StatusShowsBatteryLevelChargingAndLow) {
    std::string text = format_human("status", object(gpio_status));
    EXPECT_TRUE(contains(text, "battery          12%, discharging, LOW\n")) << text;
    std::string charging = format_human("status", object(R"({"power": {"enabled": true,
        "charge": "charging", "external_power": true, "low_battery": false,
        "battery_percent": 80}})"));
    EXPECT_TRUE(contains(charging, "battery          80%, charging, on external power\n"))
        << charging;
    std::string bench = format_human("status", object(R"({"power": {"enabled": true,
        "charge": "unknown", "external_power": true, "low_battery": false,
        "battery_percent": null}})"));
    EXPECT_TRUE(contains(bench, "battery          no battery, on external power\n")) << bench;
    std::string broken = format_human("status", object(R"({"power": {"enabled": true,
        "error": "power supply directory /sys/class/power_supply does not exist"}})"));
    EXPECT_TRUE(contains(broken, "battery          unreadable\n")) << broken;
    EXPECT_TRUE(contains(broken, "power error      power supply directory")) << broken;
    EXPECT_FALSE(
        contains(format_human("status", object(R"({"power": {"enabled": false}})")), "battery"));
}

TEST(FormatHuman, ComplaintListShowsCasesAssignedByTheOffice) {
    std::string text = format_human("complaint.list", object(R"({"complaints": [],
        "assigned": [{"case_number": "2026-0117", "batch_number": 9, "summary": "Foam",
                      "received_ms": null, "responsible_unit": "", "site_id": "rs-1",
                      "site_name": "Riverside plant"}]})"));
    EXPECT_TRUE(contains(text, "no complaints\n")) << text;
    EXPECT_TRUE(contains(text, "assigned by the office, not yet recorded")) << text;
    EXPECT_TRUE(contains(text, "2026-0117")) << text;
    EXPECT_TRUE(contains(text, "Riverside plant")) << text;
    std::string none = format_human("complaint.list", object(R"({"complaints": []})"));
    EXPECT_FALSE(contains(none, "assigned")) << none;
}

TEST(FormatHuman, ExportSummaryCountsMarks) {
    std::string text = format_human("export", object(R"({"device_id": "dev-1", "from_ms": 0,
        "to_ms": 0, "inspections": [{"measurements": [{}], "photos": [],
        "marks": [{}, {}]}], "complaints": [], "document_batches": [], "rectifications": []})"));
    EXPECT_TRUE(contains(text, "1 inspections, 1 measurements, 0 photos, 2 marks, 0 complaints"))
        << text;
}

TEST(FormatHuman, SyncReplies) {
    EXPECT_EQ(format_human("sync", object(R"({"drained": true, "sync": {"state": "idle"}})")),
              "outbox drained (sync idle)\n");
    EXPECT_EQ(format_human("sync", object(R"({"started": true, "sync": {"state": "syncing"}})")),
              "sync started (syncing)\n");
}

TEST(FormatHuman, SyncProgressLineSaysWhatIsLeft) {
    EXPECT_EQ(sync_progress_line(object(R"({"sync": {"state": "syncing", "pending_entries": 120,
        "pending_bytes": 48211}})")),
              "syncing: 120 records (47.1 KiB) left");
    EXPECT_EQ(sync_progress_line(object(R"({"sync": {"state": "backoff", "pending_entries": 2,
        "pending_bytes": 10, "next_attempt_ms": 1795564800000}})")),
              "syncing: 2 records (10 B) left, retrying at 2026-11-25T00:00:00.000Z");
    EXPECT_EQ(sync_progress_line(object("{}")), "syncing: - records (-) left");
}

TEST(FormatHuman, SiteShowListsLimitsWithThePlantsTheyApplyTo) {
    std::string text = format_human("site.show", object(R"({"site": {"id": "wwtp-east",
        "name": "East Plant", "limits": [{"parameter": "TP", "min": null, "max": 1.0,
        "max_cold": null, "unit": "mg/L", "built_from_ms": null,
        "built_before_ms": 1136073600000, "source": "GB18918-2002/1A"}]}})"));
    EXPECT_TRUE(contains(text,
                         "TP           -    1           -  mg/L  built before 2006-01-01  "
                         "GB18918-2002/1A\n"))
        << text;
}

TEST(JsonText, IndentsAndWritesNumbersShortest) {
    EXPECT_EQ(json_text(json::parse(R"({"a": [1, 2.5, {"b": null}], "c": {}, "d": [],
                                        "e": "say \"hi\"", "f": 32.0415, "g": 7.5e1})")),
              "{\n"
              "  \"a\": [\n"
              "    1,\n"
              "    2.5,\n"
              "    {\n"
              "      \"b\": null\n"
              "    }\n"
              "  ],\n"
              "  \"c\": {},\n"
              "  \"d\": [],\n"
              "  \"e\": \"say \\\"hi\\\"\",\n"
              "  \"f\": 32.0415,\n"
              "  \"g\": 75\n"
              "}\n");
    json::value doubles = json::parse("[0.1, 1e-7, 123456.789, -0.001]");
    EXPECT_EQ(json::parse(json_text(doubles)), doubles);
}

TEST(Csv, QuotesOnlyWhatRfc4180Requires) {
    EXPECT_EQ(csv_field("plain text"), "plain text");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field("line1\nline2"), "\"line1\nline2\"");
    EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
    EXPECT_EQ(csv_field(""), "");
}

TEST(Csv, ExportHasOneSectionPerRecordKind) {
    std::string csv = format_export_csv(object(R"({"device_id": "dev-1", "from_ms": 0,
        "to_ms": 1, "inspections": [{"id": "I-1", "site_id": "S-1", "site_name": "Plant, East",
        "kind": "wastewater_discharge", "inspectors": ["Li", "Wang"], "status": "closed",
        "started_ms": 1795566600000, "closed_ms": null, "notes": "said \"fine\"\nthen left",
        "measurements": [{"id": "M-1", "parameter": "COD", "value": 0.1, "unit": "mg/L",
                          "exceedance_ratio": null}],
        "photos": [],
        "marks": [{"id": "K-1", "inspection_id": "I-1", "label": "gate, north", "source": "button",
                   "device_time_ms": 1795566600000, "gnss_time_ms": null, "lat": 30.5,
                   "lon": 114.25}]}],
        "complaints": [{"case_number": "C-1", "batch_number": 3, "forward_late": true}],
        "document_batches": [], "rectifications": []})"));

    auto section_start = [&](std::string_view header) { return csv.find(header); };
    EXPECT_EQ(csv.rfind("record,id,site_id,site_name,kind,inspectors,status,started_utc,", 0), 0u);
    EXPECT_TRUE(contains(csv,
                         "inspection,I-1,S-1,\"Plant, East\",wastewater_discharge,Li; Wang,"
                         "closed,2026-11-25T00:30:00.000Z,,"))
        << csv;
    EXPECT_TRUE(contains(csv, ",\"said \"\"fine\"\"\nthen left\"\r\n")) << csv;
    EXPECT_TRUE(contains(csv, "\r\n\r\nrecord,id,inspection_id,parameter,value,unit,")) << csv;
    EXPECT_TRUE(contains(csv, "\r\nmeasurement,M-1,,COD,0.1,mg/L,")) << csv;
    EXPECT_TRUE(contains(csv, "\r\n\r\nrecord,id,inspection_id,sha256,size,")) << csv;
    EXPECT_TRUE(contains(csv,
                         "\r\n\r\nrecord,id,inspection_id,label,source,device_time_utc,"
                         "gnss_time_utc,lat,lon\r\n"
                         "mark,K-1,I-1,\"gate, north\",button,2026-11-25T00:30:00.000Z,,30.5,"
                         "114.25\r\n"))
        << csv;
    EXPECT_TRUE(contains(csv, "\r\ncomplaint,C-1,3,,,,true,")) << csv;
    EXPECT_NE(section_start("record,batch_number,items,documents,"), std::string::npos);
    EXPECT_NE(section_start("record,id,problem,inspection_id,"), std::string::npos);
    // Seven sections, six blank lines between them.
    std::size_t blank_lines = 0;
    for (auto at = csv.find("\r\n\r\n"); at != std::string::npos;
         at = csv.find("\r\n\r\n", at + 2)) {
        ++blank_lines;
    }
    EXPECT_EQ(blank_lines, 6u);
}

}  // namespace
}  // namespace fieldlog::cli
