#include "fieldlog/config/reference_set.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fieldlog/canonical_json.hpp"
#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "temp_dir.hpp"

namespace fieldlog::config {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr std::string_view standards_text = R"([[class]]
id = "TEST/1"
title = "Test class"
limits = [
    { parameter = "COD", max = 50, unit = "mg/L" },
    { parameter = "NH3-N", max = 5, max_cold = 8, unit = "mg/L" },
    { parameter = "TP", max = 1, unit = "mg/L", built_before = 2006-01-01 },
    { parameter = "TP", max = 0.5, unit = "mg/L", built_from = 2006-01-01 },
    { parameter = "pH", min = 6, max = 9 },
]
)";

constexpr std::string_view sites_text = R"([[site]]
id = "plant-a"
name = "Plant A"
kind = "wastewater_treatment_plant"
lat = 32.04
lon = 120.93
standard = "TEST/1"
built = 2003-09-01

[[site]]
id = "works-b"
name = "Works B"
kind = "industrial_enterprise"
address = "Plot B"
permit = "PERMIT-B"
permit_limits = [ { parameter = "COD", max = 200000, unit = "ug/L" } ]
)";

constexpr std::string_view assignments_text = R"([[complaint]]
case_number = "C-2"
batch_number = 4
summary = "Odour at night"
received = 2026-11-20T09:15:00+08:00
responsible_unit = "District bureau"
site = "works-b"
devices = ["hh-1", "hh-2"]

[[complaint]]
case_number = "C-1"
batch_number = 3
devices = ["hh-2"]
)";

std::vector<SourceFile> good_files() {
    return {{"standards/test.toml", std::string(standards_text)},
            {"sites.toml", std::string(sites_text)},
            {"assignments.toml", std::string(assignments_text)}};
}

std::string message_of(const Result<ReferenceSet>& r) {
    return r ? std::string("(no error)") : r.error().message();
}

TEST(ReferenceFiles, ReadsStandardsSitesAndAssignmentsWhateverTheirOrderAndNames) {
    auto files = good_files();
    std::swap(files[0], files[2]);
    files[1].name = "area-north.toml";
    auto set = parse_reference_files(files);
    ASSERT_TRUE(set) << message_of(set);
    EXPECT_EQ(set->data.standards.size(), 1u);
    ASSERT_EQ(set->data.sites.size(), 2u);
    EXPECT_EQ(set->data.find_site("works-b")->permit_rules.at(0).max, 200);  // ug/L to mg/L
    ASSERT_EQ(set->complaints.size(), 2u);
    EXPECT_EQ(set->complaints[0].case_number, "C-1");  // ordered by case number
    const AssignedComplaint& c2 = set->complaints[1];
    EXPECT_EQ(c2.batch_number, 4);
    EXPECT_EQ(c2.site_id, "works-b");
    EXPECT_EQ(c2.received_ms, 1795137300000);  // 2026-11-20T01:15:00Z
    EXPECT_EQ(c2.devices, (std::vector<std::string>{"hh-1", "hh-2"}));
}

TEST(ReferenceFiles, AnUnknownStandardIsReportedWithFileLineAndKey) {
    auto files = good_files();
    files[1].text.replace(files[1].text.find("TEST/1"), 6, "TEST/9");
    auto set = parse_reference_files(files);
    ASSERT_FALSE(set);
    EXPECT_EQ(set.error().code(), Errc::invalid_argument);
    EXPECT_THAT(set.error().message(),
                HasSubstr("sites.toml:7:1: site.standard: unknown standard class \"TEST/9\""));
}

