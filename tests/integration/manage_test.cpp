// The real manage binary (and users-service's start-up checks): migrate,
// seed_db and recreate_db on a real PostgreSQL, and configuration or
// connection failures as a clear message and a non-zero exit code.
#include <algorithm>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "binaries_fixture.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace {

using binaries::execute;
using binaries::Result;
using binaries::run;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

long long count(const std::string& sql) {
  return execute(sql)[0][0].as<long long>();
}

Result manage(const std::string& args) {
  return run("env -i APP_ENV=testing DATABASE_TEST_URL='" + binaries::database_url() + "' " +
             MANAGE_PATH + " " + args);
}

void drop_schema() {
  execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
}

long long table_count(const std::string& name) {
  return count(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
      "AND table_name = '" +
      name + "'");
}

class Manage : public ::testing::Test {};

TEST_F(Manage, MigrateTwice_FirstAppliesSecondSaysUpToDate) {
  drop_schema();
  auto first = manage("migrate");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "applied 0001_create_users.sql")) << first.output;
  EXPECT_EQ(table_count("users"), 1);
  long long migrations = count("SELECT count(*) FROM schema_migrations");
  EXPECT_GE(migrations, 1);

  auto second = manage("migrate");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(contains(second.output, "up to date")) << second.output;
  EXPECT_FALSE(contains(second.output, "applied")) << second.output;
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), migrations);
}

TEST_F(Manage, MigrateConcurrently_BothSucceedSchemaAppliedOnce) {
  drop_schema();
  auto a = std::async(std::launch::async, [] { return manage("migrate"); });
  auto b = std::async(std::launch::async, [] { return manage("migrate"); });
  auto first = a.get();
  auto second = b.get();
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations WHERE version = "
                  "'0001_create_users.sql'"),
            1);
}

TEST_F(Manage, SeedDbTwice_StillExactlyTheTwoSeedUsers) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  auto first = manage("seed_db");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = manage("seed_db");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  std::set<std::string> emails;
  for (const auto& row : execute("SELECT email FROM users"))
    emails.insert(row[0].as<std::string>());
  EXPECT_EQ(emails, (std::set<std::string>{"michael@realpython.com", "michael@mherman.org"}));
  EXPECT_EQ(count("SELECT count(*) FROM users"), 2);
}

TEST_F(Manage, RecreateDb_EmptiesUsersAndKeepsSchema) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  ASSERT_EQ(count("SELECT count(*) FROM users"), 2);
  long long migrations = count("SELECT count(*) FROM schema_migrations");

  auto result = manage("recreate_db");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(table_count("users"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM users"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), migrations);
  EXPECT_EQ(count("SELECT count(*) FROM pg_indexes WHERE tablename = 'users' AND indexname = "
                  "'users_email_lower_key'"),
            1);
  auto again = manage("migrate");
  EXPECT_TRUE(contains(again.output, "up to date")) << again.output;
  // Ids start over.
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  EXPECT_EQ(count("SELECT min(id) FROM users"), 1);
}

TEST_F(Manage, RecreateDbInProduction_RefusedWithoutForce) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  const std::string production = "env -i APP_ENV=production SECRET_KEY=" + std::string(32, 'k') +
                                 " DATABASE_URL='" + binaries::database_url() + "' ";
  // Unset APP_ENV is production too.
  const std::string unset = "env -i SECRET_KEY=" + std::string(32, 'k') + " DATABASE_URL='" +
                            binaries::database_url() + "' ";
  for (const auto& env : {production, unset}) {
    auto refused = run(env + MANAGE_PATH " recreate_db");
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_TRUE(contains(refused.output, "--force")) << refused.output;
    EXPECT_EQ(count("SELECT count(*) FROM users"), 2);
  }
  auto forced = run(production + MANAGE_PATH " recreate_db --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(count("SELECT count(*) FROM users"), 0);
}

TEST_F(Manage, MissingDatabaseTestUrl_Exits2WithOneLineError) {
  auto result = run("env -i APP_ENV=testing " MANAGE_PATH " migrate");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "DATABASE_TEST_URL")) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

