#include "index.hpp"

#include "../embedded_files.hpp"
#include "../paging.hpp"
#include "common/form.hpp"

namespace users {
namespace {

constexpr const char* kTemplate = "services/users/templates/index.mustache";
constexpr const char* kHtml = "text/html; charset=utf-8";

}  // namespace

IndexBlueprint::IndexBlueprint(UserRepository& repository, const Authenticator* admin_guard)
    : repository_(repository),
      admin_guard_(admin_guard),
      template_("index", std::string(embedded_file(kTemplate))) {}

void IndexBlueprint::register_routes(common::Routes& routes) {
  routes.on_error([this](const auto& request, int status, const std::string& message) {
    return render_error(request, status, message);
  });
  routes.get("/", [this](const auto& request) { return show(request); })
      .post("/", [this](const auto& request) { return add(request); });
}

common::Response IndexBlueprint::show(const common::Request& request) {
  std::string error;
  auto wanted = parse_index_page(request.query, error);
  if (!wanted) throw common::HttpError(400, error);
  auto users = listing(wanted->before);
  return page(200, Form{}, &users);
}

IndexBlueprint::Listing IndexBlueprint::listing(std::optional<long long> before) {
  Listing out;
  // One row more than shown says whether older users exist.
  out.users = repository_.newest_before(before, kIndexPageSize + 1);
  if (out.users.size() > kIndexPageSize) {
    out.users = out.users.head(kIndexPageSize);
    out.older_before = out.users.id(kIndexPageSize - 1);
  }
  return out;
}

common::Response IndexBlueprint::add(const common::Request& request) {
  if (admin_guard_) admin_guard_->require_admin(request);
  Form form;
  std::optional<std::map<std::string, std::string>> fields;
  if (request.content_type == "application/x-www-form-urlencoded") {
    fields = common::parse_form(request.body);
  }
  if (!fields) {
    form.error = "Please send the form's fields (username and email).";
  } else {
    form.username = (*fields)["username"];
    form.email = (*fields)["email"];
    auto validation = validate_new_user(form.username, form.email);
    if (!validation.user) {
      form.error = validation.message;
    } else {
      try {
        repository_.add(*validation.user);
        common::Response redirect;
        redirect.status = 303;
        redirect.content_type = kHtml;
        redirect.headers.emplace_back("Location", "/");
        return redirect;
      } catch (const DuplicateEmail&) {
        form.error = "Sorry. That email already exists.";
      }
    }
  }
  auto users = listing(std::nullopt);
  return page(400, form, &users);
}

common::Response IndexBlueprint::page(int status, const Form& form, const Listing* listing) {
  using kainjow::mustache::data;
  data view;
  view.set("username", form.username);
  view.set("email", form.email);
  if (!form.error.empty()) view.set("error", form.error);
  if (listing) {
    // The list is written straight from the rows; mustache renders the frame.
    const UserRows& users = listing->users;
    std::string items;
    items.reserve(static_cast<std::size_t>(users.size()) * 120);
    for (int i = 0; i < users.size(); ++i) {
      items += R"(      <li class="user"><strong class="username">)";
      append_html_escaped(items, users.username(i));
      items += "</strong> - <em class=\"created-on\">";
      append_html_escaped(items, users.created_at(i).substr(0, 10));
      items += "</em></li>\n";
    }
    view.set("user_items", items);
    view.set("has_users", !listing->users.empty());
    view.set("listed", true);
    if (listing->older_before) {
      view.set("older_href", "/?before=" + std::to_string(*listing->older_before));
    }
  }
  common::Response response;
  response.status = status;
  response.content_type = kHtml;
  response.body = template_.render(view);
  return response;
}

common::Response IndexBlueprint::render_error(const common::Request&, int status,
                                              const std::string& message) {
  Form form;
  form.error = message;
  return page(status, form, nullptr);
}

}  // namespace users
