#include "futured/credentials.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "futured/errors.h"

namespace futured {

std::string ReadCredentialFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + path);
  return text.str();
}

std::string ReadTokenFile(const std::string& path) {
  std::string token(absl::StripAsciiWhitespace(ReadCredentialFile(path)));
  if (token.empty()) throw Error(path + " holds no token");
  return token;
}

}  // namespace futured
