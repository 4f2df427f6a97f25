// Forward-only schema migrations (db/migrations/NNNN_name.sql, embedded at
// build time), recorded in schema_migrations.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace users {

// Applies the migrations not applied yet, in order, in one transaction (all
// or nothing); returns the names applied. Safe to run concurrently (an
// advisory lock serialises migrators).
std::vector<std::string> migrate(pqxx::connection& connection);

// Least privilege: lets `role` (the service's login role) read and write
// every table and use every sequence in the public schema, nothing more (no
// CREATE, no DROP, no ALTER: the tables stay the migrator's). Run after
// migrate() by `manage migrate` when DATABASE_APP_ROLE names the role.
// Throws when the role does not exist.
void grant_app_role(pqxx::connection& connection, const std::string& role);

// Drops everything in the public schema, then migrates from scratch.
std::vector<std::string> recreate(pqxx::connection& connection);

}  // namespace users
