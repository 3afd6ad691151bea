#include "fieldlog/digest.hpp"

#include <gtest/gtest.h>

namespace fieldlog {
namespace {

TEST(Digest, Sha256MatchesKnownVector) {
    EXPECT_EQ(to_hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, IncrementalHashEqualsOneShot) {
    Sha256Hasher hasher;
    hasher.update("a");
    hasher.update("bc");
    EXPECT_EQ(hasher.finish(), sha256("abc"));
}

TEST(Digest, HexRoundTripsAndRejectsBadText) {
    Sha256 digest = sha256("x");
    Sha256 back{};
    ASSERT_TRUE(from_hex(to_hex(digest), back));
    EXPECT_EQ(back, digest);
    EXPECT_FALSE(from_hex("zz", std::span(back.data(), 1)));
    EXPECT_FALSE(from_hex("abc", std::span(back.data(), 1)));
}

TEST(Digest, UuidsAreVersionFourAndDistinct) {
    std::string a = random_uuid();
    std::string b = random_uuid();
    EXPECT_EQ(a.size(), 36u);
    EXPECT_EQ(a[14], '4');
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace fieldlog
