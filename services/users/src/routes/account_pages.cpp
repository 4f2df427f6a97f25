// The pages from the mail: a form in, one AccountRecovery call, a page out.
#include "account_pages.hpp"

#include <map>
#include <optional>

#include "../account_token.hpp"
#include "../embedded_files.hpp"
#include "../validation.hpp"
#include "common/form.hpp"

namespace users {
namespace {

constexpr const char* kResetTemplate = "services/users/templates/reset_password.mustache";
constexpr const char* kVerifyTemplate = "services/users/templates/verify_email.mustache";
constexpr const char* kHtml = "text/html; charset=utf-8";

// A link without its token (cut by a mail client, typed by hand): the page
// asks for the code the mail also carries on a line of its own.
constexpr const char* kNoToken =
    "This link has no token. Please paste the code from the mail, or open its link again.";
constexpr const char* kBrokenLink =
    "This link is incomplete or damaged. Please paste the code from the mail, or open its link "
    "again.";
constexpr const char* kNotAForm = "Please submit the form on the page.";
constexpr const char* kPasswordRules =
    "The new password must be 8 to 128 characters long, and not only spaces.";

using Fields = std::map<std::string, std::string>;

// The token of a link (?token=T), or why the page asks for it instead: a
// link without one, or with one not of a token's shape, says so before
// anyone types a password. Only the POST asks the database whether a token
// is still good.
struct LinkToken {
  std::string token;
  const char* problem = nullptr;
};

LinkToken link_token(std::string_view query) {
  auto fields = common::parse_form(query);
  if (!fields) return {"", kBrokenLink};
  auto token = fields->find("token");
  if (token == fields->end() || token->second.empty()) return {"", kNoToken};
  if (!is_account_token(token->second)) return {"", kBrokenLink};
  return {token->second};
}

// The form a page posted (application/x-www-form-urlencoded, as the pages'
// forms send it); its token without the spaces a paste may bring.
Fields posted_form(const common::Request& request) {
  std::optional<Fields> fields;
  if (request.content_type == "application/x-www-form-urlencoded") {
    fields = common::parse_form(request.body);
  }
  if (!fields) throw common::HttpError(400, kNotAForm);
  (*fields)["token"] = trim((*fields)["token"]);
  return std::move(*fields);
}

}  // namespace

AccountPagesBlueprint::AccountPagesBlueprint(AccountRecovery& recovery)
    : recovery_(recovery),
      reset_template_("reset_password", std::string(embedded_file(kResetTemplate))),
      verify_template_("verify_email", std::string(embedded_file(kVerifyTemplate))) {}

void AccountPagesBlueprint::register_routes(common::Routes& routes) {
  routes.on_error([this](const auto&, int status, const std::string& message) {
    View view;
    view.failed = message;
    return reset_page(status, view);
  });
  routes.get("/reset-password", [this](const auto& request) { return show_reset(request); })
      .post("/reset-password", [this](const auto& request) { return reset(request); });
  routes.on_error([this](const auto&, int status, const std::string& message) {
    View view;
    view.failed = message;
    return verify_page(status, view);
  });
  routes.get("/verify-email", [this](const auto& request) { return show_verify(request); })
      .post("/verify-email", [this](const auto& request) { return verify(request); });
}

AccountPagesBlueprint::View AccountPagesBlueprint::View::of_link(std::string_view query) {
  auto link = link_token(query);
  if (link.problem) return asking(link.problem);
  View view;
  view.token = link.token;
  return view;
}

common::Response AccountPagesBlueprint::show_reset(const common::Request& request) {
  auto view = View::of_link(request.query);
  return reset_page(view.ask_token ? 400 : 200, view);
}

common::Response AccountPagesBlueprint::reset(const common::Request& request) {
  Fields fields = posted_form(request);
  if (fields["token"].empty()) return reset_page(400, View::asking(kNoToken));
  View view;
  view.token = fields["token"];
  try {
    recovery_.reset_password(view.token, fields["new_password"]);
  } catch (const InvalidToken& invalid) {
    view.failed = invalid.what();  // the JSON routes' words: a person reads what a client does
    return reset_page(400, view);
  } catch (const UnacceptablePassword&) {
    view.error = kPasswordRules;  // the form again: the token may still be good
    return reset_page(400, view);
  }
  view.done = true;
  return reset_page(200, view);
}

common::Response AccountPagesBlueprint::show_verify(const common::Request& request) {
  auto view = View::of_link(request.query);
  return verify_page(view.ask_token ? 400 : 200, view);
}

common::Response AccountPagesBlueprint::verify(const common::Request& request) {
  Fields fields = posted_form(request);
  if (fields["token"].empty()) return verify_page(400, View::asking(kNoToken));
  View view;
  try {
    recovery_.verify_email(fields["token"]);
  } catch (const InvalidToken& invalid) {
    view.failed = invalid.what();  // the JSON routes' words: a person reads what a client does
    return verify_page(400, view);
  }
  view.done = true;
  return verify_page(200, view);
}

common::Response AccountPagesBlueprint::reset_page(int status, const View& view) {
  return page(reset_template_, view.done ? "Password changed" : "Reset your password", status,
              view);
}

common::Response AccountPagesBlueprint::verify_page(int status, const View& view) {
  return page(verify_template_, view.done ? "Email verified" : "Verify your email", status, view);
}

common::Response AccountPagesBlueprint::page(HtmlTemplate& page_template,
                                             const std::string& heading, int status,
                                             const View& view) {
  kainjow::mustache::data data;
  data.set("heading", heading);
  if (view.done) {
    data.set("done", true);
  } else if (!view.failed.empty()) {
    data.set("failed", view.failed);
  } else {
    data.set("show_form", true);
    if (view.ask_token) {
      data.set("ask_token", true);
    } else {
      data.set("token", view.token);  // escaped by {{token}}
    }
    if (!view.error.empty()) data.set("error", view.error);
  }
  common::Response response;
  response.status = status;
  response.content_type = kHtml;
  response.body = page_template.render(data);
  // The token is in this page's URL and form: no cache keeps the page, and
  // no link on it sends the URL on as a Referer.
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  return response;
}

}  // namespace users
