// create_app(config): the one place the users service is assembled (Flask's
// application factory). main and the tests build the app through it.
#pragma once

#include <memory>

#include "common/app.hpp"
#include "users_config.hpp"

namespace users {

std::unique_ptr<common::App> create_app(const UsersConfig& config);

}  // namespace users