TEST_F(Manage, UnreachableDatabase_ExitsNonZeroWithClearMessageWithoutPassword) {
  const std::string url =
      "postgresql://bob:hunter2@127.0.0.1:" + std::to_string(support::free_port()) + "/users_test";
  for (const char* command : {"migrate", "recreate_db", "seed_db"}) {
    SCOPED_TRACE(command);
    auto result =
        run("env -i APP_ENV=testing DATABASE_TEST_URL='" + url + "' " MANAGE_PATH " " + command);
    EXPECT_NE(result.exit_code, 0) << result.output;
    EXPECT_TRUE(contains(result.output, "manage: ")) << result.output;
    EXPECT_TRUE(contains(result.output, "onnection refused") ||
                contains(result.output, "Database unavailable"))
        << result.output;
    EXPECT_FALSE(contains(result.output, "hunter2")) << result.output;
  }
}

// libpq also takes the password as a URI parameter (?password=...).
TEST_F(Manage, UnreachableDatabaseWithPasswordParameter_NeverPrintsThePassword) {
  const std::string url = "postgresql://bob@127.0.0.1:" + std::to_string(support::free_port()) +
                          "/users_test?sslmode=disable&password=hunter2";
  auto result =
      run("env -i APP_ENV=testing DATABASE_TEST_URL='" + url + "' " MANAGE_PATH " migrate");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "manage: ")) << result.output;
  EXPECT_FALSE(contains(result.output, "hunter2")) << result.output;
}

// --- create_admin --------------------------------------------------------------------

// manage `args` with `input` on its standard input.
Result manage_with_input(const std::string& input, const std::string& args) {
  return run("printf '%s\\n' '" + input + "' | env -i APP_ENV=testing DATABASE_TEST_URL='" +
             binaries::database_url() + "' " MANAGE_PATH " " + args);
}

long long admins_with_hash(const std::string& email) {
  return count(
      "SELECT count(*) FROM users WHERE admin AND password LIKE '$argon2id$%' AND email = '" +
      email + "'");
}

TEST_F(Manage, CreateAdmin_PasswordFromStandardInput) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  auto result =
      manage_with_input("stdin password", "create_admin --username boss --email boss@example.com");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(admins_with_hash("boss@example.com"), 1);
  EXPECT_FALSE(contains(result.output, "stdin password")) << result.output;
}

TEST_F(Manage, CreateAdmin_PasswordFromTheEnvironment_PromotesAnExistingUser) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  auto result = run("env -i APP_ENV=testing ADMIN_PASSWORD='env password' DATABASE_TEST_URL='" +
                    binaries::database_url() +
                    "' " MANAGE_PATH
                    " create_admin --username michael --email michael@realpython.com </dev/null");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(admins_with_hash("michael@realpython.com"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM users"), 2);  // promoted, not duplicated
}

TEST_F(Manage, CreateAdmin_RefusesAWeakOrMissingPasswordAndAPasswordArgument) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  auto weak = manage_with_input("short", "create_admin --username boss --email boss@example.com");
  EXPECT_NE(weak.exit_code, 0) << weak.output;
  auto missing = manage("create_admin --username boss --email boss@example.com </dev/null");
  EXPECT_NE(missing.exit_code, 0) << missing.output;
  auto argument = manage("create_admin --username boss --email boss@example.com --password x");
  EXPECT_NE(argument.exit_code, 0) << argument.output;
  EXPECT_EQ(count("SELECT count(*) FROM users"), 0);
}

// A password reset revokes the tokens of the user (token_version bumped),
// and makes the admin active.
TEST_F(Manage, CreateAdmin_OnAnExistingUser_BumpsTokenVersionAndActivates) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  execute("UPDATE users SET token_version = 4 WHERE email = 'michael@realpython.com'");
  ASSERT_EQ(manage_with_input("reset password",
                              "create_admin --username michael --email "
                              "michael@realpython.com")
                .exit_code,
            0);
  EXPECT_EQ(count("SELECT token_version FROM users WHERE email = 'michael@realpython.com'"), 5);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE active AND email = 'michael@realpython.com'"),
            1);
  // The other seed user is untouched.
  EXPECT_EQ(count("SELECT token_version FROM users WHERE email = 'michael@mherman.org'"), 0);
}

