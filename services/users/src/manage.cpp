// manage: the service's command line (Flask's manage.py): migrate,
// recreate_db, seed_db, create_admin, deactivate, delete, set_admin,
// send_test_mail. APP_ENV picks the database as for the service.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <random>

#include "common/database.hpp"
#include "common/loop_runner.hpp"
#include "common/text.hpp"
#include "login_limiter.hpp"
#include "mail_message.hpp"
#include "mail_settings.hpp"
#include "mail_templates.hpp"
#include "migrations.hpp"
#include "passwords.hpp"
#include "smtp_client.hpp"
#include "user_repository.hpp"
#include "users_config.hpp"

namespace {

void print_applied(const std::vector<std::string>& applied) {
  if (applied.empty()) std::cout << "schema is up to date\n";
  for (const auto& name : applied) std::cout << "applied " << name << "\n";
}

// The service's repository and login limiter on a loop of manage's own: a
// command changes users through the statements the service runs, so each
// rule (who may be removed, which change revokes tokens) has one place.
// Schema changes (migrations.cpp) stay on a plain libpqxx connection.
class Store {
 public:
  explicit Store(const users::UsersConfig& config)
      : database_(config.database_url, statements(), 1,
                  std::chrono::milliseconds(config.db_request_timeout_ms)),
        users_(database_),
        limiter_(database_, config.login_max_failures) {}

  // Runs `command(users, limiter)` on the loop and returns what it returned.
  template <typename Command>
  auto call(Command&& command) {
    return runner_.call([&] { return command(users_, limiter_); });
  }

 private:
  static std::vector<common::PreparedStatement> statements() {
    auto statements = users::UserRepository::statements();
    for (auto& statement : users::LoginLimiter::statements()) {
      statements.push_back(std::move(statement));
    }
    return statements;
  }

