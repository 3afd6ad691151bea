#include "fieldlog/digest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace fieldlog {
namespace {

TEST(Digest, Sha256MatchesKnownVector) {
    EXPECT_EQ(to_hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, Sha256ReusesNothingFromTheCallBefore) {
    // The per-thread context is reset by every call: a long input and then a short one hash
    // as each does alone.
    std::string long_input(100'000, 'x');
    Sha256 long_digest = sha256(long_input);
    EXPECT_EQ(to_hex(sha256("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256(long_input), long_digest);
    EXPECT_EQ(to_hex(sha256(std::span<const std::uint8_t>())),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, Sha256AgreesAcrossThreads) {
    const Sha256 expected = sha256("abc");
    std::vector<Sha256> seen(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        threads.emplace_back([&seen, i] {
            for (int n = 0; n < 100; ++n) seen[i] = sha256("abc");
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& digest : seen) EXPECT_EQ(digest, expected);
}

TEST(Digest, IncrementalHashEqualsOneShot) {
    Sha256Hasher hasher;
    hasher.update("a");
    hasher.update("bc");
    EXPECT_EQ(hasher.finish(), sha256("abc"));
    hasher.update("abc");  // finish starts the next digest
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
