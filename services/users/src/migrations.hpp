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

// Drops everything in the public schema, then migrates from scratch.
std::vector<std::string> recreate(pqxx::connection& connection);

}  // namespace users
