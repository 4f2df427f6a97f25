// create_app(config): the one place the users service is assembled (Flask's
// application factory). main and the tests build the app through it.
#pragma once

#include <memory>

#include "common/app.hpp"
#include "users_config.hpp"

namespace users {

// Mail is off unless config.mail says otherwise (SMTP_URL); with it on, the
// outbox's sender runs on a thread of its own until the App goes away.
std::unique_ptr<common::App> create_app(const UsersConfig& config);

}  // namespace users
