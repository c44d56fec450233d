#include "modic/server/association_policy.hpp"

#include <gtest/gtest.h>

namespace modic::server {
namespace {

AssociationRules rules() {
    AssociationRules rules;
    rules.called_ae_title = "MODICNODE";
    rules.peers = {{"PACS", "127.0.0.1"}, {"ANYWHERE", ""}};
    rules.max_associations = 3;
    rules.max_per_calling_ae = 2;
    return rules;
}

TEST(AssociationPolicy, CalledAeMustBeTheNodes) {
    AssociationPolicy policy(rules());
    EXPECT_EQ(policy.admit("OTHER", "PACS", "127.0.0.1"), Refusal::CalledAeNotRecognised);
    EXPECT_EQ(policy.admit("MODICNODE  ", "PACS", "127.0.0.1"), std::nullopt) << "padding ignored";
}

TEST(AssociationPolicy, CallingAeMustBeListedFromItsHost) {
    AssociationPolicy policy(rules());
    EXPECT_EQ(policy.admit("MODICNODE", "STRANGER", "127.0.0.1"), Refusal::CallingAeNotRecognised);
    EXPECT_EQ(policy.admit("MODICNODE", "PACS", "10.1.2.3"), Refusal::CallingAeNotRecognised);
    EXPECT_EQ(policy.admit("MODICNODE", "PACS", "::ffff:127.0.0.1"), std::nullopt);
    EXPECT_EQ(policy.admit("MODICNODE", "ANYWHERE", "10.1.2.3"), std::nullopt);
    EXPECT_EQ(policy.admit("MODICNODE", "pacs", "127.0.0.1"), Refusal::CallingAeNotRecognised)
        << "AE titles are case-sensitive";
}

TEST(AssociationPolicy, WildcardAeAllowsAnyTitleFromItsHost) {
    AssociationRules wildcard = rules();
    wildcard.peers = {{"*", "localhost"}};
    AssociationPolicy policy(wildcard);
    EXPECT_EQ(policy.admit("MODICNODE", "WHOEVER", "127.0.0.1"), std::nullopt);
    EXPECT_EQ(policy.admit("MODICNODE", "WHOEVER", "192.0.2.7"), Refusal::CallingAeNotRecognised);
}

TEST(AssociationPolicy, ATitleWithControlCharactersIsNoCallerEvenForAWildcard) {
    AssociationRules any = rules();
    any.peers = {{"*", ""}};
    AssociationPolicy policy(any);
    EXPECT_EQ(policy.admit("MODICNODE", "EV\nIL", "127.0.0.1"), Refusal::CallingAeNotRecognised);
    EXPECT_EQ(policy.admit("MODICNODE", "A\x1b[31mB", "127.0.0.1"), Refusal::CallingAeNotRecognised);
    EXPECT_EQ(policy.admit("MODICNODE", "BACK\\SLASH", "127.0.0.1"), Refusal::CallingAeNotRecognised);
    EXPECT_EQ(policy.admit("MODICNODE", "PLAIN SCU", "127.0.0.1"), std::nullopt);
}

TEST(AssociationPolicy, LimitsPerCallerAndInTotalAndReleases) {
    AssociationPolicy policy(rules());
    EXPECT_EQ(policy.admit("MODICNODE", "PACS", "127.0.0.1"), std::nullopt);
    EXPECT_EQ(policy.admit("MODICNODE", "PACS", "127.0.0.1"), std::nullopt);
    EXPECT_EQ(policy.admit("MODICNODE", "PACS", "127.0.0.1"), Refusal::TooManyAssociations);
    EXPECT_EQ(policy.admit("MODICNODE", "ANYWHERE", "127.0.0.1"), std::nullopt);
    EXPECT_EQ(policy.admit("MODICNODE", "ANYWHERE", "127.0.0.1"), Refusal::TooManyAssociations)
        << "three open in total";
    EXPECT_EQ(policy.open_associations(), 3u);
    policy.release("PACS");
    EXPECT_EQ(policy.admit("MODICNODE", "ANYWHERE", "127.0.0.1"), std::nullopt);
    policy.release("NEVER-ADMITTED");
    EXPECT_EQ(policy.open_associations(), 3u);
}

}  // namespace
}  // namespace modic::server
