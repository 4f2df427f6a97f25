// Renders a mail's three templates.
#include "mail_templates.hpp"

#include <kainjow/mustache.hpp>
#include <stdexcept>

#include "common/text.hpp"
#include "embedded_files.hpp"

namespace users {
namespace {

std::string render(const std::string& path, const kainjow::mustache::data& view, bool html) {
  kainjow::mustache::mustache parsed{std::string(embedded_file(path))};
  if (!parsed.is_valid()) throw std::runtime_error(path + ": " + parsed.error_message());
  if (!html) parsed.set_custom_escape([](const std::string& text) { return text; });
  std::string out = parsed.render(view);
  if (!parsed.is_valid()) throw std::runtime_error(path + ": " + parsed.error_message());
  return out;
}

}  // namespace

RenderedMail render_mail(const std::string& name,
                         const std::map<std::string, std::string>& values) {
  kainjow::mustache::data view;
  for (const auto& [key, value] : values) view.set(key, value);
  std::string base = "services/users/templates/mail/" + name;
  RenderedMail mail;
  mail.subject = render(base + ".subject.mustache", view, false);
  // One line: a line break in a header would start another header.
  for (char& c : mail.subject) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  mail.subject.resize(common::trim_end(mail.subject, " ").size());
  mail.text = render(base + ".txt.mustache", view, false);
  mail.html = render(base + ".html.mustache", view, true);
  return mail;
}

}  // namespace users
