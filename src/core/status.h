// Status: how the core and the kernels report failure. Nothing throws or aborts across a kernel
// call; csrc/ maps each code to the Python exception ARCHITECTURE.md names.
#pragma once

#include <string>
#include <utility>

namespace spiralkit {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // -> ValueError
  kUnsupported = 2,      // -> spiralkit.UnsupportedError
  kFormatError = 3,      // -> spiralkit.FormatError
  kRuntimeError = 4,     // -> RuntimeError
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
  static Status Unsupported(std::string m) { return Status(StatusCode::kUnsupported, std::move(m)); }
  static Status FormatError(std::string m) { return Status(StatusCode::kFormatError, std::move(m)); }
  static Status RuntimeError(std::string m) { return Status(StatusCode::kRuntimeError, std::move(m)); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

#define SPIRALKIT_RETURN_IF_ERROR(expr)      \
  do {                                       \
    ::spiralkit::Status _st = (expr);        \
    if (!_st.ok()) return _st;               \
  } while (0)

}  // namespace spiralkit