TEST_F(Manage, Deactivate_DeactivatesAndRevokesTokens_AbsentExits1) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage_with_input("a good password",
                              "create_admin --username boss --email "
                              "boss@example.com")
                .exit_code,
            0);
  // Another admin, so that boss is not the last one.
  ASSERT_EQ(manage_with_input("a good password",
                              "create_admin --username deputy --email deputy@example.com")
                .exit_code,
            0);
  long long version = count("SELECT token_version FROM users WHERE email = 'boss@example.com'");
  auto result = manage("deactivate --email BOSS@example.com");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "boss@example.com (id 1) deactivated")) << result.output;
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE NOT active"), 1);
  EXPECT_EQ(count("SELECT token_version FROM users WHERE email = 'boss@example.com'"), version + 1);
  auto absent = manage("deactivate --email nobody@example.com");
  EXPECT_EQ(absent.exit_code, 1) << absent.output;
  EXPECT_TRUE(contains(absent.output, "manage: no user has the email nobody@example.com"))
      << absent.output;
}

TEST_F(Manage, Delete_RemovesTheUser_AbsentExits1) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  auto result = manage("delete --email michael@mherman.org");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "michael@mherman.org (id 2) deleted")) << result.output;
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1);
  auto again = manage("delete --email michael@mherman.org");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(contains(again.output, "no user has the email michael@mherman.org")) << again.output;
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1);
  EXPECT_NE(manage("delete").exit_code, 0);  // --email is required
}

TEST_F(Manage, SetAdmin_OnAndOff_AbsentExits1) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  auto on = manage("set_admin --email michael@realpython.com --on");
  ASSERT_EQ(on.exit_code, 0) << on.output;
  EXPECT_TRUE(contains(on.output, "michael@realpython.com (id 1) is now an admin")) << on.output;
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE admin"), 1);
  // Seed users are inactive: make the other one an active admin, so that
  // michael is not the last active admin.
  ASSERT_EQ(manage("set_admin --email michael@mherman.org --on").exit_code, 0);
  execute("UPDATE users SET active = true WHERE email = 'michael@mherman.org'");
  auto off = manage("set_admin --email michael@realpython.com --off");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  EXPECT_TRUE(contains(off.output, "is no longer an admin")) << off.output;
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE admin"), 1);
  auto absent = manage("set_admin --email nobody@example.com --on");
  EXPECT_EQ(absent.exit_code, 1) << absent.output;
  EXPECT_TRUE(contains(absent.output, "no user has the email nobody@example.com")) << absent.output;
  auto neither = manage("set_admin --email michael@realpython.com");
  EXPECT_EQ(neither.exit_code, 1) << neither.output;
  EXPECT_TRUE(contains(neither.output, "--on or --off")) << neither.output;
  EXPECT_NE(manage("set_admin --email michael@realpython.com --on --off").exit_code, 0);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE admin"), 1);
}

// The API's rule: the last active admin is not demoted, deactivated or
// deleted (exit 1, the API's message, nothing done) unless --force.
TEST_F(Manage, LastActiveAdmin_RefusedUnlessForce) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(
      manage_with_input("a good password", "create_admin --username boss --email boss@example.com")
          .exit_code,
      0);
  const std::string before = "SELECT count(*) FROM users WHERE admin AND active";
  for (const std::string& command : {std::string("set_admin --email boss@example.com --off"),
                                     std::string("deactivate --email BOSS@example.com"),
                                     std::string("delete --email boss@example.com")}) {
    auto refused = manage(command);
    EXPECT_EQ(refused.exit_code, 1) << command << ": " << refused.output;
    EXPECT_TRUE(contains(refused.output, "manage: The last admin cannot be removed."))
        << command << ": " << refused.output;
    EXPECT_EQ(count(before), 1) << command;
  }
  // An inactive admin is not another admin.
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  ASSERT_EQ(manage("set_admin --email michael@mherman.org --on").exit_code, 0);
  EXPECT_EQ(manage("set_admin --email boss@example.com --off").exit_code, 1);
  // --force does it.
  auto forced = manage("set_admin --email boss@example.com --off --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(count(before), 0);
  ASSERT_EQ(manage("set_admin --email boss@example.com --on").exit_code, 0);
  EXPECT_EQ(manage("deactivate --email boss@example.com --force").exit_code, 0);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE admin AND NOT active"), 2);
  execute("UPDATE users SET active = true WHERE email = 'boss@example.com'");
  EXPECT_EQ(manage("delete --email boss@example.com").exit_code, 1);
  auto deleted = manage("delete --email boss@example.com --force");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE email = 'boss@example.com'"), 0);
}

