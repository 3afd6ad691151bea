#include "fieldlog/domain/args.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace fieldlog::domain {
namespace {

boost::json::object parse(std::string_view text) { return boost::json::parse(text).as_object(); }

TEST(Args, RejectsUnknownArgumentNamingIt) {
    auto args = parse(R"({"parameter": "COD", "valeu": 3})");
    auto checked = Args::check("measurement.add", args, {"parameter", "value"});
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().message().find("unknown argument 'valeu'"), std::string::npos);
}

TEST(Args, ReportsWrongTypeWithOperationAndKey) {
    auto args = parse(R"({"value": "12"})");
    auto a = Args::check("measurement.add", args, {"value"});
    ASSERT_TRUE(a);
    auto value = a->number("value");
    ASSERT_FALSE(value);
    EXPECT_EQ(value.error().message(), "measurement.add: value: expected a number, got a string");
}

TEST(Args, SaysWhenAnIntegerIsOutOfRange) {
    auto args = parse(R"({"batch_number": 18446744073709551615, "items": 2.5})");
    auto a = Args::check("document.add", args, {"batch_number", "items"});
    ASSERT_TRUE(a);
    auto huge = a->integer("batch_number");
    ASSERT_FALSE(huge);
    EXPECT_EQ(huge.error().message(),
              "document.add: batch_number: integer 18446744073709551615 is out of range");
    auto fraction = a->integer("items");
    ASSERT_FALSE(fraction);
    EXPECT_EQ(fraction.error().message(), "document.add: items: expected an integer, got a number");
}

TEST(Args, TrimsTextAndRequiresNonEmpty) {
    auto args = parse(R"({"name": "  East  ", "empty": "   "})");
    auto a = Args::check("x", args, {"name", "empty"});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->text("name").value(), "East");
    EXPECT_FALSE(a->text("empty"));
    EXPECT_FALSE(a->text("missing"));
}

TEST(Args, ChecksChoicesAndLists) {
    auto args = parse(R"({"method": "guess", "tags": ["drums", 3]})");
    auto a = Args::check("x", args, {"method", "tags"});
    ASSERT_TRUE(a);
    auto method = a->opt_choice("method", {"field", "online", "lab"});
    ASSERT_FALSE(method);
    EXPECT_NE(method.error().message().find("'guess' is not one of field, online, lab"),
              std::string::npos);
    EXPECT_FALSE(a->text_list("tags"));
}

TEST(Args, IdentifierRefusesPathTraversal) {
    EXPECT_TRUE(check_identifier("name", "IMG_0001.jpg"));
    auto traversal = check_identifier("name", "../../etc/passwd");
    ASSERT_FALSE(traversal);
    EXPECT_NE(traversal.error().message().find("path separator"), std::string::npos);
    EXPECT_FALSE(check_identifier("name", ".."));
    EXPECT_FALSE(check_identifier("name", "a b"));
    EXPECT_FALSE(check_identifier("name", ""));
}

}  // namespace
}  // namespace fieldlog::domain
