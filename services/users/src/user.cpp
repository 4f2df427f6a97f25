// JSON shaping of the User model.
#include "user.hpp"

namespace users {

void to_json(nlohmann::json& json, const User& user) {
  json = nlohmann::json{{"id", user.id},
                        {"username", user.username},
                        {"email", user.email},
                        {"active", user.active},
                        {"created_at", user.created_at}};
}

}  // namespace users