TEST(ReferenceFiles, WrongTypesAndBadAssignmentsAreEachReported) {
    auto files = good_files();
    files[1].text.replace(files[1].text.find("lat = 32.04"), 11, "lat = \"32\"");
    auto set = parse_reference_files(files);
    ASSERT_FALSE(set);
    EXPECT_THAT(set.error().message(), HasSubstr("sites.toml:5:1: site.lat: expected a number, "
                                                 "got a string"));

    files = good_files();
    files[2].text = R"([[complaint]]
case_number = "C/1"
batch_number = "3"
site = "nowhere"
devices = []
colour = "red"
)";
    set = parse_reference_files(files);
    ASSERT_FALSE(set);
    const std::string message = set.error().message();
    EXPECT_THAT(message, HasSubstr("assignments.toml:3:1: complaint.batch_number: expected an "
                                   "integer from 1 to 100000, got a string"));
    EXPECT_THAT(message, HasSubstr("complaint.case_number: expected 1 to 64"));
    EXPECT_THAT(message, HasSubstr("complaint.site: unknown site \"nowhere\""));
    EXPECT_THAT(message, HasSubstr("complaint.devices: name at least one device"));
    EXPECT_THAT(message, HasSubstr("assignments.toml:6:1: complaint.colour: unknown key"));
}

TEST(ReferenceFiles, FilesThatAreNoneOrTwoOfTheKindsAreRefused) {
    auto files = good_files();
    files.push_back({"notes.toml", "title = \"x\"\n"});
    EXPECT_THAT(message_of(parse_reference_files(files)),
                HasSubstr("notes.toml: holds no [[class]], [[site]] or [[complaint]] tables"));
    files = good_files();
    files.push_back({"mixed.toml", std::string(sites_text) + std::string(assignments_text)});
    EXPECT_THAT(message_of(parse_reference_files(files)), HasSubstr("mixed.toml: mixes"));
    files = good_files();
    files.push_back({"more-sites.toml", std::string(sites_text)});
    EXPECT_THAT(message_of(parse_reference_files(files)),
                HasSubstr("more-sites.toml: a second sites file; the first is sites.toml"));
    files = good_files();
    files.erase(files.begin() + 1);
    EXPECT_THAT(message_of(parse_reference_files(files)), HasSubstr("no sites file"));
    files = good_files();
    files[0].text = "[[class]\n";
    EXPECT_THAT(message_of(parse_reference_files(files)), HasSubstr("standards/test.toml:1:"));
}

TEST(ReferenceFiles, TheShippedFilesArePublishable) {
    auto src = fieldlog::testing::source_dir() / "config";
    auto sites = read_file(src / "sites.toml", max_reference_file_bytes);
    auto standards = read_file(src / "standards" / "gb18918-2002.toml", max_reference_file_bytes);
    ASSERT_TRUE(sites && standards);
    std::vector<SourceFile> files{{"sites.toml", *sites}, {"gb18918-2002.toml", *standards}};
    auto set = parse_reference_files(files);
    ASSERT_TRUE(set) << message_of(set);
    auto loaded = load_reference_data(src / "sites.toml", src / "standards");
    ASSERT_TRUE(loaded);
    EXPECT_EQ(set->data.sites.size(), loaded->sites.size());
    EXPECT_TRUE(set->complaints.empty());
}

TEST(ReferenceSetJson, RoundTripsExactly) {
    auto set = parse_reference_files(good_files());
    ASSERT_TRUE(set);
    std::string text = reference_set_json(*set);
    auto back = parse_reference_set_json(text, true);
    ASSERT_TRUE(back) << message_of(back);
    EXPECT_EQ(reference_set_json(*back), text);
    const Site* a = back->data.find_site("plant-a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->built_ms, set->data.find_site("plant-a")->built_ms);
    EXPECT_EQ(back->data.find_standard("TEST/1")->rules.size(), 5u);
    // A device's copy carries no device lists, and the office's must.
    EXPECT_FALSE(parse_reference_set_json(text, false));
}

TEST(ReferenceSetJson, IsCheckedLikeTheFiles) {
    auto set = parse_reference_files(good_files());
    ASSERT_TRUE(set);
    json::value v = json::parse(reference_set_json(*set));
    v.at("sites").as_array()[0].as_object()["standard"] = "TEST/9";
    auto bad = parse_reference_set_json(json::serialize(v), true);
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message(), HasSubstr("site.standard: unknown standard class"));
    v = json::parse(reference_set_json(*set));
    v.at("standards").as_array()[0].as_object()["limits"].as_array()[0].as_object()["max"] =
        "fifty";
    bad = parse_reference_set_json(json::serialize(v), true);
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message(), HasSubstr("class.limits.max: expected a number"));
}

