#include "target_command.hpp"

#include <cstdlib>
#include <sstream>
#include <utility>

namespace fieldlog::testing {

std::vector<std::string> test_emulator() {
    const char* env = std::getenv("FIELDLOG_TEST_EMULATOR");
    std::istringstream words(env != nullptr ? env : FIELDLOG_DEFAULT_TEST_EMULATOR);
    std::vector<std::string> emulator;
    std::string word;
    // Bounded by the input: each pass consumes one word.
    while (words >> word) {
        emulator.push_back(std::move(word));
    }
    return emulator;
}

std::vector<std::string> target_command(std::vector<std::string> argv) {
    std::vector<std::string> command = test_emulator();
    command.insert(command.end(), std::make_move_iterator(argv.begin()),
                   std::make_move_iterator(argv.end()));
    return command;
}

}  // namespace fieldlog::testing
