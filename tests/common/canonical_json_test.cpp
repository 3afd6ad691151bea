#include "fieldlog/canonical_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace fieldlog {
namespace {

TEST(CanonicalJson, SortsKeysAtEveryDepthAndDropsWhiteSpace) {
    auto a = boost::json::parse(R"({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}})");
    EXPECT_EQ(canonical_json(a), R"({"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1})");
}

TEST(CanonicalJson, SameValueBuiltInAnotherOrderGivesSameBytes) {
    boost::json::object one{{"value", 12.5}, {"unit", "mg/L"}};
    boost::json::object two{{"unit", "mg/L"}, {"value", 12.5}};
    EXPECT_EQ(canonical_json(one), canonical_json(two));
}

TEST(CanonicalJson, EscapesStrings) {
    boost::json::value v = boost::json::string("quote\" and\nnewline");
    EXPECT_EQ(canonical_json(v), R"("quote\" and\nnewline")");
}

}  // namespace
}  // namespace fieldlog
