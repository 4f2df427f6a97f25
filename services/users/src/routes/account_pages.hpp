// The pages a person opens from a mail, server-rendered like GET / and
// without JavaScript:
//   GET  /reset-password?token=T  a form for the new password (T hidden in it)
//   POST /reset-password          sets it; a page that says done, or why not
//   GET  /verify-email?token=T    a page with one button
//   POST /verify-email            verifies; a page that says done, or why not
// A link that lost its token (cut by a mail client) gets the form with a
// field for the code the mail carries on a line of its own.
// No GET changes anything: a mail scanner that follows every link verifies
// and resets nothing. The token and password rules are AccountRecovery's;
// these routes only turn forms into its calls and its answers into pages.
// Every answer is no-store and no-referrer: the token is in the URL.
#pragma once

#include <string>

#include "../account_recovery.hpp"
#include "../html_template.hpp"
#include "common/blueprint.hpp"

namespace users {

class AccountPagesBlueprint : public common::Blueprint {
 public:
  explicit AccountPagesBlueprint(AccountRecovery& recovery);
  void register_routes(common::Routes& routes) override;

 private:
  // What a page shows: the form (with `error` above it; with a field for
  // the mail's code when `ask_token`, else `token` hidden in it), `done`, or
  // only `failed` (the token is no good: no form to fill in again).
  struct View {
    std::string token;
    std::string error;
    std::string failed;
    bool ask_token = false;
    bool done = false;
    static View asking(std::string why) {
      View view;
      view.error = std::move(why);
      view.ask_token = true;
      return view;
    }
    // What a mail's link opens: its token in the form, or why the page asks
    // for the code instead.
    static View of_link(std::string_view query);
  };
  common::Response show_reset(const common::Request& request);
  common::Response reset(const common::Request& request);
  common::Response show_verify(const common::Request& request);
  common::Response verify(const common::Request& request);

  common::Response page(HtmlTemplate& page_template, const std::string& heading, int status,
                        const View& view);
  common::Response reset_page(int status, const View& view);
  common::Response verify_page(int status, const View& view);

  AccountRecovery& recovery_;
  HtmlTemplate reset_template_;
  HtmlTemplate verify_template_;
};

}  // namespace users