// 0003 on a database of the two earlier migrations: users with a password
// (registered users, admins) become active, the seed's users stay inactive,
// and row versions and token versions start for everyone.
TEST_F(Manage, Migration0003_ActivatesUsersWithAPassword) {
  drop_schema();
  execute(
      "CREATE TABLE schema_migrations (version text PRIMARY KEY,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  for (const char* name : {"0001_create_users.sql", "0002_add_auth.sql"}) {
    std::ifstream file(std::string(MIGRATIONS_DIR) + "/" + name);
    std::stringstream sql;
    sql << file.rdbuf();
    ASSERT_FALSE(sql.str().empty()) << name;
    execute(sql.str());
    execute(std::string("INSERT INTO schema_migrations (version) VALUES ('") + name + "')");
  }
  execute(
      "INSERT INTO users (username, email, password, admin) VALUES"
      " ('seed', 'seed@example.com', NULL, false),"
      " ('member', 'member@example.com', '$argon2id$v=19$m=8,t=1,p=1$x$y', false),"
      " ('boss', 'boss@example.com', '$argon2id$v=19$m=8,t=1,p=1$x$y', true)");
  auto result = manage("migrate");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "applied 0003_account_lifecycle.sql")) << result.output;
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE active"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE NOT active AND email = 'seed@example.com'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE row_version = 1 AND token_version = 0"), 3);
  // Every change of a row moves its version; a no-op does not.
  execute("UPDATE users SET username = 'seed2' WHERE email = 'seed@example.com'");
  execute("UPDATE users SET username = username WHERE email = 'member@example.com'");
  EXPECT_EQ(count("SELECT row_version FROM users WHERE email = 'seed@example.com'"), 2);
  EXPECT_EQ(count("SELECT row_version FROM users WHERE email = 'member@example.com'"), 1);
}

TEST_F(Manage, UnknownCommand_ExitsNonZero) {
  auto result = manage("frobnicate");
  EXPECT_NE(result.exit_code, 0) << result.output;
}

// --- least privilege: the service's own role ---------------------------------------

// The URL of the test database as `role` (the throwaway cluster trusts local
// connections, so no password).
std::string url_as(const std::string& role) {
  std::string url = binaries::database_url();
  return url.replace(url.find("postgres@"), std::string("postgres").size(), role);
}

void create_app_role() {
  execute(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'users_app') THEN "
      "CREATE ROLE users_app LOGIN; END IF; END $$");
}

Result manage_granting(const std::string& role, const std::string& args) {
  return run("env -i APP_ENV=testing DATABASE_APP_ROLE=" + role + " DATABASE_TEST_URL='" +
             binaries::database_url() + "' " + MANAGE_PATH + " " + args);
}

// Runs `sql` as users_app; the error's text, or "" when it succeeded.
std::string error_as_app(const std::string& sql) {
  try {
    pqxx::connection connection(url_as("users_app"));
    pqxx::work work(connection);
    work.exec(sql);
    work.commit();
    return "";
  } catch (const std::exception& error) {
    return error.what();
  }
}

TEST_F(Manage, MigrateWithAppRole_GrantsDataRightsOnly) {
  create_app_role();
  drop_schema();
  auto migrated = manage_granting("users_app", "migrate");
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  EXPECT_TRUE(contains(migrated.output, "granted users_app")) << migrated.output;

  // Reads and writes every table, sequences included.
  EXPECT_EQ(error_as_app("INSERT INTO users (username, email) VALUES ('app', 'app@example.com')"),
            "");
  EXPECT_EQ(error_as_app("UPDATE users SET active = true WHERE email = 'app@example.com'"), "");
  EXPECT_EQ(error_as_app("SELECT count(*) FROM users"), "");
  EXPECT_EQ(error_as_app("DELETE FROM users WHERE email = 'app@example.com'"), "");
  EXPECT_EQ(error_as_app("SELECT count(*) FROM schema_migrations"), "");

  // Changes no schema.
  for (const char* ddl :
       {"DROP TABLE users", "CREATE TABLE intruder (id int)", "ALTER TABLE users ADD COLUMN x int",
        "TRUNCATE users", "CREATE SCHEMA intruder", "DELETE FROM schema_migrations",
        "CREATE INDEX intruder ON users (username)"}) {
    auto error = error_as_app(ddl);
    EXPECT_TRUE(contains(error, "permission denied") || contains(error, "must be owner"))
        << ddl << ": " << (error.empty() ? "succeeded" : error);
  }
  EXPECT_EQ(table_count("users"), 1);
  EXPECT_EQ(table_count("intruder"), 0);
}