  common::Database database_;
  common::LoopRunner runner_;
  users::UserRepository users_;
  users::LoginLimiter limiter_;
};

int seed(Store& store) {
  const users::NewUser seeds[] = {{"michael", "michael@realpython.com"},
                                  {"michaelherman", "michael@mherman.org"}};
  for (const auto& user : seeds) {
    bool added = store.call([&](users::UserRepository& repository, users::LoginLimiter&) {
      return repository.add_if_missing(user);
    });
    std::cout << (added ? "added " : "already there: ") << user.email << "\n";
  }
  return 0;
}

// The password comes from ADMIN_PASSWORD or the first line of standard input,
// never from the command line (which any local user can read in ps).
std::optional<std::string> read_admin_password() {
  // A one-thread command line tool: nothing else touches the environment.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  if (const char* value = std::getenv("ADMIN_PASSWORD"); value && *value) return value;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int create_admin(const users::UsersConfig& config, const std::string& username,
                 const std::string& email) {
  auto validation = users::validate_new_user(username, email);
  if (!validation.user) {
    std::cerr << "manage: " << validation.message << "\n";
    return 1;
  }
  auto password = read_admin_password();
  if (!password || !users::is_acceptable_password(*password)) {
    std::cerr << "manage: give the password (8 to 128 characters, not only spaces) in "
                 "ADMIN_PASSWORD or on standard input\n";
    return 1;
  }
  users::PasswordHasher hasher(config.password_hash_cost);
  auto hash = hasher.hash(*password);
  Store store(config);
  store.call([&](users::UserRepository& repository, users::LoginLimiter&) {
    repository.save_admin(*validation.user, hash);
  });
  std::cout << "admin " << validation.user->email << " saved\n";
  return 0;
}

// Prints what a command did to the user with `email`, or says that no user
// has it (exit 1).
int report(const std::optional<users::ManagedUser>& user, const std::string& email,
           const std::string& what) {
  if (!user) {
    std::cerr << "manage: no user has the email " << email << "\n";
    return 1;
  }
  std::cout << user->email << " (id " << user->id << ") " << what << "\n";
  return 0;
}

// Sends the test mail directly (not through the outbox), so that the exit
// code says whether the SMTP settings work right now.
int send_test_mail(const std::string& to) {
  auto settings = users::MailSettings::from_env_or_exit("manage");
  if (!settings.enabled) {
    std::cerr << "manage: mail is off: SMTP_URL is not set\n";
    return 1;
  }
  if (!users::is_plain_mail_address(to)) {
    std::cerr << "manage: --to must be a plain address such as someone@example.com\n";
    return 1;
  }
  auto rendered =
      users::render_mail("test_mail", {{"recipient", to}, {"base_url", settings.public_base_url}});
  users::OutgoingMail mail;
  mail.recipient = to;
  mail.subject = rendered.subject;
  mail.text_body = rendered.text;
  mail.html_body = rendered.html;
  std::random_device random;
  mail.message_id = "<test-" + std::to_string(random()) + std::to_string(random()) + "@" +
                    settings.from_domain() + ">";
  auto result = users::smtp_send(
      settings, to,
      users::build_mime_message(mail, settings.from, std::chrono::system_clock::now()));
  if (!result.ok) {
    std::cerr << "manage: send_test_mail to " << to << " through " << settings.smtp_url
              << " failed: " << result.error << "\n";
    return 1;
  }
  std::cout << "sent a test mail to " << to << " through " << settings.smtp_url << " (Message-ID "
            << mail.message_id << ")\n";
  return 0;
}

int run(int argc, char** argv) {
  CLI::App cli{"manage: administer the users-service database"};
  cli.require_subcommand(1);
  auto* migrate = cli.add_subcommand("migrate", "apply pending migrations");
  auto* recreate = cli.add_subcommand("recreate_db", "drop all tables and re-apply migrations");
  bool force = false;
  recreate->add_flag("--force", force, "drop them even when APP_ENV=production");
  auto* seed_db = cli.add_subcommand("seed_db", "add the two seed users (idempotent)");
  auto* create_admin_cmd = cli.add_subcommand(
      "create_admin",
      "make an admin (or give an existing user admin rights and a new password); the "
      "password is read from ADMIN_PASSWORD or standard input");
  std::string admin_username;
  std::string admin_email;
  create_admin_cmd->add_option("--username", admin_username, "the admin's username")->required();
  create_admin_cmd->add_option("--email", admin_email, "the admin's email")->required();
  std::string target_email;
  // The last active admin stays, as through the API, unless --force.
  bool remove_last_admin = false;
  const char* const kForceHelp = "also when the user is the last active admin";
  auto* deactivate_cmd = cli.add_subcommand(
      "deactivate", "deactivate a user: they cannot log in, and their tokens stop working");
  deactivate_cmd->add_option("--email", target_email, "the user's email")->required();
  deactivate_cmd->add_flag("--force", remove_last_admin, kForceHelp);
  auto* delete_cmd = cli.add_subcommand("delete", "delete a user");
  delete_cmd->add_option("--email", target_email, "the user's email")->required();
  delete_cmd->add_flag("--force", remove_last_admin, kForceHelp);
  auto* set_admin_cmd = cli.add_subcommand("set_admin", "give or take a user's admin rights");
  set_admin_cmd->add_option("--email", target_email, "the user's email")->required();
  set_admin_cmd->add_flag("--force", remove_last_admin, kForceHelp);
  bool admin_on = false;
  bool admin_off = false;
  auto* on = set_admin_cmd->add_flag("--on", admin_on, "make the user an admin");
  auto* off = set_admin_cmd->add_flag("--off", admin_off, "make the user a plain user");
  on->excludes(off);
  auto* test_mail_cmd = cli.add_subcommand(
      "send_test_mail",
      "send a test mail now through SMTP_URL (not the outbox); exit 0 if accepted");
  std::string test_mail_to;
  test_mail_cmd->add_option("--to", test_mail_to, "the recipient")->required();
  CLI11_PARSE(cli, argc, argv);
  if (test_mail_cmd->parsed()) return send_test_mail(test_mail_to);
  if (set_admin_cmd->parsed() && !admin_on && !admin_off) {
    std::cerr << "manage: set_admin needs --on or --off\n";
    return 1;
  }

  auto config = users::UsersConfig::from_env_or_exit("manage");
  std::cout << "database " << common::redact_url(config.database_url) << "\n";
  // Dropping every table is a development command; production (also the
  // default when APP_ENV is unset) needs it said twice.
  if (recreate->parsed() && config.app_env == common::AppEnv::production && !force) {
    std::cerr << "manage: recreate_db drops every table; with APP_ENV=production it needs "
                 "--force\n";
    return 1;
  }
  if (create_admin_cmd->parsed()) return create_admin(config, admin_username, admin_email);
  if (seed_db->parsed()) {
    Store store(config);
    return seed(store);
  }
  if (deactivate_cmd->parsed() || delete_cmd->parsed() || set_admin_cmd->parsed()) {
    Store store(config);
    std::optional<users::ManagedUser> changed;
    try {
      changed = store.call([&](users::UserRepository& repository, users::LoginLimiter& limiter) {
        if (deactivate_cmd->parsed()) return repository.deactivate(target_email, remove_last_admin);
        if (set_admin_cmd->parsed()) {
          return repository.set_admin(target_email, admin_on, remove_last_admin);
        }
        auto removed = repository.remove_by_email(target_email, remove_last_admin);
        if (removed) limiter.forget_email(removed->email);
        return removed;
      });
    } catch (const users::LastAdmin& refusal) {
      std::cerr << "manage: " << refusal.what() << " (--force does it anyway)\n";
      return 1;
    }
    const char* what = deactivate_cmd->parsed() ? "deactivated; their tokens no longer work"
                       : delete_cmd->parsed()   ? "deleted"
                       : admin_on               ? "is now an admin"
                                                : "is no longer an admin";
    return report(changed, target_email, what);
  }
  pqxx::connection connection(config.database_url);
  if (migrate->parsed()) print_applied(users::migrate(connection));
  if (recreate->parsed()) print_applied(users::recreate(connection));
  // The service's own role (least privilege): data rights only.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): a one-thread command-line tool
  if (const char* role = std::getenv("DATABASE_APP_ROLE"); role && *role) {
    users::grant_app_role(connection, role);
    std::cout << "granted " << role << " read and write on the tables\n";
  }
  return 0;
}

}  // namespace

// Whatever throws (the command line's set-up included) ends as one line on
// standard error and exit status 1.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "manage: " << common::trim_end(error.what(), "\n") << "\n";
    return 1;
  }
}
