// The mails' templates (services/users/templates/mail/<name>.{subject,txt,html}.mustache,
// compiled into the binaries), rendered with kainjow mustache: the HTML part
// escapes its values for HTML, the text and subject parts take them as they are.
#pragma once

#include <map>
#include <string>

namespace users {

struct RenderedMail {
  std::string subject;  // one line
  std::string text;
  std::string html;
};

// Throws std::out_of_range for an unknown template and std::runtime_error
// when one does not parse.
RenderedMail render_mail(const std::string& name, const std::map<std::string, std::string>& values);

}  // namespace users
