#include "modic/server/logging.hpp"

#include <gtest/gtest.h>

namespace modic::server {
namespace {

TEST(Logging, ControlCharactersAreWrittenOutSoAnEventStaysOneLine) {
    EXPECT_EQ(escape_control_characters("EV\nIL\r\tX"), "EV\\nIL\\r\\tX");
    EXPECT_EQ(escape_control_characters("A\x1b[31mB\x7f"), "A\\x1b[31mB\\x7f");
    EXPECT_EQ(escape_control_characters("Übersicht 1.2.840"), "Übersicht 1.2.840") << "UTF-8 kept";
}

}  // namespace
}  // namespace modic::server