TEST_F(Manage, MigrateWithAppRoleConcurrently_BothSucceed) {
  create_app_role();
  drop_schema();
  auto a = std::async(std::launch::async, [] { return manage_granting("users_app", "migrate"); });
  auto b = std::async(std::launch::async, [] { return manage_granting("users_app", "migrate"); });
  auto first = a.get();
  auto second = b.get();
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(error_as_app("SELECT count(*) FROM users"), "");
}

TEST_F(Manage, RecreateDbWithAppRole_GrantsAgainOnTheNewSchema) {
  create_app_role();
  auto recreated = manage_granting("users_app", "recreate_db");
  ASSERT_EQ(recreated.exit_code, 0) << recreated.output;
  EXPECT_EQ(error_as_app("SELECT count(*) FROM users"), "");
  EXPECT_TRUE(contains(error_as_app("DROP TABLE users"), "must be owner"));
}

TEST_F(Manage, MigrateWithAnUnknownAppRole_FailsWithClearMessage) {
  auto result = manage_granting("no_such_role", "migrate");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "DATABASE_APP_ROLE")) << result.output;
  EXPECT_TRUE(contains(result.output, "no_such_role")) << result.output;
}

// The real service, connected as the app role, serves the whole write path.
TEST_F(Manage, ServiceAsTheAppRole_RegistersLogsInAndListsUsers) {
  create_app_role();
  drop_schema();
  ASSERT_EQ(manage_granting("users_app", "migrate").exit_code, 0);
  int port = support::free_port();
  binaries::Child service(
      USERS_SERVICE_PATH,
      {"APP_ENV=testing", "DATABASE_TEST_URL=" + url_as("users_app"), "HOST=127.0.0.1",
       "PORT=" + std::to_string(port), "THREADS=1", "LOG_LEVEL=warn"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int ready = 0;
  while (ready != 200 && std::chrono::steady_clock::now() < deadline) {
    try {
      ready = support::http_request(port, "GET", "/health/ready").status;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ASSERT_EQ(ready, 200) << "users-service as users_app was not ready within 10 s";
  const support::Headers json = {{"Content-Type", "application/json"}};
  auto registered = support::http_request(
      port, "POST", "/auth/register",
      R"({"username":"least","email":"least@example.com","password":"correct horse battery"})",
      json);
  ASSERT_EQ(registered.status, 201) << registered.body;
  EXPECT_EQ(registered.header("Cache-Control"), "no-store");
  auto token = registered.json()["auth_token"].get<std::string>();
  auto logout = support::http_request(port, "GET", "/auth/logout", "",
                                      {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(logout.status, 200) << logout.body;  // writes the sessions table
  auto listed = support::http_request(port, "GET", "/users");
  EXPECT_EQ(listed.status, 200);
  EXPECT_TRUE(contains(listed.body, "least@example.com")) << listed.body;
}

TEST(UsersServiceStartup, ProductionWithoutSecretKey_Exits2WithOneLineError) {
  auto result = run("env -i APP_ENV=production DATABASE_URL='" + binaries::database_url() +
                    "' " USERS_SERVICE_PATH);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "SECRET_KEY")) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

TEST(UsersServiceStartup, MalformedPort_Exits2) {
  auto result = run("env -i APP_ENV=testing PORT=http DATABASE_TEST_URL='" +
                    binaries::database_url() + "' " USERS_SERVICE_PATH);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "PORT")) << result.output;
}

}  // namespace