class Bundle : public ::testing::Test {
protected:
    void SetUp() override {
        auto parsed = parse_reference_files(good_files());
        ASSERT_TRUE(parsed) << message_of(parsed);
        set_ = std::move(*parsed);
        body_ = make_reference_bundle(7, 1795564800000, "hh-1", set_);
    }
    // The bundle with one member changed and its hash made to match again.
    std::string rehashed(const std::function<void(json::object&)>& change) const {
        json::object o = json::parse(body_).as_object();
        change(o);
        o.erase("sha256");
        o["sha256"] = to_hex(sha256(canonical_json(o)));
        return json::serialize(o);
    }
    ReferenceSet set_;
    std::string body_;
};

TEST_F(Bundle, CarriesOnlyTheDevicesOwnCasesAndChecksOut) {
    auto bundle = parse_reference_bundle(body_);
    ASSERT_TRUE(bundle) << bundle.error().message();
    EXPECT_EQ(bundle->version, 7);
    EXPECT_EQ(bundle->published_ms, 1795564800000);
    EXPECT_EQ(bundle->device_id, "hh-1");
    ASSERT_EQ(bundle->set.complaints.size(), 1u);
    EXPECT_EQ(bundle->set.complaints[0].case_number, "C-2");
    EXPECT_TRUE(bundle->set.complaints[0].devices.empty());
    EXPECT_EQ(bundle->set.data.sites.size(), 2u);
    EXPECT_EQ(bundle->sha256.size(), 64u);
    auto other = parse_reference_bundle(make_reference_bundle(7, 0, "hh-2", set_));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->set.complaints.size(), 2u);
}

TEST_F(Bundle, RefusesTruncatedGarbageAlteredAndUnknownForms) {
    auto refused = [](std::string_view body) {
        auto r = parse_reference_bundle(body);
        EXPECT_FALSE(r) << body.substr(0, 80);
        return r ? std::string() : r.error().message();
    };
    EXPECT_THAT(refused(body_.substr(0, body_.size() / 2)), HasSubstr("not valid JSON"));
    EXPECT_THAT(refused("garbage"), HasSubstr("not valid JSON"));
    EXPECT_THAT(refused("[1, 2]"), HasSubstr("not a JSON object"));
    std::string altered = body_;
    altered.replace(altered.find("Plant A"), 7, "Plant Z");
    EXPECT_THAT(refused(altered), HasSubstr("altered or cut short"));
    EXPECT_THAT(refused(rehashed([](json::object& o) { o["format"] = 2; })), HasSubstr("format 2"));
    EXPECT_THAT(refused(rehashed([](json::object& o) { o["extra"] = 1; })),
                HasSubstr("unknown member \"extra\""));
    EXPECT_THAT(refused(rehashed([](json::object& o) { o["version"] = 0; })), HasSubstr("version"));
    // Well hashed, but an entry the device's own checks refuse.
    EXPECT_THAT(refused(rehashed([](json::object& o) {
                    o["sites"].as_array()[0].as_object()["kind"] = "volcano";
                })),
                HasSubstr("site.kind: unknown site kind \"volcano\""));
    EXPECT_THAT(refused(rehashed([](json::object& o) {
                    o["complaints"].as_array()[0].as_object()["devices"] = json::array{"hh-1"};
                })),
                HasSubstr("complaint.devices: unknown key"));
}

}  // namespace
}  // namespace fieldlog::config
